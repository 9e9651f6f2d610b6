import type { Repos } from '../db/index.js';
import type { OperationOf, OperationRecord } from '../db/repos/operations.js';
import { publicOperation, type StoredOperation } from '../db/repos/operations.js';
import { InvalidOperationRecord, type CheckpointOf, type Operation, type OperationKind, type ResultOf } from '../domain/operations.js';
import { KuraError, customerSafeMessage, errorMessage } from '../lib/errors.js';
import { customerTenant, onBehalfOf } from '../lib/tenancy.js';
import type { Logger, OperationQueue } from '../core/context.js';
import type { UpdateBus } from '../core/updates.js';

/** Waits between attempts to record an operation's bookkeeping when the database fails. */
const RECORD_RETRY_MS = [100, 500, 2000, 5000];

export interface StepContext<K extends OperationKind = OperationKind> {
  /** Records progress durably and tells listeners. */
  progress(percent: number, message: string): void;
  /** Records what this run chose or found, so a re-run after a crash finishes the same way. */
  checkpoint(patch: Partial<CheckpointOf<K>>): void;
  /** True on a re-run after the panel stopped in the middle of this operation. */
  resumed: boolean;
}

/** What a handler ends with: a line for people, and for kinds that have one, a structured result. */
export type Outcome<K extends OperationKind> = K extends OperationKind
  ? keyof ResultOf<K> extends never ? string : { message: string; result: ResultOf<K> }
  : never;

export interface OperationHandler<K extends OperationKind> {
  run(op: OperationOf<K>, step: StepContext<K>): Promise<Outcome<K>>;
  /** Puts the resource back into a truthful state after the operation failed for good. */
  onFailure?(op: OperationOf<K>, error: KuraError): void;
}

/** One handler for every kind: a kind added to OPERATION_KINDS without a handler does not compile. */
export type OperationHandlers = { [K in OperationKind]: OperationHandler<K> };

/** A failure that carries a structured result too (a batch that moved some environments and not others). */
export class OperationFailure<K extends OperationKind> extends KuraError {
  constructor(error: KuraError, readonly result: ResultOf<K>) {
    super(error.code, error.message, error.details);
    this.customerMessage = error.customerMessage;
  }
}

/**
 * Runs durable operations: every operation is a row first, so a panel that stops at
 * any moment finds its unfinished operations at the next start and runs them again.
 * Handlers are written to be re-run safely. Operations on one resource run one at a
 * time, in order.
 */
