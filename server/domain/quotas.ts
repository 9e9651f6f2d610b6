import type { CustomerLimits, Limits } from './types.js';
import { QuotaExceededError } from '../lib/errors.js';

export interface Usage {
  environments: number;
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

/** Throws when adding `extra` to the customer's current usage would pass one of their limits. */
export function checkCustomerLimits(limits: CustomerLimits, usage: Usage, extra: Limits, opts: { adding?: boolean } = {}): void {
  const adding = opts.adding ?? true;
  const checks: [keyof CustomerLimits, number, number, string][] = [
    ['environments', usage.environments, adding ? 1 : 0, 'environments'],
    ['cpus', usage.cpus, extra.cpus, 'CPUs'],
    ['memoryMb', usage.memoryMb, extra.memoryMb, 'MiB of memory'],
    ['diskMb', usage.diskMb, extra.diskMb, 'MiB of disk'],
  ];
  for (const [key, used, more, unit] of checks) {
    const limit = limits[key];
    if (limit === null || more <= 0) continue;
    if (used + more > limit + 1e-9) {
      throw new QuotaExceededError(`the customer's limit of ${limit} ${unit} would be exceeded (${round(used)} in use, ${round(more)} more asked)`,
        { limit: key, allowed: limit, used: round(used), requested: round(more) });
    }
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
