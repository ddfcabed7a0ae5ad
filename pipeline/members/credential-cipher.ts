import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing of a member's tokens. A fresh 96-bit IV per write (never reused with a
 * key), and the row's identity as associated data: a blob copied onto another member's row
 * fails authentication instead of handing that member someone else's tokens.
 *
 * Layout: IV (12 bytes) || tag (16 bytes) || ciphertext.
 * @see NIST SP 800-38D section 8.2 (IV construction), RFC 5116 section 5.1
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function sealCredential(key: Buffer, plaintext: string, associatedData: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** Throws when the blob was altered, sealed with another key, or sealed for another row. */
export function openCredential(key: Buffer, sealed: Buffer, associatedData: string): string {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
    'utf8',
  );
}

/** The row identity a credential is bound to. */
export function credentialIdentity(source: string, patientId: string): string {
  return `fhir-etl credential\0${source}\0${patientId}`;
}
