// Secrets and optional settings that are not in wrangler.jsonc `vars` (see docs/CONFIGURATION.md).
declare namespace Cloudflare {
  interface Env {
    GASTOWN_JWT_KEYS?: string;
    GASTOWN_JWT_ACTIVE_KID?: string;
    GASTOWN_JWT_SECRET?: string;
    GASTOWN_ADMIN_SECRET?: string;
    GASTOWN_CONTAINER_KEY?: string;
    GASTOWN_CONTAINER_HOST_URL?: string;
  }
}
