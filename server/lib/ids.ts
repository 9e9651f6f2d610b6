import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Opaque, time-ordered ids (`env_0k3...`): sorting by id is sorting by creation,
 * which is what cursor pagination relies on.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}

export const ID_PATTERN = '^[a-z]{2,5}_[0-9a-z]{20}$';

export function nowIso(): string {
  return new Date().toISOString();
}
