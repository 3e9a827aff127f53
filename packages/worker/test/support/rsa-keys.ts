/**
 * RSA keys for tests, made at run time with WebCrypto (no key is committed): the PKCS#8 WebCrypto
 * exports, and the PKCS#1 inside it — what GitHub hands out as an app's `.pem` — cut out with a
 * small DER reader of its own (independent of the code under test, which wraps it the other way).
 */
export interface TestRsaKey {
  /** `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1), as GitHub gives an app's key. */
  pkcs1Pem: string;
  pkcs1Der: Uint8Array;
  /** WebCrypto's own PKCS#8 export of the same key. */
  pkcs8Der: Uint8Array;
  publicKey: CryptoKey;
}

function readLength(der: Uint8Array, at: number): { length: number; next: number } {
  const first = der[at]!;
  if (first < 0x80) return { length: first, next: at + 1 };
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[at + 1 + i]!;
  return { length, next: at + 1 + count };
}

/** The PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER, SEQUENCE, OCTET STRING <here> }. */
export function pkcs1FromPkcs8(pkcs8: Uint8Array): Uint8Array {
  let at = readLength(pkcs8, 1).next; // into the outer SEQUENCE
  for (let field = 0; field < 2; field++) {
    const { length, next } = readLength(pkcs8, at + 1);
    at = next + length; // skip version, then the AlgorithmIdentifier
  }
  if (pkcs8[at] !== 0x04) throw new Error('expected an OCTET STRING');
  const { length, next } = readLength(pkcs8, at + 1);
  return pkcs8.slice(next, next + length);
}

export function pem(label: string, der: Uint8Array): string {
  let binary = '';
  for (const b of der) binary += String.fromCharCode(b);
  return `-----BEGIN ${label}-----\n${(btoa(binary).match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
}

export async function makeRsaKey(modulusLength = 2048): Promise<TestRsaKey> {
  const pair = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const pkcs8Der = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const pkcs1Der = pkcs1FromPkcs8(pkcs8Der);
  return { pkcs1Pem: pem('RSA PRIVATE KEY', pkcs1Der), pkcs1Der, pkcs8Der, publicKey: pair.publicKey };
}
