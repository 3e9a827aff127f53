/** `tsx bench/verify/run.ts` — the Node and the workerd verify benches, one after the other. */
import { formatTable } from './core';
import { benchNode } from './node';
import { benchWorkerd } from './workerd';

const node = await benchNode();
console.log(formatTable(`verify, Node ${process.version} (median of 5 × 10,000)`, node));
console.log('');
const workerd = await benchWorkerd();
console.log(formatTable('verify, workerd via miniflare (median of 5 × 10,000; timed from outside)', workerd));
