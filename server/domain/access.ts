import type { Principal } from './types.js';

/** Whether the caller may see what belongs to this customer: the admin sees everything, a customer only their own. */
export function maySee(who: Principal, customerId: string | null): boolean {
  return who.kind === 'admin' || customerId === who.customerId;
}
