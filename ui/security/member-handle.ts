import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MemberKey } from '../queries/member-record.ts';

/**
 * A member's page is addressed by an opaque handle, never by an id a log could tie to a
 * person: the member's (source, Patient id) sealed with AES-256-GCM under a key that lives
 * only in this process. A handle is meaningless elsewhere and after a restart, and cannot be
 * forged to reach a member the search did not return.
 */
export interface MemberHandles {
  seal(key: MemberKey): string;
  /** The member a handle names, or null when it is not one of ours. */
  open(handle: string): MemberKey | null;
}

export function memberHandles(secret: Buffer = randomBytes(32)): MemberHandles {
  return {
    seal(key) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', secret, iv);
      const sealed = Buffer.concat([
        cipher.update(JSON.stringify([key.source, key.patientId]), 'utf8'),
        cipher.final(),
      ]);
      return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },
    open(handle) {
      const bytes = Buffer.from(handle, 'base64url');
      if (bytes.length < 29 || bytes.length > 4096) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(0, 12));
        decipher.setAuthTag(bytes.subarray(12, 28));
        const text = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
        const [source, patientId] = JSON.parse(text) as [string, string];
        return { source, patientId };
      } catch {
        return null;
      }
    },
  };
}
