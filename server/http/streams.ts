import { KuraError } from '../lib/errors.js';

/** Caps and timings of every long-lived stream (tests shorten them). */
export const streamLimits = {
  /** How often open streams check that their session or token still holds. */
  credentialCheckMs: 1_000,
  /** Log follows one web session may have open (each holds a connection to a node). */
  logsPerSession: 4,
  /** Live-update streams one web session may have open (one per open page). */
  livePerSession: 8,
  /** `/api/v1/events` streams one API token may have open. */
  eventsPerToken: 4,
  /** A client whose socket has stayed full this long is cut off. */
  stallMs: 60_000,
  /** The update bus cannot wait for one slow client: a client this many bytes behind is cut off. */
  backlogBytes: 256 * 1024,
};

/** Why a stream ended. */
export type EndReason = 'client' | 'credential' | 'source' | 'stalled' | 'behind' | 'closing';

/** What a stream is open under: a web session or an API token, checked while the stream lasts. */
export interface Credential {
  key: string;
  alive(): boolean;
}

/** One open stream's place in its credential's count. */
export interface StreamSlot {
  readonly ended: EndReason | null;
  /** Runs `fn` once, when the stream ends (at once if it has). */
  onEnd(fn: (reason: EndReason) => void): void;
  /** Ends the stream: its listeners run and its place is freed. Later calls do nothing. */
  end(reason: EndReason): void;
}

class Slot implements StreamSlot {
  ended: EndReason | null = null;
  private readonly listeners: Array<(reason: EndReason) => void> = [];

  constructor(readonly credential: Credential, private readonly release: (slot: Slot) => void) {}

  onEnd(fn: (reason: EndReason) => void): void {
    if (this.ended) fn(this.ended);
    else this.listeners.push(fn);
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.release(this);
    for (const fn of this.listeners.splice(0)) fn(reason);
  }
}

/**
 * The open streams of one face of the panel (web or API), counted per kind and
 * credential. A place is taken synchronously, before the route awaits anything, so two
 * requests at once cannot both pass the cap; it is freed however the stream ends. One
 * timer checks the credentials of all open streams and ends those whose credential ended.
 */
export class StreamRegistry {
  private readonly open = new Map<string, Set<Slot>>();
  private timer: NodeJS.Timeout | null = null;

  /** Takes a place for a new stream, or refuses with 429 when `cap` are open already. */
  take(kind: string, cap: number, credential: Credential, what: string): StreamSlot {
    const key = `${kind}\u0000${credential.key}`;
    let slots = this.open.get(key);
    if ((slots?.size ?? 0) >= cap) throw new KuraError('rate_limited', `at most ${cap} ${what} may be open at once`);
    if (!slots) {
      slots = new Set();
      this.open.set(key, slots);
    }
    const slot = new Slot(credential, (s) => {
      slots.delete(s);
      if (slots.size === 0 && this.open.get(key) === slots) this.open.delete(key);
      if (this.open.size === 0) this.stopChecking();
    });
    slots.add(slot);
    this.startChecking();
    return slot;
  }

  /** Ends every open stream (the panel is shutting down). */
  closeAll(): void {
    for (const slots of [...this.open.values()]) for (const slot of [...slots]) slot.end('closing');
    this.stopChecking();
  }

  private startChecking(): void {
    if (this.timer) return;
    const tick = () => {
      this.check();
      if (this.timer) this.timer = setTimeout(tick, streamLimits.credentialCheckMs).unref();
    };
    this.timer = setTimeout(tick, streamLimits.credentialCheckMs).unref();
  }

  private stopChecking(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One look per credential, however many streams it has open. */
  private check(): void {
    const verdicts = new Map<string, boolean>();
    for (const slots of [...this.open.values()]) {
      for (const slot of [...slots]) {
        const key = slot.credential.key;
        let alive = verdicts.get(key);
        if (alive === undefined) {
          alive = stillValid(slot.credential);
          verdicts.set(key, alive);
        }
        if (!alive) slot.end('credential');
      }
    }
  }
}

/** A credential that cannot be checked (the database is closing) counts as ended: streams fail closed. */
function stillValid(credential: Credential): boolean {
  try {
    return credential.alive();
  } catch {
    return false;
  }
}
