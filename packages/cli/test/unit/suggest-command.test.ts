import { describe, expect, it } from 'vitest';
import { editDistance, suggestWord, unknownWordMessage } from '../../src/suggest-command';

const COMMANDS = ['dev', 'town', 'rig', 'mayor', 'status', 'beads', 'agent', 'credentials', 'token', 'config'];

describe('editDistance', () => {
  const cases: { name: string; a: string; b: string; distance: number }[] = [
    { name: 'equal', a: 'status', b: 'status', distance: 0 },
    { name: 'both empty', a: '', b: '', distance: 0 },
    { name: 'from empty', a: '', b: 'rig', distance: 3 },
    { name: 'one substitution', a: 'statos', b: 'status', distance: 1 },
    { name: 'one insertion', a: 'statu', b: 'status', distance: 1 },
    { name: 'one deletion', a: 'statuss', b: 'status', distance: 1 },
    { name: 'swap of neighbours counts once', a: 'stauts', b: 'status', distance: 1 },
    { name: 'two swaps', a: 'tsauts', b: 'status', distance: 2 },
    { name: 'swap and insertion', a: 'tokne', b: 'tokens', distance: 2 },
    { name: 'unrelated', a: 'frobnicate', b: 'status', distance: 9 },
    { name: 'symmetric', a: 'status', b: 'stauts', distance: 1 },
  ];
  for (const c of cases) {
    it(c.name, () => expect(editDistance(c.a, c.b)).toBe(c.distance));
  }
});

describe('suggestWord', () => {
  const cases: { name: string; input: string; suggestion: string | undefined }[] = [
    { name: 'transposed letters', input: 'stauts', suggestion: 'status' },
    { name: 'missing letter', input: 'confg', suggestion: 'config' },
    { name: 'extra letter', input: 'beadss', suggestion: 'beads' },
    { name: 'two edits', input: 'credentals', suggestion: 'credentials' },
    { name: 'upper case', input: 'STATUS', suggestion: 'status' },
    { name: 'nearest wins (token 1, town 2)', input: 'tokne', suggestion: 'token' },
    { name: 'a tie goes to the earlier command', input: 'tokn', suggestion: 'town' },
    { name: 'three edits: nothing', input: 'stxxxs', suggestion: undefined },
    { name: 'unrelated: nothing', input: 'frobnicate', suggestion: undefined },
    { name: 'the word itself: nothing', input: 'status', suggestion: undefined },
    { name: 'empty: nothing', input: '', suggestion: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => expect(suggestWord(c.input, COMMANDS)).toBe(c.suggestion));
  }

  it('a tie goes to the first known word', () => {
    expect(suggestWord('ab', ['ax', 'xb'])).toBe('ax');
  });
});

describe('unknownWordMessage', () => {
  it('with a suggestion', () => {
    expect(unknownWordMessage('command', 'stauts', COMMANDS, '; run `gastown --help`')).toBe('unknown command "stauts"; did you mean "status"?');
  });
  it('without one', () => {
    expect(unknownWordMessage('command', 'frobnicate', COMMANDS, '; run `gastown --help`')).toBe('unknown command "frobnicate"; run `gastown --help`');
  });
});