export class OperationRunner implements OperationQueue {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly active = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly repos: Repos,
    private readonly updates: UpdateBus,
    private readonly handlers: OperationHandlers,
    private readonly log: Logger,
  ) {}

  /** Queues a recorded operation behind any earlier one on the same resource. */
  submit(op: Pick<Operation, 'id' | 'resource'>): void {
    this.enqueue(op.id, op.resource.id);
  }

  /** At start: every operation left queued or running by an earlier process runs again. */
  recover(): number {
    const open = this.repos.operations.openIds();
    for (const id of open) {
      const op = this.readable(id);
      if (op) this.enqueue(op.id, op.resource.id);
    }
    if (open.length > 0) this.log.info({ count: open.length }, 'resuming unfinished operations');
    return open.length;
  }

  publish(op: StoredOperation & { customerId: string | null }): void {
    this.updates.publish({ type: 'operation', customerId: op.customerId, data: { ...publicOperation(op) },
      customerData: { ...publicOperation(op, 'customer') } });
  }

  /** Tells listeners the operation's current state; a failure to read it is logged, never thrown into the run. */
  private announce(id: string): void {
    try {
      const op = this.repos.operations.view(id);
      if (op) this.publish(op);
    } catch (err) {
      this.log.error({ operation: id, err: errorMessage(err) }, 'could not announce the operation');
    }
  }

  /**
   * Records an operation's bookkeeping (running, the outcome), trying again a few times when the
   * database fails (busy, a full disk that frees up). True once it is recorded; false when it
   * never was: the operation then stays open, and runs again at the next start.
   */
  private async record(id: string, what: string, write: () => void): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        write();
        return true;
      } catch (err) {
        const wait = RECORD_RETRY_MS[attempt];
        if (wait === undefined || this.closed) {
          this.log.error({ operation: id, err: errorMessage(err) }, `could not record ${what}; the operation stays open and resumes at the next start`);
          return false;
        }
        this.log.warn({ operation: id, err: errorMessage(err), retryInMs: wait }, `could not record ${what}; trying again`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Stops taking work and waits (bounded) for running operations; what is left resumes at next start. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    await Promise.race([Promise.allSettled([...this.active]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  private enqueue(id: string, resourceId: string): void {
    if (this.closed) return;
    const previous = this.chains.get(resourceId) ?? Promise.resolve();
    const next = previous.then(() => this.execute(id)).catch((err: unknown) => {
      // Only the runner's own bookkeeping can land here (a handler's error is recorded on its operation).
      this.log.error({ operation: id, err: errorMessage(err) }, 'operation bookkeeping failed');
    });
    const tracked = next.finally(() => {
      this.active.delete(tracked);
      if (this.chains.get(resourceId) === next) this.chains.delete(resourceId);
    });
    this.chains.set(resourceId, next);
    this.active.add(tracked);
  }

  /**
   * The operation read whole, or null after recording why it cannot be: a row whose stored
   * parts its kind's schema refuses ends failed with the reason, loudly, and runs nothing.
   */
  private readable(id: string): OperationRecord | null {
    try {
      return this.repos.operations.get(id) ?? null;
    } catch (err) {
      // Only a row its kind cannot read ends failed; a database that fails to answer is not the operation's fault.
      if (!(err instanceof InvalidOperationRecord)) throw err;
      this.log.error({ operation: id, err: errorMessage(err) }, 'unreadable operation failed without running');
      this.repos.operations.finish(id, 'failed', errorMessage(err), { error: { code: 'internal', message: errorMessage(err) } });
      return null;
    }
  }

  /**
   * Runs one operation. A database error anywhere in it (reading it, progress, the outcome,
   * a listener) never escapes as an unhandled rejection: progress is best effort, the outcome
   * is retried, and what cannot be recorded leaves the operation open for the next start.
   */
  private async execute(id: string): Promise<void> {
    let op: OperationRecord | null;
    try {
      op = this.readable(id);
    } catch (err) {
      this.log.error({ operation: id, err: errorMessage(err) }, 'could not read the operation; it resumes at the next start');
      return;
    }
    if (!op || (op.status !== 'queued' && op.status !== 'running') || this.closed) return;
    // Its node calls queue as its customer's (the panel's for admin-wide work), patiently: nobody is waiting on a page.
    await onBehalfOf({ tenant: customerTenant(op.customerId), patient: true }, () => this.runHandler(op));
  }

  private async runHandler(op: OperationRecord): Promise<void> {
    const id = op.id;
    // The map is complete by its type; indexing it with a union kind needs this one widening.
    const handler = this.handlers[op.kind] as OperationHandler<OperationKind>;
    const resumed = op.status === 'running' || op.attempts > 0;
    if (!(await this.record(id, 'that it runs', () => this.repos.operations.markRunning(id)))) return;
    this.announce(id);
    const step: StepContext = {
      resumed,
      // Progress is for people watching: one that cannot be recorded is logged, and the work goes on.
      progress: (percent, message) => {
        try {
          this.repos.operations.progress(id, percent, message);
        } catch (err) {
          this.log.warn({ operation: id, err: errorMessage(err) }, 'could not record progress');
          return;
        }
        this.announce(id);
      },
      checkpoint: (patch) => this.repos.operations.checkpoint(id, patch),
    };
    let outcome: Outcome<OperationKind>;
    try {
      outcome = await handler.run(this.repos.operations.get(id)!, step);
    } catch (err) {
      if (this.closed) return; // shutting down: the operation stays open and resumes at the next start
      const error = err instanceof KuraError ? err : new KuraError('internal', errorMessage(err));
      await this.fail(op, error, handler);
      return;
    }
    // The work is done: only its record is left, and a failure to write it is not the work's failure.
    const { message, result } = typeof outcome === 'string' ? { message: outcome, result: undefined } : outcome;
    if (await this.record(id, 'its success', () => this.repos.operations.finish(id, 'succeeded', message, { result }))) this.announce(id);
  }

  private async fail(op: OperationRecord, error: KuraError, handler: OperationHandler<OperationKind>): Promise<void> {
    this.log.error({ operation: op.id, kind: op.kind, code: error.code, err: error.message }, 'operation failed');
    try {
      handler.onFailure?.(op, error);
    } catch (cleanupErr) {
      this.log.error({ operation: op.id, err: errorMessage(cleanupErr) }, 'operation failure cleanup failed');
    }
    const result = error instanceof OperationFailure ? error.result : undefined;
    const recorded = await this.record(op.id, 'its failure', () => {
      // Customers read the failure without node names, host paths or Docker's words; admins read it whole.
      const customerMessage = customerSafeMessage(error.code, error.message,
        { customerMessage: error.customerMessage, nodeNames: this.repos.nodes.names() });
      this.repos.operations.finish(op.id, 'failed', error.message, { error: { code: error.code, message: error.message, customerMessage }, result });
    });
    if (recorded) this.announce(op.id);
  }
}
