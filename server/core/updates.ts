/** A lifecycle or operation event; `customerId` decides who may see it (null: admins only). */
export interface PanelUpdate {
  type: 'operation' | 'environment' | 'backup';
  customerId: string | null;
  data: { id: string } & Record<string, unknown>;
  /** What the customer reads, when it differs from what admins read (an error without node detail). */
  customerData?: { id: string } & Record<string, unknown>;
}

/**
 * The panel's pub/sub. Every listener is called on its own: one that throws (a closed stream,
 * a database read that fails) is reported and never reaches the publisher, which is often
 * the operation runner recording an outcome.
 */
export class UpdateBus {
  private readonly listeners = new Set<(event: PanelUpdate) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  publish(event: PanelUpdate): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        try {
          this.onListenerError(err);
        } catch {
          // Reporting failed as well; the publisher must still not see it.
        }
      }
    }
  }

  subscribe(listener: (event: PanelUpdate) => void): () => void {
    // Wrapped, so the same function subscribed twice is two subscriptions, as with an EventEmitter.
    const own = (event: PanelUpdate) => listener(event);
    this.listeners.add(own);
    return () => void this.listeners.delete(own);
  }
}
