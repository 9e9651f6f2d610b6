import type { Environment, Plan } from '../domain/types.js';
import type { Context } from '../core/context.js';
import { selfServiceRefusal } from '../domain/self-service.js';

const MAX_PLANS = 1000;

/** How a plan differs from what an environment has now; 0 where it is the same. */
interface PlanDifference {
  cpus: number;
  memoryMb: number;
  diskMb: number;
  pids: number;
}

export interface PlanChoice {
  plan: Plan;
  difference: PlanDifference;
}

function planChoice(env: Pick<Environment, 'limits'>, plan: Plan): PlanChoice {
  return { plan, difference: {
    cpus: Math.round((plan.cpus - env.limits.cpus) * 1000) / 1000, memoryMb: plan.memoryMb - env.limits.memoryMb,
    diskMb: plan.diskMb - env.limits.diskMb, pids: plan.pids - env.limits.pids,
  } };
}

/**
 * The plans an environment may move to from the panel: for an admin every other plan, for
 * its customer the plans marked selectable, and none while the customer's self-service is off.
 */
export function planChoices(ctx: Context, env: Environment, audience: 'admin' | 'customer') {
  const customer = ctx.repos.customers.get(env.customerId);
  const allowed = audience === 'admin' || selfServiceRefusal(customer) === null;
  const plans = allowed
    ? ctx.repos.plans.page('', MAX_PLANS).filter((p) => p.id !== env.planId && (audience === 'admin' || selfServiceRefusal(customer, p) === null))
    : [];
  return {
    current: ctx.repos.plans.get(env.planId) ?? null,
    selfService: allowed,
    suspended: audience === 'customer' && customer?.status === 'suspended',
    choices: plans.sort((a, b) => a.cpus - b.cpus || a.memoryMb - b.memoryMb || a.name.localeCompare(b.name)).map((p) => planChoice(env, p)),
  };
}
