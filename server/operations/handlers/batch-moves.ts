import { isKind, type OperationOf, type OperationRecord, type OperationView } from '../../db/repos/operations.js';
import type { Unplaceable } from '../../domain/fleet-plan.js';
import { isFinished, type BatchMove, type BatchResult, type MoveOutcome, type OperationKind, type ResultOf } from '../../domain/operations.js';
import { errorMessage, KuraError, STATUS_OF, type ErrorCode } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { startMove } from '../../services/moves.js';
import { waitForOperation } from '../../services/operations.js';
import { OperationFailure, type Outcome, type StepContext } from '../runner.js';

/** The kinds that run child moves and end with a BatchResult. */
export type BatchKind = 'evacuate' | 'restore' | 'consolidate' | 'rebalance';

/**
 * Runs a batch operation's moves as child moves (params.parentId = the batch), a few
 * at a time, reporting each environment as it ends. Safe to run again after a restart:
 * a move that already has a child is awaited (or read, when it ended), never started twice.
 */

const WAIT_SLICE_MS = 30_000;

/** The newest child move of `parentId` for each environment. */
export function childrenByEnvironment(ctx: Context, parentId: string): Map<string, OperationOf<'migrate'>> {
  const out = new Map<string, OperationOf<'migrate'>>();
  for (const c of ctx.repos.operations.children(parentId)) if (isKind(c, 'migrate')) out.set(c.resource.id, c);
  return out;
}

/** A move for each child already started (a re-run), then the planned ones that have none. */
export function withStartedChildren(ctx: Context, parentId: string, planned: readonly BatchMove[]): BatchMove[] {
  const started = childrenByEnvironment(ctx, parentId);
  const resumed = [...started.values()].map((c) => ({
    environmentId: c.resource.id, name: ctx.repos.environments.get(c.resource.id)?.name ?? c.resource.id,
    from: c.params.sourceNodeId,
    to: c.params.targetNodeId,
  }));
  return [...resumed, ...planned.filter((m) => !started.has(m.environmentId))];
}

export async function runMoves<K extends OperationKind>(ctx: Context, parent: OperationOf<K>, step: StepContext<K>, moves: readonly BatchMove[],
  opts: { parallel: number; fromPercent: number; toPercent: number }): Promise<MoveOutcome[]> {
  const started = childrenByEnvironment(ctx, parent.id);
  const outcomes: MoveOutcome[] = [];
  const retry: BatchMove[] = [];
  const total = moves.length;
  const report = (o: MoveOutcome) => {
    outcomes.push(o);
    const pct = opts.fromPercent + ((opts.toPercent - opts.fromPercent) * outcomes.length) / Math.max(1, total);
    step.progress(Math.min(opts.toPercent - 1, pct), `${outcomes.length}/${total}: ${describe(o)}`);
  };

  const one = async (m: BatchMove, lastTry: boolean): Promise<void> => {
    let child: OperationRecord | undefined = started.get(m.environmentId);
    if (!child) {
      const env = ctx.repos.environments.get(m.environmentId);
      if (!env) return report({ environmentId: m.environmentId, name: m.name, status: 'skipped', reason: 'it was deleted' });
      if (env.nodeId !== m.from) {
        return report({ environmentId: env.id, name: env.name, status: 'skipped', reason: `it is on ${nodeName(ctx, env.nodeId)} now` });
      }
      try {
        child = startMove(ctx, env.id, { nodeId: m.to, parentId: parent.id });
      } catch (err) {
        // Room may free up as other moves of the batch finish, and a short operation may end: one more try at the end.
        if (!lastTry && err instanceof KuraError && (err.code === 'no_capacity' || err.code === 'conflict')) {
          retry.push(m);
          return;
        }
        return report({ environmentId: env.id, name: env.name, status: 'failed', reason: errorMessage(err), code: codeOf(err) });
      }
    }
    const end = await untilDone(ctx, child.id);
    const env = ctx.repos.environments.get(m.environmentId);
    if (end.status !== 'succeeded') {
      return report({ environmentId: m.environmentId, name: m.name, status: 'failed', operationId: end.id,
        reason: end.error?.message ?? end.message, code: end.error ? asCode(end.error.code) : 'internal' });
    }
    if (!env) return report({ environmentId: m.environmentId, name: m.name, status: 'skipped', reason: 'it was deleted', operationId: end.id });
    report({ environmentId: env.id, name: env.name, status: 'moved', to: nodeName(ctx, env.nodeId), operationId: end.id });
  };

  // Never two moves into one node at a time: each picks its host ports and checks room before it switches.
  const pending = [...moves];
  const running = new Set<Promise<void>>();
  const busy = new Set<string>();
  while (pending.length > 0 || running.size > 0) {
    const next = running.size < opts.parallel ? pending.findIndex((m) => m.to === undefined || !busy.has(m.to)) : -1;
    if (next < 0) {
      await Promise.race(running);
      continue;
    }
    const [m] = pending.splice(next, 1) as [BatchMove];
    if (m.to !== undefined) busy.add(m.to);
    const task: Promise<void> = one(m, false).finally(() => {
      if (m.to !== undefined) busy.delete(m.to);
      running.delete(task);
    });
    running.add(task);
  }
  for (const m of retry) await one(m, true);
  return outcomes;
}

