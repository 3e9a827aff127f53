/**
 * The real binary without a server: help, usage errors, an unreachable server, a missing token,
 * and the config file (set/show/unset, precedence, masking, discovery).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, unusedPort, type Sandbox } from '../support/run-gastown';

let sandbox: Sandbox;
let deadUrl: string;

beforeAll(async () => {
  sandbox = createSandbox();
  deadUrl = `http://127.0.0.1:${await unusedPort()}`;
});
afterAll(() => sandbox.remove());

describe('help', () => {
  it('gastown --help lists every command; no arguments is a usage error', async () => {
    const help = await sandbox.run(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['dev', 'town', 'rig', 'mayor', 'status', 'beads', 'credentials', 'token', 'config'])
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const bare = await sandbox.run([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('usage: gastown <command>');
  });

  it('every command has --help (exit 0, its usage and the global options)', async () => {
    const commands = [
      ['town', 'create'],
      ['town', 'list'],
      ['rig', 'add'],
      ['rig', 'list'],
      ['mayor'],
      ['status'],
      ['beads'],
      ['credentials', 'reissue'],
      ['agent', 'stop'],
      ['token', 'create'],
      ['config', 'show'],
      ['config', 'set'],
      ['config', 'unset'],
    ];
    const results = await Promise.all(commands.map((c) => sandbox.run([...c, '--help'])));
    results.forEach((r, i) => {
      const words = commands[i]!.join(' ');
      expect({ words, code: r.code }).toEqual({ words, code: 0 });
      expect(r.stdout).toContain(`usage: gastown ${words}`);
      expect(r.stdout).toContain('Global options:');
    });
    const groups = await Promise.all(['town', 'rig', 'credentials', 'token', 'config'].map((g) => sandbox.run([g, '--help'])));
    for (const g of groups) expect(g.code).toBe(0);
    expect(groups[0]!.stdout).toMatch(/create\s+create a town/);
  });
});

describe('usage errors exit 2 with the usage', () => {
  const cases: { name: string; args: string[]; message: string }[] = [
    { name: 'unknown command', args: ['frobnicate'], message: 'gastown: unknown command "frobnicate"' },
    { name: 'unknown subcommand', args: ['town', 'destroy'], message: 'gastown: unknown town command "destroy"' },
    { name: 'missing subcommand', args: ['rig'], message: 'gastown: missing rig command' },
    { name: 'missing positional', args: ['rig', 'add', 'web'], message: 'gastown: missing <gitUrl>' },
    { name: 'unknown option', args: ['status', '--colour'], message: 'gastown: unknown option --colour' },
    {
      name: 'bad duration',
      args: ['token', 'create', 'alice', '--ttl', 'forever', '--admin-secret', 'x'.repeat(40)],
      message: 'gastown: --ttl must be a number of seconds',
    },
    {
      name: 'bad --url',
      args: ['town', 'list', '--url', 'localhost:8787', '--token', 't'],
      message: 'gastown: the server URL from --url must start with http:// or https://',
    },
    { name: 'token create without a user', args: ['token', 'create'], message: 'gastown: missing <userId>' },
    { name: 'unknown config key', args: ['config', 'set', 'colour', 'red'], message: 'gastown: unknown key "colour"' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await sandbox.run(c.args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(c.message);
      expect(r.stdout).toBe(c.name === 'unknown command' ? '' : r.stdout);
    });
  }

  it('--json puts a machine-readable error on stdout', async () => {
    const r = await sandbox.run(['status', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'usage', message: 'unknown option --bogus' } });
  });
});

describe('no server', () => {
  it('an unreachable server: exit 3 and a hint to start it', async () => {
    const r = await sandbox.run(['town', 'list', '--url', deadUrl, '--token', 'some-token-value']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`gastown: cannot reach ${deadUrl}: is \`npm start\` running? (ECONNREFUSED)`);
    expect(r.stderr + r.stdout).not.toContain('some-token-value');
  });

  it('every data command reports the unreachable server the same way', async () => {
    const runs = [
      ['town', 'create', 'x'],
      ['rig', 'list', '--town', 'town_aaaaaaaa'],
      ['rig', 'add', 'web', '/srv/web.git', '--town', 'town_aaaaaaaa'],
      ['mayor', 'hello', '--town', 'town_aaaaaaaa'],
      ['status', '--town', 'town_aaaaaaaa'],
      ['beads', '--town', 'town_aaaaaaaa'],
      ['credentials', 'reissue', 'ag_aaaaaaaa', '--town', 'town_aaaaaaaa'],
      ['agent', 'stop', 'ag_aaaaaaaa', '--town', 'town_aaaaaaaa'],
      ['token', 'create', 'alice', '--admin-secret', 'a'.repeat(40)],
    ];
    const results = await Promise.all(runs.map((args) => sandbox.run([...args, '--json'], { env: { GASTOWN_URL: deadUrl, GASTOWN_TOKEN: 't0ken-value' } })));
    results.forEach((r, i) => {
      const args = runs[i]!.join(' ');
      expect({ args, code: r.code, error: JSON.parse(r.stdout).error.code }).toEqual({ args, code: 3, error: 'unreachable' });
      expect(r.stdout + r.stderr).not.toContain('t0ken-value');
    });
  });

  it('no token: exit 4 with how to get one', async () => {
    const r = await sandbox.run(['status', '--url', deadUrl]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('gastown: no token configured');
    expect(r.stderr).toContain('npm start');
  });

  it('global options before the command are accepted (`gastown --town x --url … status`), as after it', async () => {
    const before = await sandbox.run(['--url', deadUrl, '--token', 't0ken-value', '--town', 'town_aaaaaaaa', '--json', 'status']);
    const after = await sandbox.run(['status', '--url', deadUrl, '--token', 't0ken-value', '--town', 'town_aaaaaaaa', '--json']);
    expect({ code: before.code, error: JSON.parse(before.stdout).error.code }).toEqual({ code: 3, error: 'unreachable' });
    expect(before.stdout).toBe(after.stdout);
    const group = await sandbox.run(['--town=town_aaaaaaaa', '--url', deadUrl, '--token', 't0ken-value', 'env', 'list']);
    expect(group.code).toBe(3);
  });

  it('a mistyped command or subcommand: exit 2 with "did you mean"', async () => {
    const command = await sandbox.run(['--town', 'x', 'stauts']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('gastown: unknown command "stauts"; did you mean "status"?');
    const sub = await sandbox.run(['town', 'lsit']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('unknown town command "lsit"; did you mean "list"?');
  });

  it('no admin secret: exit 4', async () => {
    const r = await sandbox.run(['token', 'create', 'alice', '--url', deadUrl]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('gastown: no admin secret');
  });
});

describe('config', () => {
  const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl';

  it('set writes the user file 0600 (token from stdin); show masks the token and names sources', async () => {
    const setUrl = await sandbox.run(['config', 'set', 'url', 'http://127.0.0.1:9999/']);
    expect(setUrl.code).toBe(0);
    const path = join(sandbox.home, '.config', 'gastown', 'cli.json');
    expect(setUrl.stdout).toBe(`url = http://127.0.0.1:9999 (in ${path})\n`);
    const setToken = await sandbox.run(['config', 'set', 'token', '-'], { input: `${TOKEN}\n` });
    expect(setToken.code).toBe(0);
    expect(setToken.stdout).not.toContain(TOKEN);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: 'http://127.0.0.1:9999', token: TOKEN });

    const show = await sandbox.run(['config', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain(TOKEN);
    expect(show.stdout).toMatch(/^token\s+\*\*\*\* \(fingerprint [0-9a-f]{8}\)\s+\[.*cli\.json\]$/m);
    expect(show.stdout).toMatch(/^url\s+http:\/\/127\.0\.0\.1:9999\s+\[.*cli\.json\]$/m);

    const json = await sandbox.run(['config', 'show', '--json'], { env: { GASTOWN_URL: 'http://env.example:1' } });
    const view = JSON.parse(json.stdout);
    expect(json.stdout).not.toContain(TOKEN);
    expect(view.url).toEqual({ value: 'http://env.example:1', source: 'env', origin: 'GASTOWN_URL' });
    expect(view.token.source).toBe('file');
    const flag = JSON.parse(
      (await sandbox.run(['config', 'show', '--json', '--url', 'http://flag.example:2'], { env: { GASTOWN_URL: 'http://env.example:1' } })).stdout,
    );
    expect(flag.url).toEqual({ value: 'http://flag.example:2', source: 'flag', origin: '--url' });

    const unset = await sandbox.run(['config', 'unset', 'token']);
    expect(unset.code).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: 'http://127.0.0.1:9999' });
  });

  it('the settings from the file are used for requests (the unreachable URL names the file URL)', async () => {
    const r = await sandbox.run(['town', 'list', '--token', 't'], { env: {} });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9999');
  });

  it('a project .gastown/cli.json in a parent directory wins over the user file; set writes there', async () => {
    const project = join(sandbox.root, 'project');
    const deep = join(project, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    mkdirSync(join(project, '.gastown'));
    writeFileSync(join(project, '.gastown', 'cli.json'), JSON.stringify({ url: 'http://127.0.0.1:7777', token: TOKEN, devOnlyKey: true }));
    const show = JSON.parse((await sandbox.run(['config', 'show', '--json'], { cwd: deep })).stdout);
    expect(show.configFile).toEqual({ path: join(project, '.gastown', 'cli.json'), kind: 'project', exists: true });
    expect(show.url.value).toBe('http://127.0.0.1:7777');
    expect((await sandbox.run(['config', 'set', 'town', 'town_abcdefgh'], { cwd: deep })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, '.gastown', 'cli.json'), 'utf8'))).toEqual({
      url: 'http://127.0.0.1:7777',
      token: TOKEN,
      devOnlyKey: true,
      town: 'town_abcdefgh',
    });
    // --global writes the user file even inside the project
    expect((await sandbox.run(['config', 'set', 'town', 'town_global1', '--global'], { cwd: deep })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(sandbox.home, '.config', 'gastown', 'cli.json'), 'utf8')).town).toBe('town_global1');
  });

  it('an invalid config file: exit 2, file named, content not echoed', async () => {
    const dir = join(sandbox.root, 'broken');
    mkdirSync(join(dir, '.gastown'), { recursive: true });
    writeFileSync(join(dir, '.gastown', 'cli.json'), `{"token": "${TOKEN}",`);
    const r = await sandbox.run(['status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config file ${join(dir, '.gastown', 'cli.json')} is not valid JSON`);
    expect(r.stderr).not.toContain(TOKEN);
  });
});
