import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('worker', () => {
  it('answers', async () => {
    const res = await exports.default.fetch('http://x/');
    expect(res.status).toBe(200);
  });
});
