import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = 0;
let sequence = 0;

function base32(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/**
 * Opaque, time-ordered ids (`env_0k3...`): sorting by id is sorting by creation, which is
 * what cursor pagination relies on. Within one millisecond (or if the clock steps back)
 * a sequence keeps them in the order they were made; the rest is random.
 */
export function newId(prefix: string, now = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    sequence = 0;
  } else {
    sequence++;
    if (sequence >= 32 ** 3) {
      lastTime++;
      sequence = 0;
    }
  }
  let rand = '';
  for (const b of randomBytes(7)) rand += ALPHABET[b % 32];
  return `${prefix}_${base32(lastTime, 10)}${base32(sequence, 3)}${rand}`;
}

export const ID_PATTERN = '^[a-z]{2,5}_[0-9a-z]{20}$';

export function nowIso(): string {
  return new Date().toISOString();
}

/** An ISO time as people read it in both languages, to the minute: "2026-11-26 09:41 UTC" ("—" for none). */
export function shownTime(iso: unknown): string {
  return typeof iso === 'string' && iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—';
}
