/**
 * A fake GitHub for tests: git smart HTTP (real `git http-backend`) that wants
 * `x-access-token:<token>` Basic auth, and the REST subset the product uses under `/api/v3`
 * (installation tokens, repository lookup, pull requests), webhooks and faults.
 * Import as `@gastown/testkit/fake-github/index`.
 */
export { startFakeGitHub } from './server';
export { fingerprint, toPkcs8Pem, INSTALLATION_TOKEN_USERNAME, DEFAULT_INSTALLATION_PERMISSIONS } from './tokens';
export { signatureOf } from './webhooks';
export * from './types';
