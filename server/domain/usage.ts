/**
 * Usage history: turns two cumulative reads of one container into the figures of the
 * interval between them. Pure: the sampler keeps the reads, this only does the arithmetic.
 */

/** Docker's cumulative CPU counters at one moment, in nanoseconds. */
export interface CpuCounters {
  /** CPU time the container has used since it started. */
  totalNs: number;
  /** CPU time of the whole host (all cores) since boot; 0 when Docker did not report it. */
  systemNs: number;
}

/** One stats read as running totals (docker/stats.ts makes it), so usage over an interval is a difference. */
export interface UsageCounters {
  cpu: CpuCounters;
  /** Docker's own previous read, present only when it sampled twice (not in a one-shot read). */
  precpu: CpuCounters | null;
  onlineCpus: number;
  /** Memory in use now (not cumulative), without the reclaimable page cache. */
  memoryMb: number;
  netRxBytes: number;
  netTxBytes: number;
  /** When Docker took the read (ms since the epoch), or null when it did not say. */
  readAtMs: number | null;
}

/** One read of one container as the sampler keeps it until the next pass. */
export interface Reading {
  containerId: string;
  counters: UsageCounters;
  /** When the panel took it (ms since the epoch). */
  takenAtMs: number;
}

export interface UsagePoint {
  cpuPercent: number;
  memoryMb: number;
  netRxBytes: number;
  netTxBytes: number;
}

/**
 * The figures for the interval that ends with `current`. CPU is a percent of one core
 * (200 = two cores busy), as the live stats report it. Without a usable previous read
 * (first sample, another container, or a gap of more than `maxGapMs`), CPU comes from
 * Docker's own previous read when it made one, else 0, and no network traffic is counted.
 * A counter that went down (the container restarted) counts as 0 for that interval.
 */
export function usagePoint(previous: Reading | undefined, current: Reading, maxGapMs: number): UsagePoint {
  const cur = current.counters;
  const usable = previous !== undefined && previous.containerId === current.containerId
    && current.takenAtMs - previous.takenAtMs <= maxGapMs && current.takenAtMs > previous.takenAtMs;
  if (!usable) {
    return {
      cpuPercent: cur.precpu ? cpuPercent(cur.precpu, cur.cpu, cur.onlineCpus, null) : 0,
      memoryMb: cur.memoryMb, netRxBytes: 0, netTxBytes: 0,
    };
  }
  const prev = previous.counters;
  const wallMs = prev.readAtMs !== null && cur.readAtMs !== null && cur.readAtMs > prev.readAtMs
    ? cur.readAtMs - prev.readAtMs : current.takenAtMs - previous.takenAtMs;
  return {
    cpuPercent: cpuPercent(prev.cpu, cur.cpu, cur.onlineCpus, wallMs),
    memoryMb: cur.memoryMb,
    netRxBytes: counterDelta(prev.netRxBytes, cur.netRxBytes),
    netTxBytes: counterDelta(prev.netTxBytes, cur.netTxBytes),
  };
}

/**
 * CPU used between two reads as a percent of one core: the container's share of the
 * host's CPU time times the host's cores, or, when Docker gave no host figure, its CPU
 * time over the wall-clock time between the reads.
 */
export function cpuPercent(before: CpuCounters, after: CpuCounters, onlineCpus: number, wallMs: number | null): number {
  const used = after.totalNs - before.totalNs;
  if (used <= 0) return 0;
  const system = after.systemNs - before.systemNs;
  let percent: number;
  if (before.systemNs > 0 && system > 0) percent = (used / system) * Math.max(1, onlineCpus) * 100;
  else if (wallMs !== null && wallMs > 0) percent = (used / (wallMs * 1e6)) * 100;
  else return 0;
  return Math.round(percent * 100) / 100;
}

/** Growth of a cumulative counter; one that went down was reset, and counts as 0. */
export function counterDelta(before: number, after: number): number {
  return after >= before ? after - before : 0;
}

/** The start of the interval `nowSec` falls in: the start of the minute for 60 s. */
export function bucketStart(nowSec: number, intervalSeconds: number): number {
  return Math.floor(nowSec / intervalSeconds) * intervalSeconds;
}
