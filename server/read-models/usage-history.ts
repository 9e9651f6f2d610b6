import type { Environment } from '../domain/types.js';
import { bucketStart } from '../domain/usage.js';
import type { Context } from '../core/context.js';

export interface UsageHistory {
  intervalSeconds: number;
  points: { at: string; cpuPercent: number; memoryMb: number; netRxBytes: number; netTxBytes: number }[];
}

/** An environment's sampled usage over the last `hours` hours, oldest first (the caller has authorized it). */
export function usageHistory(ctx: Context, env: Environment, hours: number): UsageHistory {
  const interval = ctx.config.usageIntervalSeconds;
  const nowSec = Math.floor(Date.now() / 1000);
  // Whole intervals: the window starts at an interval boundary, so a refresh never drops half of the oldest one.
  const since = bucketStart(nowSec - hours * 3600, interval);
  const points = ctx.repos.usage.series(env.id, since, nowSec).map((s) => ({
    at: new Date(s.at * 1000).toISOString(), cpuPercent: s.cpuPercent, memoryMb: s.memoryMb, netRxBytes: s.netRxBytes, netTxBytes: s.netTxBytes,
  }));
  return { intervalSeconds: interval, points };
}

/** The newest sample of each environment, if one was taken in the last three intervals: the lists' "usage now". */
export function latestUsage(ctx: Context, environmentIds: readonly string[]): Map<string, { cpuPercent: number; memoryMb: number }> {
  const since = Math.floor(Date.now() / 1000) - 3 * ctx.config.usageIntervalSeconds;
  const out = new Map<string, { cpuPercent: number; memoryMb: number }>();
  for (const id of environmentIds) {
    const s = ctx.repos.usage.latest(id, since);
    if (s) out.set(id, { cpuPercent: Math.round(s.cpuPercent * 10) / 10, memoryMb: Math.round(s.memoryMb) });
  }
  return out;
}
