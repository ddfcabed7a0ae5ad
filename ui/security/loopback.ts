import { isIP } from 'node:net';

/**
 * True when `host` only reaches this machine: 127.0.0.0/8, ::1, or "localhost". Every other
 * address (0.0.0.0 and :: included) can be reached from elsewhere, so it needs authentication.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped?.[1] ? mapped[1].startsWith('127.') : false;
}
