/**
 * Scans a stack's log files for credentials: the stack's own secrets (keys, admin secret,
 * container key, provider keys), refresh credentials (`gtr_…`) and anything shaped like a JWT.
 * Findings name the file, line number and kind — never the matched value.
 */
import { readFileSync } from 'node:fs';
import { REFRESH_CREDENTIAL_PREFIX } from '@gastown/protocol';

export interface LeakFinding {
  file: string;
  line: number;
  kind: 'known_secret' | 'refresh_credential' | 'jwt';
}

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
const REFRESH = new RegExp(`${REFRESH_CREDENTIAL_PREFIX}[A-Za-z0-9_-]{16,}`);

export function scanForLeaks(files: readonly string[], secrets: readonly string[]): LeakFinding[] {
  const known = secrets.filter((s) => s.length >= 12);
  const findings: LeakFinding[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    text.split('\n').forEach((line, index) => {
      if (known.some((s) => line.includes(s))) findings.push({ file, line: index + 1, kind: 'known_secret' });
      else if (REFRESH.test(line)) findings.push({ file, line: index + 1, kind: 'refresh_credential' });
      else if (JWT.test(line)) findings.push({ file, line: index + 1, kind: 'jwt' });
    });
  }
  return findings;
}
