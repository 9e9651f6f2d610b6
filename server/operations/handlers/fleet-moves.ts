import type { OperationRecord } from '../../db/repos/operations.js';
import type { Move } from '../../domain/fleet-plan.js';
import type { Context } from '../../core/context.js';
import { consolidationPreview, DEFAULT_HEADROOM, DEFAULT_THRESHOLD, rebalancePreview } from '../../read-models/fleet-plan.js';
import type { OperationHandler, StepContext } from '../runner.js';
import { batchResult, leftBehindError, runMoves, summary, withStartedChildren, type BatchMove, type BatchResult } from './batch-moves.js';

const PARALLEL = 2;

/** What a fleet batch planned on its first run, kept in its params so a re-run finishes that plan. */
interface StoredPlan {
  moves: BatchMove[];
  note: string;
}

/**
 * Consolidation: plans when it runs (the fleet may have changed since the preview), keeps
 * the plan, and moves environments off the nodes it empties.
 */
export function consolidateHandler(ctx: Context): OperationHandler {
  return {
    async run(op, step) {
      const headroom = numberParam(op.params.headroom, DEFAULT_HEADROOM);
      const plan = storedPlan(op.params.plan) ?? keepPlan(ctx, op, () => {
        const p = consolidationPreview(ctx, { headroom });
        const emptied = p.emptied.map((n) => n.name).join(', ');
        return { moves: p.moves.map(toBatchMove),
          note: `nodes in use ${p.before.nodes} → ${p.after.nodes}${emptied ? ` (emptying ${emptied})` : ''}` };
      });
      if (plan.moves.length === 0) return `nothing to consolidate with ${Math.round(headroom * 100)}% headroom: ${plan.note}`;
      const result = await apply(ctx, op, step, plan);
      const error = leftBehindError(result, `consolidation incomplete, ${plan.note}`);
      if (error) throw error;
      return `${plan.note}: ${summary(result)}`;
    },
  };
}

/** Rebalance: the same, with moves that level the load across active nodes. */
export function rebalanceHandler(ctx: Context): OperationHandler {
  return {
    async run(op, step) {
      const threshold = numberParam(op.params.threshold, DEFAULT_THRESHOLD);
      const headroom = numberParam(op.params.headroom, DEFAULT_HEADROOM);
      const plan = storedPlan(op.params.plan) ?? keepPlan(ctx, op, () => {
        const p = rebalancePreview(ctx, { threshold, headroom });
        return { moves: p.moves.map(toBatchMove), note: `load spread ${p.before.spread} → ${p.after.spread} planned` };
      });
      if (plan.moves.length === 0) return `nothing to rebalance at threshold ${threshold}: ${plan.note}`;
      const result = await apply(ctx, op, step, plan);
      const now = rebalancePreview(ctx, { threshold, headroom }).before.spread;
      const error = leftBehindError(result, `rebalance incomplete (${plan.note}, ${now} now)`);
      if (error) throw error;
      return `${plan.note}, ${now} now: ${summary(result)}`;
    },
  };
}

async function apply(ctx: Context, op: OperationRecord, step: StepContext, plan: StoredPlan): Promise<BatchResult> {
  step.progress(3, `${plan.moves.length} moves: ${plan.note}`);
  const outcomes = await runMoves(ctx, op, step, withStartedChildren(ctx, op.id, plan.moves), { parallel: PARALLEL, fromPercent: 5, toPercent: 100 });
  const result = batchResult(outcomes, []);
  ctx.repos.operations.mergeParams(op.id, { result });
  return result;
}

function keepPlan(ctx: Context, op: OperationRecord, make: () => StoredPlan): StoredPlan {
  const plan = make();
  ctx.repos.operations.mergeParams(op.id, { plan });
  return plan;
}

function toBatchMove(m: Move): BatchMove {
  return { environmentId: m.environmentId, name: m.name, from: m.from, to: m.to };
}

function numberParam(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The plan kept by an earlier run, read field by field (params are JSON). */
function storedPlan(value: unknown): StoredPlan | null {
  if (typeof value !== 'object' || value === null) return null;
  const { moves, note } = value as { moves?: unknown; note?: unknown };
  if (!Array.isArray(moves) || typeof note !== 'string') return null;
  const parsed: BatchMove[] = [];
  for (const m of moves as unknown[]) {
    if (typeof m !== 'object' || m === null) return null;
    const { environmentId, name, from, to } = m as Record<string, unknown>;
    if (typeof environmentId !== 'string' || typeof name !== 'string' || typeof from !== 'string' || typeof to !== 'string') return null;
    parsed.push({ environmentId, name, from, to });
  }
  return { moves: parsed, note };
}
