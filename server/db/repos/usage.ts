import type { Db } from '../connection.js';

/** One environment's usage over one interval; `at` is the interval's start in unix seconds. */
export interface UsageSample {
  environmentId: string;
  at: number;
  cpuPercent: number;
  memoryMb: number;
  netRxBytes: number;
  netTxBytes: number;
}

interface UsageRow { at: number; cpu_percent: number; memory_mb: number; net_rx_bytes: number; net_tx_bytes: number }

/** Usage history, sampled per environment and interval and kept for about a day. */
export function usageRepo(db: Db) {
  const q = {
    // A second read in the same interval (a manual pass) keeps the latest CPU and memory and adds the traffic.
    insert: db.prepare(`INSERT INTO usage_samples (environment_id, at, cpu_percent, memory_mb, net_rx_bytes, net_tx_bytes)
      VALUES (@environmentId, @at, @cpuPercent, @memoryMb, @netRxBytes, @netTxBytes)
      ON CONFLICT (environment_id, at) DO UPDATE SET cpu_percent = excluded.cpu_percent, memory_mb = excluded.memory_mb,
      net_rx_bytes = net_rx_bytes + excluded.net_rx_bytes, net_tx_bytes = net_tx_bytes + excluded.net_tx_bytes`),
    series: db.prepare(`SELECT at, cpu_percent, memory_mb, net_rx_bytes, net_tx_bytes FROM usage_samples
      WHERE environment_id = ? AND at >= ? AND at <= ? ORDER BY at`),
    purge: db.prepare('DELETE FROM usage_samples WHERE at < ?'),
    latest: db.prepare(`SELECT at, cpu_percent, memory_mb, net_rx_bytes, net_tx_bytes FROM usage_samples
      WHERE environment_id = ? AND at >= ? ORDER BY at DESC LIMIT 1`),
  };
  const insertAll = db.transaction((samples: readonly UsageSample[]) => {
    for (const s of samples) q.insert.run(s);
  });

  return {
    /** Records a pass's samples in one transaction. */
    insertMany(samples: readonly UsageSample[]): void {
      if (samples.length > 0) insertAll(samples);
    },
    /** An environment's samples with `sinceSec <= at <= untilSec`, oldest first. */
    series(environmentId: string, sinceSec: number, untilSec: number): UsageSample[] {
      return (q.series.all(environmentId, sinceSec, untilSec) as UsageRow[]).map((r) => ({
        environmentId, at: r.at, cpuPercent: r.cpu_percent, memoryMb: r.memory_mb, netRxBytes: r.net_rx_bytes, netTxBytes: r.net_tx_bytes,
      }));
    },
    /** An environment's newest sample taken at or after `sinceSec`, if any. */
    latest(environmentId: string, sinceSec: number): UsageSample | undefined {
      const r = q.latest.get(environmentId, sinceSec) as UsageRow | undefined;
      return r && { environmentId, at: r.at, cpuPercent: r.cpu_percent, memoryMb: r.memory_mb, netRxBytes: r.net_rx_bytes, netTxBytes: r.net_tx_bytes };
    },
    /** Deletes samples older than `sec`; returns how many went. */
    purgeBefore(sec: number): number {
      return q.purge.run(sec).changes;
    },
  };
}
export type UsageRepo = ReturnType<typeof usageRepo>;
