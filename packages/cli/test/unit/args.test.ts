import { describe, expect, it } from 'vitest';
import { parseCommandArgs, parseDurationSeconds, splitCommandLine, type CommandSpec } from '../../src/args';
import { CliError } from '../../src/errors';

const SPEC: CommandSpec = {
  usage: 'usage: gastown rig add <name> <gitUrl>',
  options: { branch: { type: 'string' }, town: { type: 'string' } },
  positionals: { names: ['name', 'gitUrl'], min: 2, max: 2 },
};

function failure(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

describe('parseCommandArgs', () => {
  it('takes positionals, command options and global options', () => {
    const parsed = parseCommandArgs(['web', '/srv/web.git', '--branch', 'trunk', '--json', '--url', 'http://x:1', '--token=t'], SPEC);
    expect(parsed.positionals).toEqual(['web', '/srv/web.git']);
    expect(parsed.values).toMatchObject({ branch: 'trunk', url: 'http://x:1', token: 't' });
    expect(parsed.json).toBe(true);
    expect(parsed.help).toBe(false);
  });

  it('--help skips the positional checks', () => {
    expect(parseCommandArgs(['-h'], SPEC).help).toBe(true);
  });

  const cases: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'unknown option', argv: ['a', 'b', '--nope'], message: /^unknown option --nope$/ },
    { name: 'option without its value', argv: ['a', 'b', '--branch'], message: /^option --branch needs a value$/ },
    {
      name: 'a dash-leading value',
      argv: ['a', 'b', '--branch', '-x'],
      message: /^option --branch needs a value \(write --branch=-x for a value that starts with a dash\)$/,
    },
    { name: 'value for a boolean', argv: ['a', 'b', '--json=yes'], message: /^option --json does not take a value$/ },
    { name: 'missing positionals', argv: [], message: /^missing <name> <gitUrl>$/ },
    { name: 'one missing positional', argv: ['web'], message: /^missing <gitUrl>$/ },
    { name: 'extra positional', argv: ['a', 'b', 'c'], message: /^unexpected argument "c"$/ },
  ];
  for (const c of cases) {
    it(`usage error: ${c.name}`, () => {
      const err = failure(() => parseCommandArgs(c.argv, SPEC));
      expect(err.code).toBe('usage');
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(c.message);
      expect(err.details.usage).toBe(SPEC.usage);
    });
  }
});

describe('parseDurationSeconds', () => {
  const cases: { raw: string; seconds: number }[] = [
    { raw: '90', seconds: 90 },
    { raw: '90s', seconds: 90 },
    { raw: '15m', seconds: 900 },
    { raw: '12h', seconds: 43_200 },
    { raw: '30d', seconds: 2_592_000 },
  ];
  for (const c of cases) it(`${c.raw} → ${c.seconds}`, () => expect(parseDurationSeconds(c.raw, '--ttl')).toBe(c.seconds));

  for (const raw of ['', 'soon', '-5', '1.5h', '10w']) {
    it(`refuses ${JSON.stringify(raw)}`, () => expect(failure(() => parseDurationSeconds(raw, '--ttl')).code).toBe('usage'));
  }
});

describe('splitCommandLine', () => {
  const cases: { name: string; argv: string[]; command: string | undefined; rest: string[]; help?: boolean; version?: boolean }[] = [
    { name: 'command first', argv: ['status', '--town', 'x'], command: 'status', rest: ['--town', 'x'] },
    { name: 'global options before the command', argv: ['--town', 'x', 'status'], command: 'status', rest: ['--town', 'x'] },
    {
      name: 'before a group: after its words',
      argv: ['--json', '--url=http://h:1', 'town', 'list'],
      command: 'town',
      rest: ['list', '--json', '--url=http://h:1'],
    },
    {
      name: 'before and after',
      argv: ['--token', 't', 'rig', 'add', 'web', 'u', '--branch', 'b'],
      command: 'rig',
      rest: ['add', 'web', 'u', '--branch', 'b', '--token', 't'],
    },
    { name: 'kept ahead of --', argv: ['--json', 'mayor', '--', '-x'], command: 'mayor', rest: ['--json', '--', '-x'] },
    { name: 'leading --help goes to the command', argv: ['--help', 'status'], command: 'status', rest: ['--help'], help: true },
    { name: 'no command', argv: ['--json'], command: undefined, rest: ['--json'] },
    { name: 'bare --help', argv: ['-h'], command: undefined, rest: ['-h'], help: true },
    { name: '--version', argv: ['--version'], command: undefined, rest: [], version: true },
    { name: 'empty', argv: [], command: undefined, rest: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const line = splitCommandLine(c.argv);
      expect(line.error).toBeUndefined();
      expect({ command: line.name, rest: line.rest, help: line.help, version: line.version }).toEqual({
        command: c.command,
        rest: c.rest,
        help: c.help ?? false,
        version: c.version ?? false,
      });
    });
  }

  const errors: { name: string; argv: string[]; message: string }[] = [
    { name: 'a command option before the command', argv: ['--port', '1', 'dev'], message: 'unknown option --port before the command' },
    { name: 'a short unknown option', argv: ['-x', 'status'], message: 'unknown option -x before the command' },
    { name: 'a global option without its value', argv: ['--town'], message: 'option --town needs a value' },
    { name: 'a value that looks like an option', argv: ['--town', '--json', 'status'], message: 'option --town needs a value' },
  ];
  for (const c of errors) {
    it(`usage error: ${c.name}`, () => {
      const err = splitCommandLine(c.argv).error;
      expect(err?.code).toBe('usage');
      expect(err?.exitCode).toBe(2);
      expect(err?.message).toBe(c.message);
    });
  }
});
