/**
 * An app's private key as GitHub hands it out — PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) — turned
 * into the PKCS#8 (`-----BEGIN PRIVATE KEY-----`) that WebCrypto and jose import. PKCS#8 wraps the
 * PKCS#1 bytes unchanged: PrivateKeyInfo ::= SEQUENCE { version INTEGER 0, algorithm
 * AlgorithmIdentifier { rsaEncryption, NULL }, privateKey OCTET STRING (the PKCS#1 DER) }.
 * Pure; never logs or echoes the key.
 */
import { GastownError } from '@gastown/protocol';

const PKCS1_LABEL = 'RSA PRIVATE KEY';
const PKCS8_LABEL = 'PRIVATE KEY';
/** version 0 and AlgorithmIdentifier { 1.2.840.113549.1.1.1 (rsaEncryption), NULL }. */
const VERSION_AND_RSA_ALGORITHM = Uint8Array.from([0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;

/** The key cannot be read: a typed error that names the problem, never the key. */
function unreadable(why: string): GastownError {
  return new GastownError('git_auth_failed', `the app's private key cannot be read (${why}): paste the .pem file GitHub gave for the app`);
}

/** DER length octets. */
export function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const length = derLength(content.length);
  const out = new Uint8Array(1 + length.length + content.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** PKCS#1 RSAPrivateKey DER → PKCS#8 PrivateKeyInfo DER. */
export function pkcs1ToPkcs8Der(pkcs1: Uint8Array): Uint8Array {
  if (pkcs1[0] !== SEQUENCE) throw unreadable('not an RSA private key');
  return tlv(SEQUENCE, concat(VERSION_AND_RSA_ALGORITHM, tlv(OCTET_STRING, pkcs1)));
}

/** The label and DER bytes of the first PEM block of `pem`. */
export function decodePem(pem: string): { label: string; der: Uint8Array } {
  const match = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) throw unreadable('no PEM block');
  const base64 = (match[2] ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw unreadable('not base64');
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    throw unreadable('not base64');
  }
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return { label: match[1] ?? '', der };
}

export function encodePem(label: string, der: Uint8Array): string {
  let binary = '';
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Any RSA private key PEM GitHub or openssl writes (PKCS#1 or PKCS#8), as a PKCS#8 PEM. */
export function toPkcs8Pem(pem: string): string {
  const { label, der } = decodePem(pem);
  if (label === PKCS8_LABEL) return encodePem(PKCS8_LABEL, der);
  if (label === PKCS1_LABEL) return encodePem(PKCS8_LABEL, pkcs1ToPkcs8Der(der));
  throw unreadable(`a ${label} block is not an RSA private key`);
}
