import { DurableObject } from 'cloudflare:workers';

export class TownDO extends DurableObject<Env> {}
export class RegistryDO extends DurableObject<Env> {}

export default {
  async fetch(): Promise<Response> {
    return Response.json({ ok: true });
  },
} satisfies ExportedHandler<Env>;
