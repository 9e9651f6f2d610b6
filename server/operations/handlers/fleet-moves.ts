import type { OperationOf } from '../../db/repos/operations.js';
import type { Move } from '../../domain/fleet-plan.js';
import type { BatchMove, BatchResult, CheckpointOf } from '../../domain/operations.js';
import type { Context } from '../../core/context.js';
import { consolidationPreview, rebalancePreview } from '../../read-models/fleet-plan.js';
import type { OperationHandler, StepContext } from '../runner.js';
import { batchResult, endBatch, runMoves, summary, withStartedChildren } from './batch-moves.js';

const PARALLEL = 2;

/** What a fleet batch planned on its first run, kept in its checkpoint so a re-run finishes that plan. */
type StoredPlan = NonNullable<CheckpointOf<'consolidate'>['plan']>;

/**
 * Consolidation: plans when it runs (the fleet may have changed since the preview), keeps
 * the plan, and moves environments off the nodes it empties.
 */
export function consolidateHandler(ctx: Context): OperationHandler<'consolidate'> {
  return {
    async run(op, step) {
      const { headroom } = op.params;
      const plan = op.checkpoint.plan ?? keepPlan(step, () => {
        const p = consolidationPreview(ctx, { headroom });
        const emptied = p.emptied.map((n) => n.name).join(', ');
        return { moves: p.moves.map(toBatchMove),
          note: `nodes in use ${p.before.nodes} → ${p.after.nodes}${emptied ? ` (emptying ${emptied})` : ''}` };
      });
      if (plan.moves.length === 0) {
        return { message: `nothing to consolidate with ${Math.round(headroom * 100)}% headroom: ${plan.note}`, result: batchResult([], []) };
      }
      const result = await apply(ctx, op, step, plan);
      return endBatch(result, `${plan.note}: ${summary(result)}`, `consolidation incomplete, ${plan.note}`);
    },
  };
}

/** Rebalance: the same, with moves that level the load across active nodes. */
export function rebalanceHandler(ctx: Context): OperationHandler<'rebalance'> {
  return {
    async run(op, step) {
      const { threshold, headroom } = op.params;
      const plan = op.checkpoint.plan ?? keepPlan(step, () => {
        const p = rebalancePreview(ctx, { threshold, headroom });
        return { moves: p.moves.map(toBatchMove), note: `load spread ${p.before.spread} → ${p.after.spread} planned` };
      });
      if (plan.moves.length === 0) {
        return { message: `nothing to rebalance at threshold ${threshold}: ${plan.note}`, result: batchResult([], []) };
      }
      const result = await apply(ctx, op, step, plan);
      const now = rebalancePreview(ctx, { threshold, headroom }).before.spread;
      return endBatch(result, `${plan.note}, ${now} now: ${summary(result)}`, `rebalance incomplete (${plan.note}, ${now} now)`);
    },
  };
}

type FleetKind = 'consolidate' | 'rebalance';

async function apply<K extends FleetKind>(ctx: Context, op: OperationOf<K>, step: StepContext<K>, plan: StoredPlan): Promise<BatchResult> {
  step.progress(3, `${plan.moves.length} moves: ${plan.note}`);
  const outcomes = await runMoves(ctx, op, step, withStartedChildren(ctx, op.id, plan.moves), { parallel: PARALLEL, fromPercent: 5, toPercent: 100 });
  return batchResult(outcomes, []);
}

function keepPlan<K extends FleetKind>(step: StepContext<K>, make: () => StoredPlan): StoredPlan {
  const plan = make();
  step.checkpoint({ plan } as Partial<CheckpointOf<K>>);
  return plan;
}

function toBatchMove(m: Move): BatchMove {
  return { environmentId: m.environmentId, name: m.name, from: m.from, to: m.to };
}
