/**
 * jose's time rules for a JWT, as one pure function: what `jwtVerify` checks with our options
 * (clockTolerance, maxTokenAge, currentDate). The HS256 fast path (hs256-fast-path.ts) and the
 * verified-token cache (verified-token-cache.ts) both decide with it, so neither can accept a
 * token at an instant jose would refuse it. Differential tests against jose: test/auth/hs256-fast-path.test.ts.
 */

/** The times of a token, in seconds since the epoch, as jose reads them. */
export interface TokenTimes {
  iat: number;
  exp: number;
  nbf: number | null;
}

export interface TokenTimeRules {
  clockToleranceSeconds: number;
  /** As passed to jose, which adds the tolerance itself: the accepted age is this + tolerance. */
  maxTokenAgeSeconds: number;
}

/**
 * Would jose's time checks pass at `nowMs`? In whole seconds like jose: exp after now − tolerance,
 * age at most maxAge + tolerance, iat not beyond now + tolerance, nbf (if any) not beyond now +
 * tolerance.
 */
export function withinTokenTimes(times: TokenTimes, rules: TokenTimeRules, nowMs: number): boolean {
  const now = Math.floor(nowMs / 1000);
  const tolerance = rules.clockToleranceSeconds;
  const age = now - times.iat;
  return (
    times.exp > now - tolerance && age - tolerance <= rules.maxTokenAgeSeconds && age >= -tolerance && (times.nbf === null || times.nbf <= now + tolerance)
  );
}
