import { NotFoundError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { restorePlan } from '../../read-models/fleet-plan.js';
import type { OperationHandler } from '../runner.js';
import { batchResult, childrenByEnvironment, endBatch, runMoves, summary, withStartedChildren } from './batch-moves.js';
import { isKind } from '../../db/repos/operations.js';

const PARALLEL = 2;

/**
 * Brings back to a node (made active when the restore was asked for) the environments its
 * latest evacuation moved away: those that still exist and are elsewhere, as far as the
 * node has room. The ones without room are named; deleted ones are only counted.
 */
export function restoreHandler(ctx: Context): OperationHandler<'restore'> {
  return {
    async run(op, step) {
      const node = ctx.repos.nodes.get(op.resource.id);
      if (!node) throw new NotFoundError('node', op.resource.id);
      const { evacuationId } = op.params;
      if (!evacuationId) {
        return { message: `${node.name} is active; it was never evacuated, so nothing comes back`, result: batchResult([], []) };
      }
      const movedAway = [...new Set(ctx.repos.operations.children(evacuationId)
        .filter((c) => isKind(c, 'migrate') && c.status === 'succeeded' && c.params.sourceNodeId === node.id)
        .map((c) => c.resource.id))];
      const started = childrenByEnvironment(ctx, op.id);
      const existing = movedAway.flatMap((id) => ctx.repos.environments.get(id) ?? []);
      const deleted = movedAway.length - existing.length;
      const away = existing.filter((e) => e.nodeId !== node.id && !started.has(e.id));
      step.progress(2, `planning the return of ${away.length} environments to ${node.name}`);
      const plan = restorePlan(ctx, node.id, away.map((e) => e.id));
      const moves = withStartedChildren(ctx, op.id, plan.moves.map((m) => ({ environmentId: m.environmentId, name: m.name, from: m.from, to: m.to })));
      const outcomes = await runMoves(ctx, op, step, moves, { parallel: PARALLEL, fromPercent: 5, toPercent: 100 });
      const result = batchResult(outcomes, plan.unplaceable);
      const gone = deleted > 0 ? `; ${deleted} deleted since the evacuation` : '';
      return endBatch(result, `${node.name} is active: ${summary(result)}${gone}`, `not everything came back to ${node.name}${gone}`);
    },
  };
}
