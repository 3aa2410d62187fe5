/**
 * Random identifiers and secrets. All come from the CSPRNG; alphabets avoid characters that need
 * escaping in URLs, headers or shells.
 */
import { randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** NCP-style access key: 20 upper-case letters and digits. */
export const newAccessKey = (): string => randomString(UPPER_ALNUM, 20);
/** 40 characters, about 238 bits. */
export const newSecretKey = (): string => randomString(ALNUM, 40);
/** NHN-style appKey: 16 letters and digits. */
export const newAppKey = (): string => randomString(ALNUM, 16);
/** NCP member number: 7 digits, no leading zero. */
export const newMemberNo = (): string => String(1_000_000 + randomInt(9_000_000));
/** Opaque bearer token: 32 random bytes, base64url. */
export const newToken = (): string => randomBytes(32).toString('base64url');
