import { afterAll, beforeAll, it } from 'vitest';
import { LIMITS } from '@gastown/protocol';
import { chunkedBody, send, snapshot, startStack, type Stack } from './support';
let s: Stack;
beforeAll(async () => { s = await startStack(); }, 60_000);
afterAll(async () => { await s?.stop(); });
it('dbg', async () => {
  const url = `${s.container.brokerUrl}/broker/tools/status`;
  const headers = { authorization: `Bearer ${s.mayor.brokerKey}`, 'content-type': 'application/json' };
  for (const wait of ['none', 'snapshot', 'sleep50', 'sleep300']) {
    const d = await send('POST', url, { headers, raw: JSON.stringify({ pad: 'x'.repeat(LIMITS.maxBodyBytes) }) });
    if (wait === 'snapshot') await snapshot(s);
    if (wait === 'sleep50') await new Promise((r) => setTimeout(r, 50));
    if (wait === 'sleep300') await new Promise((r) => setTimeout(r, 300));
    try {
      const f = await send('POST', url, { headers, raw: chunkedBody(LIMITS.maxBodyBytes + 32 * 1024) });
      console.log(wait, d.status, 'chunked', f.status);
    } catch (e) { console.log(wait, d.status, 'error', String((e as any).cause)); }
  }
});
