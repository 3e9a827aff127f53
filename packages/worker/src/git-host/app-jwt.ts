/**
 * The GitHub App's JWT (RS256, signed with the app's private key): what the app presents to mint an
 * installation token. `iat` 60 s in the past (clock drift), `exp` 9 minutes ahead (GitHub allows
 * at most 10), `iss` the app id. Time comes from the caller.
 */
import { GastownError } from '@gastown/protocol';
import { importPKCS8, SignJWT } from 'jose';
import { toPkcs8Pem } from './private-key';

export const APP_JWT_BACKDATE_SECONDS = 60;
export const APP_JWT_LIFETIME_SECONDS = 9 * 60;

export async function signAppJwt(appId: string, privateKeyPem: string, nowMs: number): Promise<string> {
  const pkcs8 = toPkcs8Pem(privateKeyPem);
  let key: CryptoKey;
  try {
    key = await importPKCS8(pkcs8, 'RS256');
  } catch (err) {
    throw new GastownError('git_auth_failed', "the app's private key cannot be read (not an RSA key): paste the .pem file GitHub gave for the app", {
      cause: err,
    });
  }
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(appId)
    .setIssuedAt(now - APP_JWT_BACKDATE_SECONDS)
    .setExpirationTime(now + APP_JWT_LIFETIME_SECONDS)
    .sign(key);
}
