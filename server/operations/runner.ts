import type { Repos } from '../db/index.js';
import { publicOperation, type OperationRecord } from '../db/repos/operations.js';
import { KuraError, errorMessage } from '../lib/errors.js';
import type { UpdateBus } from '../core/updates.js';

export interface StepContext {
  /** Records progress durably and tells listeners. */
  progress(percent: number, message: string): void;
  /** True on a re-run after the panel stopped in the middle of this operation. */
  resumed: boolean;
}

export interface OperationHandler {
  run(op: OperationRecord, step: StepContext): Promise<string>;
  /** Puts the resource back into a truthful state after the operation failed for good. */
  onFailure?(op: OperationRecord, error: KuraError): void;
}

export interface Logger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs durable operations: every operation is a row first, so a panel that stops at
 * any moment finds its unfinished operations at the next start and runs them again.
 * Handlers are written to be re-run safely. Operations on one resource run one at a
 * time, in order.
 */
export class OperationRunner {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly active = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly repos: Repos,
    private readonly updates: UpdateBus,
    private readonly handlers: Record<string, OperationHandler>,
    private readonly log: Logger,
  ) {}

  /** Queues a recorded operation behind any earlier one on the same resource. */
  submit(op: OperationRecord): void {
    if (this.closed) return;
    const key = op.resource.id;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.execute(op.id));
    const tracked = next.finally(() => {
      this.active.delete(tracked);
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    this.chains.set(key, next);
    this.active.add(tracked);
  }

  /** At start: every operation left queued or running by an earlier process runs again. */
  recover(): number {
    const open = this.repos.operations.open();
    for (const op of open) this.submit(op);
    if (open.length > 0) this.log.info({ count: open.length }, 'resuming unfinished operations');
    return open.length;
  }

  publish(op: OperationRecord): void {
    this.updates.publish({ type: 'operation', customerId: op.customerId, data: publicOperation(op) });
  }

  /** Stops taking work and waits (bounded) for running operations; what is left resumes at next start. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    await Promise.race([Promise.allSettled([...this.active]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  private async execute(id: string): Promise<void> {
    const op = this.repos.operations.get(id);
    if (!op || (op.status !== 'queued' && op.status !== 'running') || this.closed) return;
    const handler = this.handlers[op.kind];
    const resumed = op.status === 'running' || op.attempts > 0;
    this.repos.operations.markRunning(id);
    this.publish(this.repos.operations.get(id)!);
    if (!handler) {
      this.fail(op, new KuraError('internal', `no handler for operation kind ${op.kind}`), undefined);
      return;
    }
    const step: StepContext = {
      resumed,
      progress: (percent, message) => {
        this.repos.operations.progress(id, percent, message);
        this.publish(this.repos.operations.get(id)!);
      },
    };
    try {
      const message = await handler.run(this.repos.operations.get(id)!, step);
      this.repos.operations.finish(id, 'succeeded', message);
      this.publish(this.repos.operations.get(id)!);
    } catch (err) {
      if (this.closed) return; // shutting down: the operation stays open and resumes at the next start
      const error = err instanceof KuraError ? err : new KuraError('internal', errorMessage(err));
      this.fail(op, error, handler);
    }
  }

  private fail(op: OperationRecord, error: KuraError, handler: OperationHandler | undefined): void {
    this.log.error({ operation: op.id, kind: op.kind, code: error.code, err: error.message }, 'operation failed');
    try {
      handler?.onFailure?.(op, error);
    } catch (cleanupErr) {
      this.log.error({ operation: op.id, err: errorMessage(cleanupErr) }, 'operation failure cleanup failed');
    }
    this.repos.operations.finish(op.id, 'failed', error.message, { code: error.code, message: error.message });
    this.publish(this.repos.operations.get(op.id)!);
  }
}
