import { NodeUnavailableError } from '../lib/errors.js';

/**
 * Once a node has failed to answer, calls fail at once instead of each waiting out its
 * own timeout; the heartbeat closes the breaker again when the node answers a ping.
 */
export class CircuitBreaker {
  private reason: string | null = null;
  private openedAt = 0;

  constructor(private readonly nodeName: string) {}

  get open(): boolean {
    return this.reason !== null;
  }

  /** Throws without touching the network while the breaker is open. */
  check(call: string): void {
    if (this.reason !== null) {
      const ago = Math.round((Date.now() - this.openedAt) / 1000);
      throw new NodeUnavailableError(this.nodeName, call, `not contacted: the node stopped answering ${ago} s ago (${this.reason})`);
    }
  }

  trip(reason: string): void {
    if (this.reason === null) {
      this.reason = reason;
      this.openedAt = Date.now();
    }
  }

  reset(): void {
    this.reason = null;
  }
}
