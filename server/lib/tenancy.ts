import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whom work on a node is done for, so a node's connections are shared fairly between
 * customers (see docker/node-gate.ts). Set where the panel starts work for a customer (a
 * read of their environment, the run of their operation) and read at the one door to the
 * nodes; work started by nobody in particular (the panel's own loops) has no tenancy.
 */
export interface Tenancy {
  /** `customer:<id>`, or `panel` for the panel's own work. */
  tenant: string;
  /** Work nobody is waiting on (operations) may queue longer than a person's read. */
  patient: boolean;
}

const current = new AsyncLocalStorage<Tenancy>();

/** Runs `work` (and everything it awaits) on behalf of the tenancy. */
export function onBehalfOf<T>(tenancy: Tenancy, work: () => T): T {
  return current.run(tenancy, work);
}

export function currentTenancy(): Tenancy | undefined {
  return current.getStore();
}

/** The tenant of a customer's work; the panel's own work is `panel`. */
export function customerTenant(customerId: string | null): string {
  return customerId === null ? 'panel' : `customer:${customerId}`;
}
