#!/usr/bin/env node
// The `gastown` command: runs src/main.ts through tsx's ESM loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
