import { NotFoundError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { evacuationPlan } from '../../read-models/fleet-plan.js';
import type { OperationHandler } from '../runner.js';
import { batchResult, childrenByEnvironment, endBatch, runMoves, summary, withStartedChildren } from './batch-moves.js';

const PARALLEL = 2;

/**
 * Empties a node in maintenance: plans where each of its environments goes (the other
 * active, online nodes, within capacity), then migrates them two at a time. What has no
 * room or fails to move is named in the result and the error; nothing is dropped.
 */
export function evacuateHandler(ctx: Context): OperationHandler<'evacuate'> {
  return {
    async run(op, step) {
      const node = ctx.repos.nodes.get(op.resource.id);
      if (!node) throw new NotFoundError('node', op.resource.id);
      step.progress(2, `planning where the environments of ${node.name} go`);
      const started = childrenByEnvironment(ctx, op.id);
      const plan = evacuationPlan(ctx, node.id);
      const moves = withStartedChildren(ctx, op.id, plan.moves.map((m) => ({ environmentId: m.environmentId, name: m.name, from: m.from, to: m.to })));
      const unplaceable = plan.unplaceable.filter((u) => !started.has(u.environmentId));
      if (moves.length === 0 && unplaceable.length === 0) return { message: `${node.name} holds no environments`, result: batchResult([], []) };
      if (unplaceable.length > 0) {
        step.progress(4, `${moves.length} to move; no room for ${unplaceable.map((u) => u.name).join(', ')}`);
      }
      const outcomes = await runMoves(ctx, op, step, moves, { parallel: PARALLEL, fromPercent: 5, toPercent: 100 });
      const result = batchResult(outcomes, unplaceable);
      const left = ctx.repos.environments.countOnNode(node.id);
      return endBatch(result, `${node.name} ${left === 0 ? 'is empty' : `still holds ${left} environments placed on it meanwhile`}: ${summary(result)}`,
        `${node.name} was not emptied`);
    },
  };
}
