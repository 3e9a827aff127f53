// No imports: safe for every bundle (the dashboard, the plugin).
/**
 * Patterns of things that are secret whether or not anyone registered them. Each matches the
 * secret itself (never its label), so a replacement keeps the text around it readable. Used by
 * the container's logger and event redaction and by the worker's second pass over agent events.
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
