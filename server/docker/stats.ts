import type { UsageCounters } from '../domain/usage.js';
import { MIB } from './container-spec.js';

export interface EnvironmentStats {
  cpuPercent: number;
  memoryMb: number;
  memoryLimitMb: number;
  pids: number;
  netRxBytes: number;
  netTxBytes: number;
  diskUsedMb: number | null;
  at: string;
}

interface RawStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/** Maps Docker's one-shot stats to the contract's figures (CPU as percent of one core). */
export function readStats(input: unknown, sizeRw: number | null): EnvironmentStats {
  const raw = (input ?? {}) as RawStats;
  const cpuDelta = (raw.cpu_stats?.cpu_usage?.total_usage ?? 0) - (raw.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (raw.cpu_stats?.system_cpu_usage ?? 0) - (raw.precpu_stats?.system_cpu_usage ?? 0);
  const cpuPercent = cpuDelta > 0 && sysDelta > 0 ? (cpuDelta / sysDelta) * onlineCpus(raw) * 100 : 0;
  const net = networkTotals(raw);
  return {
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    memoryMb: Math.round((memoryUsedBytes(raw) / MIB) * 100) / 100,
    memoryLimitMb: Math.round((raw.memory_stats?.limit ?? 0) / MIB),
    pids: raw.pids_stats?.current ?? 0,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
    diskUsedMb: sizeRw === null ? null : Math.round((sizeRw / MIB) * 100) / 100,
    at: raw.read && !raw.read.startsWith('0001') ? new Date(raw.read).toISOString() : new Date().toISOString(),
  };
}

/** Maps a one-shot stats read to cumulative counters; the usage sampler takes the differences. */
export function readUsageCounters(input: unknown): UsageCounters {
  const raw = (input ?? {}) as RawStats;
  const precpuTotal = raw.precpu_stats?.cpu_usage?.total_usage ?? 0;
  const precpuSystem = raw.precpu_stats?.system_cpu_usage ?? 0;
  const net = networkTotals(raw);
  const readAt = raw.read && !raw.read.startsWith('0001') ? Date.parse(raw.read) : NaN;
  return {
    cpu: { totalNs: raw.cpu_stats?.cpu_usage?.total_usage ?? 0, systemNs: raw.cpu_stats?.system_cpu_usage ?? 0 },
    precpu: precpuSystem > 0 ? { totalNs: precpuTotal, systemNs: precpuSystem } : null,
    onlineCpus: onlineCpus(raw),
    memoryMb: Math.round((memoryUsedBytes(raw) / MIB) * 100) / 100,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
    readAtMs: Number.isFinite(readAt) ? readAt : null,
  };
}

function onlineCpus(raw: RawStats): number {
  return raw.cpu_stats?.online_cpus || raw.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
}

/** The page cache is reclaimable, so "used" memory leaves it out, as `docker stats` does. */
function memoryUsedBytes(raw: RawStats): number {
  const cache = raw.memory_stats?.stats?.total_inactive_file ?? raw.memory_stats?.stats?.inactive_file ?? 0;
  return Math.max(0, (raw.memory_stats?.usage ?? 0) - cache);
}

function networkTotals(raw: RawStats): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(raw.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return { rx, tx };
}
