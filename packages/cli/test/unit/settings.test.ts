import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProjectConfig, locateConfigFile, readConfigFile, writeConfigFile } from '../../src/config/config-file';
import { readDevAdminSecret } from '../../src/config/dev-secrets';
import { DEFAULT_URL, normaliseUrl, resolveSettings, type SettingInputs } from '../../src/config/settings';
import { CliError } from '../../src/errors';

const FILE = { path: '/p/.gastown/cli.json', config: { url: 'http://file:1', token: 'file-token', town: 'file-town', adminSecret: 'file-secret' } };
const ENV = { GASTOWN_URL: 'http://env:2', GASTOWN_TOKEN: 'env-token', GASTOWN_TOWN: 'env-town', GASTOWN_ADMIN_SECRET: 'env-secret' };
const FLAGS = { url: 'http://flag:3', token: 'flag-token', town: 'flag-town', adminSecret: 'flag-secret' };

describe('resolveSettings precedence: flags > env > file > dev > default', () => {
  const cases: { name: string; inputs: SettingInputs; expected: Record<string, [string | null, string]> }[] = [
    {
      name: 'flags win over everything',
      inputs: { flags: FLAGS, env: ENV, file: FILE, devAdminSecret: { value: 'dev-secret', path: '/p/.gastown/dev.json' } },
      expected: { url: ['http://flag:3', 'flag'], token: ['flag-token', 'flag'], town: ['flag-town', 'flag'], adminSecret: ['flag-secret', 'flag'] },
    },
    {
      name: 'env wins over the file',
      inputs: { flags: {}, env: ENV, file: FILE },
      expected: { url: ['http://env:2', 'env'], token: ['env-token', 'env'], town: ['env-town', 'env'], adminSecret: ['env-secret', 'env'] },
    },
    {
      name: 'the file when nothing else',
      inputs: { flags: {}, env: {}, file: FILE },
      expected: { url: ['http://file:1', 'file'], token: ['file-token', 'file'], town: ['file-town', 'file'], adminSecret: ['file-secret', 'file'] },
    },
    {
      name: 'per setting: a flag for one, env for another, file for the rest',
      inputs: { flags: { token: 'flag-token' }, env: { GASTOWN_URL: 'http://env:2' }, file: FILE },
      expected: { url: ['http://env:2', 'env'], token: ['flag-token', 'flag'], town: ['file-town', 'file'], adminSecret: ['file-secret', 'file'] },
    },
    {
      name: 'empty env values count as unset',
      inputs: { flags: {}, env: { GASTOWN_URL: '', GASTOWN_TOKEN: '  ' }, file: FILE },
      expected: { url: ['http://file:1', 'file'], token: ['file-token', 'file'], town: ['file-town', 'file'], adminSecret: ['file-secret', 'file'] },
    },
    {
      name: 'defaults and the dev admin secret',
      inputs: { flags: {}, env: {}, file: null, devAdminSecret: { value: 'dev-secret', path: '/p/.gastown/dev.json' } },
      expected: { url: [DEFAULT_URL, 'default'], token: [null, 'none'], town: [null, 'none'], adminSecret: ['dev-secret', 'dev'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = resolveSettings(c.inputs);
      for (const [key, [value, source]] of Object.entries(c.expected)) {
        expect({ key, value: s[key as keyof typeof s].value, source: s[key as keyof typeof s].source }).toEqual({ key, value, source });
      }
    });
  }

  it('names where a value came from', () => {
    const s = resolveSettings({ flags: { token: 't' }, env: { GASTOWN_URL: 'http://e:1' }, file: FILE });
    expect([s.token.origin, s.url.origin, s.town.origin]).toEqual(['--token', 'GASTOWN_URL', FILE.path]);
  });
});

describe('normaliseUrl', () => {
  it('drops trailing slashes and keeps a base path', () => {
    expect(normaliseUrl('http://127.0.0.1:8787/', '--url')).toBe('http://127.0.0.1:8787');
    expect(normaliseUrl('https://gastown.example.com/base//', '--url')).toBe('https://gastown.example.com/base');
  });
  for (const bad of ['127.0.0.1:8787', 'ftp://x', 'http://user:pw@x', 'http://x/?a=1', 'nonsense']) {
    it(`refuses ${bad}`, () => {
      const err = (() => {
        try {
          normaliseUrl(bad, '--url');
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).code).toBe('usage');
      expect((err as CliError).message).not.toContain('pw');
    });
  }
});

describe('config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gastown-cli-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds .gastown/cli.json in the nearest parent, else the user file', () => {
    const project = join(dir, 'repo');
    const deep = join(project, 'packages', 'x', 'src');
    mkdirSync(deep, { recursive: true });
    mkdirSync(join(project, '.gastown'));
    const home = join(dir, 'home');
    expect(locateConfigFile({ cwd: deep, home })).toEqual({ path: join(dir, 'home', '.config', 'gastown', 'cli.json'), kind: 'user', exists: false });
    writeFileSync(join(project, '.gastown', 'cli.json'), '{}');
    expect(findProjectConfig(deep)).toBe(join(project, '.gastown', 'cli.json'));
    expect(locateConfigFile({ cwd: deep, home })).toEqual({ path: join(project, '.gastown', 'cli.json'), kind: 'project', exists: true });
    expect(locateConfigFile({ cwd: deep, home, explicitPath: 'my.json' })).toEqual({ path: join(deep, 'my.json'), kind: 'explicit', exists: false });
    expect(locateConfigFile({ cwd: dir, home, xdgConfigHome: join(dir, 'xdg') }).path).toBe(join(dir, 'xdg', 'gastown', 'cli.json'));
  });

  it('writes 0600 and keeps unknown keys; a missing file is empty', () => {
    const path = join(dir, 'sub', 'cli.json');
    expect(readConfigFile(path)).toEqual({});
    writeConfigFile(path, { token: 'secret-token', other: 1 } as never);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readConfigFile(path)).toEqual({ token: 'secret-token', other: 1 });
  });

  it('an invalid file is a config error that does not echo its content', () => {
    const path = join(dir, 'cli.json');
    writeFileSync(path, '{"token": "super-secret-value", ');
    const err = (() => {
      try {
        readConfigFile(path);
      } catch (e) {
        return e as CliError;
      }
      throw new Error('expected an error');
    })();
    expect(err.code).toBe('config_invalid');
    expect(err.exitCode).toBe(2);
    expect(err.message).not.toContain('super-secret-value');
    writeFileSync(path, JSON.stringify({ token: 42 }));
    expect(() => readConfigFile(path)).toThrow(/token/);
  });

  it('reads the dev admin secret from .gastown/dev.json, else packages/worker/.dev.vars', () => {
    const cfg = join(dir, '.gastown', 'cli.json');
    mkdirSync(join(dir, '.gastown'));
    mkdirSync(join(dir, 'packages', 'worker'), { recursive: true });
    expect(readDevAdminSecret(cfg)).toBeNull();
    writeFileSync(join(dir, 'packages', 'worker', '.dev.vars'), "# x\nGASTOWN_ADMIN_SECRET='from-dev-vars'\n");
    expect(readDevAdminSecret(cfg)).toEqual({ value: 'from-dev-vars', path: join(dir, 'packages', 'worker', '.dev.vars') });
    writeFileSync(join(dir, '.gastown', 'dev.json'), JSON.stringify({ adminSecret: 'from-dev-json', other: true }));
    expect(readDevAdminSecret(cfg)?.value).toBe('from-dev-json');
    expect(readFileSync(join(dir, '.gastown', 'dev.json'), 'utf8')).toContain('other');
  });
});
