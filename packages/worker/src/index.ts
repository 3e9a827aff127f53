import type { OpenAPIHono } from '@hono/zod-openapi';
import { loadAppDeps } from './config';
import { createApp } from './http/app';
import type { AppEnv } from './http/types';

export { TownDO } from './town/town-do';
export { RegistryDO } from './registry/registry-do';
export { TownContainerDO } from './town/container/town-container-do';

/**
 * One app per env object: the env is parsed once per isolate (workerd hands every request the
 * same env), not per request. A WeakMap, so a test that builds its own env gets its own app.
 */
const apps = new WeakMap<object, OpenAPIHono<AppEnv>>();

function appFor(env: Env): OpenAPIHono<AppEnv> {
  let app = apps.get(env);
  if (!app) {
    app = createApp(loadAppDeps(env));
    apps.set(env, app);
  }
  return app;
}

export default {
  fetch(request, env, ctx) {
    return appFor(env).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
