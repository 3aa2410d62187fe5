/**
 * AES-256-GCM, the one cipher of the vault. A sealed blob is nonce(12) ‖ ciphertext ‖ tag(16);
 * the nonce is random per seal (96 bits: safe for far more seals than one key will ever see, as
 * data keys are per store and rotatable). `aad` binds the blob to where it is stored, so a blob
 * copied to another row or purpose does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

/** Raw key bytes, or the same as a secret KeyObject (cheaper per call: no conversion). */
export type AeadKey = Buffer | KeyObject;

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: AeadKey, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Null when the blob does not authenticate (wrong key, wrong AAD, altered or truncated bytes). */
export function open(key: AeadKey, blob: Buffer, aad: string): Buffer | null {
  if (blob.length < NONCE_BYTES + TAG_BYTES) return null;
  const nonce = blob.subarray(0, NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(NONCE_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}
