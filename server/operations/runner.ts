import type { Repos } from '../db/index.js';
import type { OperationOf, OperationRecord } from '../db/repos/operations.js';
import { publicOperation } from '../db/repos/operations.js';
import type { CheckpointOf, Operation, OperationKind, ResultOf } from '../domain/operations.js';
import { KuraError, errorMessage } from '../lib/errors.js';
import { customerTenant, onBehalfOf } from '../lib/tenancy.js';
import type { Logger, OperationQueue } from '../core/context.js';
import type { UpdateBus } from '../core/updates.js';

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

  publish(op: Operation & { customerId: string | null }): void {
    this.updates.publish({ type: 'operation', customerId: op.customerId, data: { ...publicOperation(op) } });
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
      this.log.error({ operation: id, err: errorMessage(err) }, 'unreadable operation failed without running');
      this.repos.operations.finish(id, 'failed', errorMessage(err), { error: { code: 'internal', message: errorMessage(err) } });
      return null;
    }
  }

  private async execute(id: string): Promise<void> {
    const op = this.readable(id);
    if (!op || (op.status !== 'queued' && op.status !== 'running') || this.closed) return;
    // Its node calls queue as its customer's (the panel's for admin-wide work), patiently: nobody is waiting on a page.
    await onBehalfOf({ tenant: customerTenant(op.customerId), patient: true }, () => this.runHandler(op));
  }

  private async runHandler(op: OperationRecord): Promise<void> {
    const id = op.id;
    // The map is complete by its type; indexing it with a union kind needs this one widening.
    const handler = this.handlers[op.kind] as OperationHandler<OperationKind>;
    const resumed = op.status === 'running' || op.attempts > 0;
    this.repos.operations.markRunning(id);
    this.publish(this.repos.operations.get(id)!);
    const step: StepContext = {
      resumed,
      progress: (percent, message) => {
        this.repos.operations.progress(id, percent, message);
        this.publish(this.repos.operations.get(id)!);
      },
      checkpoint: (patch) => this.repos.operations.checkpoint(id, patch),
    };
    try {
      const outcome: Outcome<OperationKind> = await handler.run(this.repos.operations.get(id)!, step);
      const { message, result } = typeof outcome === 'string' ? { message: outcome, result: undefined } : outcome;
      this.repos.operations.finish(id, 'succeeded', message, { result });
      this.publish(this.repos.operations.get(id)!);
    } catch (err) {
      if (this.closed) return; // shutting down: the operation stays open and resumes at the next start
      const error = err instanceof KuraError ? err : new KuraError('internal', errorMessage(err));
      this.fail(op, error, handler);
    }
  }

  private fail(op: OperationRecord, error: KuraError, handler: OperationHandler<OperationKind>): void {
    this.log.error({ operation: op.id, kind: op.kind, code: error.code, err: error.message }, 'operation failed');
    try {
      handler.onFailure?.(op, error);
    } catch (cleanupErr) {
      this.log.error({ operation: op.id, err: errorMessage(cleanupErr) }, 'operation failure cleanup failed');
    }
    const result = error instanceof OperationFailure ? error.result : undefined;
    this.repos.operations.finish(op.id, 'failed', error.message, { error: { code: error.code, message: error.message }, result });
    this.publish(this.repos.operations.get(op.id)!);
  }
}
