import type { Customer, Plan } from './types.js';

/**
 * Why a customer may not move their own environment to `plan` (or, without a plan, to any
 * plan), or null when they may: self-service must be on, the account not suspended, and the
 * plan marked selectable. An admin is never asked.
 */
export function selfServiceRefusal(customer: Pick<Customer, 'selfService' | 'status'> | undefined, plan?: Pick<Plan, 'name' | 'selectable'>): string | null {
  if (!customer?.selfService) return 'plan changes for this account are made by your host; ask them to change the plan';
  if (customer.status === 'suspended') return 'the account is suspended; its plans can change again once it is resumed';
  if (plan && !plan.selectable) return `plan ${plan.name} cannot be chosen here; ask your host for it`;
  return null;
}
