import type { Environment, Plan } from '../domain/types.js';
import type { Context } from '../core/context.js';

const MAX_PLANS = 1000;

/** How a plan differs from what an environment has now; 0 where it is the same. */
export interface PlanDifference {
  cpus: number;
  memoryMb: number;
  diskMb: number;
  pids: number;
}

export interface PlanChoice {
  plan: Plan;
  difference: PlanDifference;
  /** The disk size changes: not possible while the environment runs (the plan change refuses it). */
  diskChanges: boolean;
}

export function planDifference(env: Pick<Environment, 'limits'>, plan: Plan): PlanDifference {
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    cpus: round(plan.cpus - env.limits.cpus), memoryMb: plan.memoryMb - env.limits.memoryMb,
    diskMb: plan.diskMb - env.limits.diskMb, pids: plan.pids - env.limits.pids,
  };
}

export function planChoice(env: Pick<Environment, 'limits'>, plan: Plan): PlanChoice {
  const difference = planDifference(env, plan);
  return { plan, difference, diskChanges: difference.diskMb !== 0 };
}

/**
 * The plans an environment may move to from the panel: for an admin every other plan, for
 * its customer the plans marked selectable, and none while the customer's self-service is off.
 */
export function planChoices(ctx: Context, env: Environment, audience: 'admin' | 'customer') {
  const customer = ctx.repos.customers.get(env.customerId);
  const suspended = audience === 'customer' && customer?.status === 'suspended';
  const allowed = audience === 'admin' || (customer?.selfService === true && !suspended);
  const plans = allowed
    ? ctx.repos.plans.page('', MAX_PLANS).filter((p) => p.id !== env.planId && (audience === 'admin' || p.selectable))
    : [];
  return {
    current: ctx.repos.plans.get(env.planId) ?? null,
    selfService: allowed,
    suspended,
    choices: plans.sort((a, b) => a.cpus - b.cpus || a.memoryMb - b.memoryMb || a.name.localeCompare(b.name)).map((p) => planChoice(env, p)),
  };
}
