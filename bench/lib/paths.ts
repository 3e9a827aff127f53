import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLUGIN_BUNDLE = `${REPO_ROOT}packages/plugin/dist/gastown-plugin.js`;

/** `npm run bench` builds the plugin first; a benchmark run alone needs `npm run build` once. */
export function requirePluginBundle(): string {
  if (!existsSync(PLUGIN_BUNDLE)) throw new Error(`plugin bundle missing at ${PLUGIN_BUNDLE}: run \`npm run build\` first`);
  return PLUGIN_BUNDLE;
}
