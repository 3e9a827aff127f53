import { fingerprint } from './fingerprint';

/**
 * Patterns of things that are secret whether or not anyone registered them. Each matches the
 * secret itself (never its label), so the replacement keeps the text around it readable.
 * The worker keeps a copy of this list for its own pass (packages/worker/src/town/redact-event.ts).
 */
export const SECRET_PATTERNS: readonly RegExp[] = [
  // PEM private key blocks (RSA, EC, OPENSSH, PKCS#8, encrypted), whole; then a block cut short (truncated output)
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*/g,
  // JWTs (three base64url segments; JOSE headers start with `eyJ`) and other long three-segment tokens
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
  /[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
  // Gastown refresh credentials (`gtr_…`) and broker keys (`gtb_…`)
  /\bgt[rb]_[A-Za-z0-9_-]{8,}/g,
  // provider API keys: OpenAI / Anthropic / OpenRouter / DeepSeek (`sk-…`, `sk-proj-…`, `sk-ant-…`, `sk-or-v1-…`)
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  // GitHub tokens: classic and app (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and fine-grained (`github_pat_`)
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  // AWS access key ids, and a secret access key written next to its name
  /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g,
  /(?<=aws_?secret_?access_?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}/gi,
  // Slack tokens and Google API keys
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  // whatever follows `Bearer ` in an Authorization header or a curl command
  /(?<=\bBearer\s+)[A-Za-z0-9._~+/-]{16,}=*/g,
];

export function redactionMarker(secret: string): string {
  return `[redacted:${fingerprint(secret)}]`;
}

/** Replace every registered secret and every secret-looking substring of `text`. */
export function redactString(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(redactionMarker(secret));
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match) => redactionMarker(match));
  }
  return out;
}

const MAX_DEPTH = 8;

/**
 * A JSON-safe copy of `value` with every string (keys included) redacted.
 * Errors become `{name, code, message}`; cycles and deep nesting are cut.
 */
export function redactValue(value: unknown, secrets: readonly string[], depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value, secrets);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (depth >= MAX_DEPTH) return '[depth]';
  const obj = value as object;
  if (seen.has(obj)) return '[circular]';
  seen.add(obj);
  if (obj instanceof Error) {
    const code = (obj as { code?: unknown }).code;
    return {
      name: obj.name,
      ...(code !== undefined ? { code: redactValue(code, secrets, depth + 1, seen) } : {}),
      message: redactString(obj.message, secrets),
    };
  }
  if (Array.isArray(obj)) return obj.map((item) => redactValue(item, secrets, depth + 1, seen));
  if (obj instanceof Date) return obj.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(obj)) {
    const redacted = redactValue(item, secrets, depth + 1, seen);
    if (redacted !== undefined) out[redactString(key, secrets)] = redacted;
  }
  return out;
}
