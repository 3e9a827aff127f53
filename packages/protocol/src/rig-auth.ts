/**
 * Private rigs and pull requests (issue 13): how a rig authenticates to its git host, how its
 * approved work lands (a direct merge or a pull request), and the short-lived git token the
 * control plane mints for the container.
 *
 * Secrets (an app's private key, a personal access token, a webhook secret) are write-only: they
 * go in on create/update and never come out of any response, event or log — views carry the kind,
 * the non-secret identifiers and a fingerprint at most.
 */
import { z } from 'zod';

/** Largest PEM private key accepted (an RSA 4096 key is ~3.3 KB). */
const MAX_PEM_CHARS = 8_192;
const MAX_TOKEN_CHARS = 512;

export const GitProviderKindSchema = z.enum(['github', 'gitlab']);
export type GitProviderKind = z.infer<typeof GitProviderKindSchema>;

/** `none`: a remote that needs no authentication (a local path, a public repository). */
export const RigAuthKindSchema = z.enum(['none', 'github_app', 'token']);
export type RigAuthKind = z.infer<typeof RigAuthKindSchema>;

const PemSchema = z
  .string()
  .max(MAX_PEM_CHARS)
  .regex(/-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----/, 'must be a PEM private key (the .pem file GitHub gives for the app)');
const AccessTokenSchema = z
  .string()
  .min(8)
  .max(MAX_TOKEN_CHARS)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** What a user sends to set a rig's authentication (write-only secrets). */
export const RigAuthInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z
    .object({
      kind: z.literal('github_app'),
      /** The GitHub App's id (numeric, from the app's settings page). */
      appId: z.string().regex(/^\d{1,20}$/, 'must be the numeric app id'),
      /** The installation on the account that owns the repository (numeric). */
      installationId: z.string().regex(/^\d{1,20}$/, 'must be the numeric installation id'),
      privateKey: PemSchema,
    })
    .strict(),
  z
    .object({
      kind: z.literal('token'),
      /** A GitHub fine-grained or classic PAT, or a GitLab project/personal access token. */
      token: AccessTokenSchema,
    })
    .strict(),
]);
export type RigAuthInput = z.infer<typeof RigAuthInputSchema>;

/** What every response shows of a rig's authentication: never a secret. */
export const RigAuthViewSchema = z.object({
  kind: RigAuthKindSchema,
  appId: z.string().nullable(),
  installationId: z.string().nullable(),
  /** `sha256:<8 hex>` of the secret (key or token), so a user can tell which one is set; null for `none`. */
  fingerprint: z.string().nullable(),
});
export type RigAuthView = z.infer<typeof RigAuthViewSchema>;

/** `direct`: the container merges into the default branch; `pull_request`: it pushes the branch and the control plane opens a pull request. */
export const MergeStrategySchema = z.enum(['direct', 'pull_request']);
export type MergeStrategy = z.infer<typeof MergeStrategySchema>;

/** The git host's API, for pull requests and access checks. */
export const RigProviderViewSchema = z.object({
  kind: GitProviderKindSchema.nullable(),
  /** e.g. `https://api.github.com`, a GitHub Enterprise Server's `https://ghe.example.com/api/v3`, a GitLab's `https://gitlab.example.com/api/v4`. */
  apiBaseUrl: z.string().nullable(),
  /** `owner/name` (GitHub) or the project path (GitLab), from the git URL. */
  repository: z.string().nullable(),
  /** Whether a webhook secret is set (the secret itself is write-only). */
  webhookSecretSet: z.boolean(),
});
export type RigProviderView = z.infer<typeof RigProviderViewSchema>;

/** Provider settings a user may send with a rig (all optional; derived from the git URL where possible). */
export const RigProviderInputSchema = z
  .object({
    kind: GitProviderKindSchema.optional(),
    apiBaseUrl: z.string().url().max(500).optional(),
    /** HMAC secret of the provider's webhook deliveries (GitHub `X-Hub-Signature-256`, GitLab `X-Gitlab-Token`). */
    webhookSecret: z.string().min(16).max(256).optional(),
  })
  .strict();
export type RigProviderInput = z.infer<typeof RigProviderInputSchema>;

/** A pull request the town follows (bead metadata `pullRequest` of a merge request and of its source bead). */
export const PullRequestRefSchema = z.object({
  provider: GitProviderKindSchema,
  number: z.number().int().positive(),
  url: z.string().url(),
  state: z.enum(['open', 'merged', 'closed']),
  /** Head commit the pull request was opened at (the approved commit). */
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  openedAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type PullRequestRef = z.infer<typeof PullRequestRefSchema>;

/**
 * A short-lived git token for a rig, minted by the control plane (a GitHub App installation token
 * narrowed to the rig's repository, or the rig's stored PAT) and held only by the container's git
 * credential broker. `expiresAt` null: a token without an expiry (a PAT).
 */
export const GitTokenGrantSchema = z
  .object({
    rigId: z.string().min(1),
    token: z.string().min(1).max(4096),
    /** The user name git sends with it (`x-access-token` for GitHub App tokens, `oauth2` for GitLab). */
    username: z.string().min(1).max(100),
    expiresAt: z.number().int().nullable(),
  })
  .strict();
export type GitTokenGrant = z.infer<typeof GitTokenGrantSchema>;

/** `POST /agent/towns/:townId/agents/:agentId/git-token` (a polecat or refinery of the rig): a fresh grant for its rig. */
export const GitTokenRequestSchema = z.object({ rigId: z.string().min(1) }).strict();
export const GitTokenResponseSchema = z.object({ grant: GitTokenGrantSchema });
export type GitTokenResponse = z.infer<typeof GitTokenResponseSchema>;

/** Header names of provider webhooks. */
export const WEBHOOK_HEADERS = {
  githubSignature: 'x-hub-signature-256',
  githubEvent: 'x-github-event',
  githubDelivery: 'x-github-delivery',
  gitlabToken: 'x-gitlab-token',
  gitlabEvent: 'x-gitlab-event',
  gitlabDelivery: 'x-gitlab-event-uuid',
} as const;

/** Webhook endpoint per rig: `POST /webhooks/:provider/:townId/:rigId`. */
export const WEBHOOK_ROUTE = '/webhooks/:provider/towns/:townId/rigs/:rigId';
