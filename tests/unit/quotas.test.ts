import { describe, expect, it } from 'vitest';
import { checkCustomerLimits } from '../../server/domain/quotas.js';
import { QuotaExceededError } from '../../server/lib/errors.js';

const plan = { cpus: 1, memoryMb: 512, swapMb: 0, diskMb: 1024, pids: 64, nofile: 4096 };
const none = { environments: null, cpus: null, memoryMb: null, diskMb: null };

describe('customer limits', () => {
  it('allows anything without limits', () => {
    expect(() => checkCustomerLimits(none, { environments: 100, cpus: 100, memoryMb: 1e6, diskMb: 1e6 }, plan)).not.toThrow();
  });
  it('allows reaching a limit exactly and refuses passing it', () => {
    const limits = { ...none, environments: 3 };
    expect(() => checkCustomerLimits(limits, { environments: 2, cpus: 0, memoryMb: 0, diskMb: 0 }, plan)).not.toThrow();
    expect(() => checkCustomerLimits(limits, { environments: 3, cpus: 0, memoryMb: 0, diskMb: 0 }, plan)).toThrow(QuotaExceededError);
  });
  it('names the limit that was hit', () => {
    try {
      checkCustomerLimits({ ...none, memoryMb: 1000 }, { environments: 1, cpus: 1, memoryMb: 600, diskMb: 0 }, plan);
      expect.unreachable();
    } catch (err) {
      expect((err as QuotaExceededError).details).toMatchObject({ limit: 'memoryMb', allowed: 1000, used: 600, requested: 512 });
    }
  });
  it('lets a resize shrink even when the customer is over a limit', () => {
    expect(() => checkCustomerLimits({ ...none, cpus: 1 }, { environments: 1, cpus: 2, memoryMb: 0, diskMb: 0 },
      { ...plan, cpus: -1, memoryMb: 0, diskMb: 0 }, { adding: false })).not.toThrow();
  });
});
