// Secrets, optional settings and production-only bindings that are not in wrangler.jsonc
// (see docs/CONFIGURATION.md and docs/DEPLOYMENT.md).
declare namespace Cloudflare {
  interface Env {
    GASTOWN_JWT_KEYS?: string;
    GASTOWN_JWT_ACTIVE_KID?: string;
    GASTOWN_JWT_SECRET?: string;
    GASTOWN_ADMIN_SECRET?: string;
    GASTOWN_CONTAINER_KEY?: string;
    GASTOWN_CONTAINER_HOST_URL?: string;
    GASTOWN_DISPATCH_BACKOFF_SECONDS?: string;
    GASTOWN_MAX_POLECATS?: string;
    GASTOWN_RIG_ACCESS_CHECK?: string;
    /** Production only (wrangler.production.jsonc): one Cloudflare Container per town. */
    TOWN_CONTAINER?: DurableObjectNamespace<import('./town/container/town-container-do').TownContainerDO>;
  }
}
