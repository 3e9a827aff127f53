/**
 * wrangler.jsonc (local dev, tests) and wrangler.production.jsonc (deploy) must describe the same
 * Worker: the production file only adds the `containers` entry and the TOWN_CONTAINER binding,
 * and drops the `dev` block. (Why two files: wrangler.jsonc's header comment and docs/DEPLOYMENT.md.)
 */
import { describe, expect, it } from 'vitest';
import devText from '../../wrangler.jsonc?raw';
import prodText from '../../wrangler.production.jsonc?raw';

/** JSONC → JSON: drop // line comments (outside strings) and trailing commas. */
function parseJsonc(text: string): Record<string, any> {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += ch;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1')) as Record<string, any>;
}

describe('wrangler configs', () => {
  const dev = parseJsonc(devText);
  const prod = parseJsonc(prodText);

  it('production = dev + containers + the TOWN_CONTAINER binding (everything else identical)', () => {
    const { containers, durable_objects: prodDo, ...prodRest } = prod;
    const { dev: _dev, durable_objects: devDo, ...devRest } = dev;
    expect(prodRest).toEqual(devRest);
    expect(prodDo.bindings).toEqual([...devDo.bindings, { name: 'TOWN_CONTAINER', class_name: 'TownContainerDO' }]);
    expect(containers).toEqual([expect.objectContaining({ class_name: 'TownContainerDO', image: expect.stringMatching(/^registry\.cloudflare\.com\//) })]);
  });

  it('local dev never binds the production Container class, and runs without a container runtime', () => {
    expect(dev.containers).toBeUndefined();
    expect(dev.durable_objects.bindings.map((b: { class_name: string }) => b.class_name)).not.toContain('TownContainerDO');
    expect(dev.dev).toEqual({ enable_containers: false });
  });

  it('the TownContainerDO migration is in both (SQLite storage: it persists the town env vars)', () => {
    for (const config of [dev, prod]) {
      expect(config.migrations).toContainEqual({ tag: 'v2', new_sqlite_classes: ['TownContainerDO'] });
    }
  });
});
