import { fileURLToPath } from 'node:url';

/** Absolute path of the bundled plugin (`npm run build -w @gastown/plugin` writes it). */
export const PLUGIN_BUNDLE_PATH = fileURLToPath(new URL('../dist/gastown-plugin.js', import.meta.url));
