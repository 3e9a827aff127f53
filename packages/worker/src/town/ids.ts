/** Server-generated ids: `<prefix>_<16 base-36 chars>`, matching the protocol's IdSchema. Randomness is injected. */
export type RandomBytes = (n: number) => Uint8Array;
export type IdPrefix = 'town' | 'rig' | 'ag' | 'bd' | 'ml' | 'mm' | 'ss' | 'cv';
export type IdFactory = (prefix: IdPrefix) => string;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_CHARS = 16;

export function createIdFactory(randomBytes: RandomBytes): IdFactory {
  return (prefix) => {
    const bytes = randomBytes(ID_CHARS);
    let out = '';
    for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
    return `${prefix}_${out}`;
  };
}

export const cryptoRandomBytes: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));
