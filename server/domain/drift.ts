import type { Drift, Limits } from './types.js';

const MIB = 1048576;

export interface ActualLimits {
  NanoCpus: number;
  Memory: number;
  MemorySwap: number;
  PidsLimit: number;
}

/** The differences between the plan's limits and a container's live HostConfig, in plan units. */
export function limitDifferences(expected: Limits, actual: ActualLimits): Drift['differences'] {
  const diffs: Drift['differences'] = [];
  const check = (field: string, want: number, got: number) => {
    if (Math.abs(want - got) > 1e-6) diffs.push({ field, expected: want, actual: got });
  };
  // Compared in Docker's own unit: a plan may give any fraction of a CPU, and rounding the
  // container's figure first would call a 0.3333-CPU plan drifted on every reconcile.
  if (Math.round(expected.cpus * 1e9) !== actual.NanoCpus) diffs.push({ field: 'cpus', expected: expected.cpus, actual: actual.NanoCpus / 1e9 });
  check('memoryMb', expected.memoryMb, round(actual.Memory / MIB));
  // Docker reports -1 for unlimited swap; with swap accounting off it echoes what was asked.
  check('swapMb', expected.swapMb, actual.MemorySwap < 0 ? -1 : round((actual.MemorySwap - actual.Memory) / MIB));
  check('pids', expected.pids, actual.PidsLimit ?? 0);
  return diffs;
}

export function describeDifferences(diffs: Drift['differences']): string {
  return diffs.map((d) => `${d.field}: ${String(d.expected)} expected, ${String(d.actual)} found`).join('; ');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
