import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv, type CapturedEnv } from '../support/fake-env';

let env: CapturedEnv | undefined;
afterEach(() => env?.remove());

describe('runCli dispatch', () => {
  it('global options before the command reach it (after its own arguments)', async () => {
    const seen: string[][] = [];
    env = capturedEnv({}, { runDev: async (args) => (seen.push(args), 0) });
    expect(await runCli(['--json', '--town', 'x', 'dev', '--port', '1'], env.sys)).toBe(0);
    expect(seen).toEqual([['--port', '1', '--json', '--town', 'x']]);
  });

  it('a leading --help shows the command help', async () => {
    env = capturedEnv({});
    expect(await runCli(['--town', 'x', '--help', 'status'], env.sys)).toBe(0);
    expect(env.stdout()).toContain('usage: gastown status');
  });

  it('an unknown command suggests the nearest one (exit 2)', async () => {
    env = capturedEnv({});
    expect(await runCli(['stauts'], env.sys)).toBe(2);
    expect(env.stderr()).toContain('gastown: unknown command "stauts"; did you mean "status"?');
  });

  it('an unknown command after global options, with --json', async () => {
    env = capturedEnv({});
    expect(await runCli(['--json', 'confg'], env.sys)).toBe(2);
    expect(JSON.parse(env.stdout())).toEqual({ error: { code: 'usage', message: 'unknown command "confg"; did you mean "config"?' } });
  });

  it('an unknown subcommand suggests too', async () => {
    env = capturedEnv({});
    expect(await runCli(['town', 'lsit'], env.sys)).toBe(2);
    expect(env.stderr()).toContain('gastown: unknown town command "lsit"; did you mean "list"?');
  });

  it('no suggestion for a far-off word', async () => {
    env = capturedEnv({});
    expect(await runCli(['frobnicate'], env.sys)).toBe(2);
    expect(env.stderr()).toContain('gastown: unknown command "frobnicate"; run `gastown --help`');
  });

  it('a non-global option before the command is a usage error', async () => {
    env = capturedEnv({});
    expect(await runCli(['--port', '8788', 'dev'], env.sys)).toBe(2);
    expect(env.stderr()).toContain('gastown: unknown option --port before the command');
  });

  it('no command: the main help, exit 2; --help alone: exit 0', async () => {
    env = capturedEnv({});
    expect(await runCli([], env.sys)).toBe(2);
    expect(env.stdout()).toContain('usage: gastown <command>');
    expect(await runCli(['--help'], env.sys)).toBe(0);
    expect(await runCli(['--version'], env.sys)).toBe(0);
  });
});