export function batchResult(outcomes: readonly MoveOutcome[], unplaceable: readonly Unplaceable[]): BatchResult {
  return {
    moved: outcomes.filter((o) => o.status === 'moved'),
    failed: outcomes.filter((o) => o.status === 'failed'),
    skipped: outcomes.filter((o) => o.status === 'skipped'),
    unplaceable: [...unplaceable],
  };
}

/** One line for people: what moved where, and each environment left behind with its reason. */
export function summary(r: BatchResult): string {
  const parts = [`moved ${r.moved.length}${r.moved.length ? ` (${r.moved.map((o) => `${o.name} → ${o.to}`).join(', ')})` : ''}`];
  const left = [...r.unplaceable.map((u) => `${u.name}: no room (${u.reason})`), ...r.failed.map((o) => `${o.name}: ${o.reason}`)];
  if (left.length) parts.push(`not moved ${left.length}: ${left.join('; ')}`);
  if (r.skipped.length) parts.push(`skipped ${r.skipped.length} (${r.skipped.map((o) => `${o.name}: ${o.reason}`).join(', ')})`);
  return parts.join('; ');
}

/**
 * How a batch ends: with its result when everything moved, or failed (keeping the result)
 * when something was left behind: no_capacity if only room was missing.
 */
export function endBatch<K extends BatchKind>(r: BatchResult, message: string, leftBehind: string): Outcome<K> {
  if (r.failed.length === 0 && r.unplaceable.length === 0) return { message, result: r } as Outcome<K>;
  const codes = new Set(r.failed.map((o) => asCode(o.code ?? 'internal')));
  const code: ErrorCode = r.failed.length === 0 ? 'no_capacity' : codes.size === 1 ? [...codes][0]! : 'internal';
  throw new OperationFailure<K>(new KuraError(code, `${leftBehind}: ${summary(r)}`, {
    failed: r.failed.map((o) => ({ environmentId: o.environmentId, reason: o.reason })),
    unplaceable: r.unplaceable.map((u) => ({ environmentId: u.environmentId, reason: u.reason })),
  }), r as ResultOf<K>);
}

async function untilDone(ctx: Context, id: string): Promise<OperationView> {
  for (;;) {
    const op = await waitForOperation(ctx, id, WAIT_SLICE_MS);
    if (!op) throw new KuraError('internal', `child operation ${id} disappeared`);
    if (isFinished(op.status)) return op;
  }
}

function describe(o: MoveOutcome): string {
  if (o.status === 'moved') return `${o.name} moved to ${o.to}`;
  if (o.status === 'skipped') return `${o.name} skipped: ${o.reason}`;
  return `${o.name} not moved: ${o.reason}`;
}

function nodeName(ctx: Context, nodeId: string): string {
  return ctx.repos.nodes.get(nodeId)?.name ?? nodeId;
}

function codeOf(err: unknown): ErrorCode {
  return err instanceof KuraError ? err.code : 'internal';
}

function asCode(code: string): ErrorCode {
  return Object.hasOwn(STATUS_OF, code) ? (code as ErrorCode) : 'internal';
}
