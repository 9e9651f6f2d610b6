import { EventEmitter } from 'node:events';

/** A lifecycle or operation event; `customerId` decides who may see it (null: admins only). */
export interface PanelUpdate {
  type: 'operation' | 'environment';
  customerId: string | null;
  data: { id: string } & Record<string, unknown>;
  /** What the customer reads, when it differs from what admins read (an error without node detail). */
  customerData?: { id: string } & Record<string, unknown>;
}

export class UpdateBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every SSE client and every /wait call listens; the default cap of 10 is not a leak signal here.
    this.emitter.setMaxListeners(0);
  }

  publish(event: PanelUpdate): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: PanelUpdate) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
