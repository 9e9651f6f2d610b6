import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connection.js';
import { migrate, readMigrations } from '../../server/db/migrate.js';
import { usageRepo } from '../../server/db/repos/usage.js';
import { readUsageCounters } from '../../server/docker/stats.js';
import { bucketStart, usagePoint, type Reading, type UsageCounters } from '../../server/domain/usage.js';
import { ROOT } from '../../server/config.js';

const MIB = 1024 * 1024;
const SEC = 1e9;

/** What Docker 20.10 answers to GET /containers/{id}/stats?stream=false&one-shot=true (cgroup v1), trimmed. */
function oneShot(o: { cpuNs: number; systemNs: number; rx: number; tx: number; usage?: number; read?: string; precpu?: { cpuNs: number; systemNs: number } }) {
  return {
    read: o.read ?? '2025-01-01T00:00:00.000000000Z',
    preread: '0001-01-01T00:00:00Z',
    cpu_stats: { cpu_usage: { total_usage: o.cpuNs, percpu_usage: [o.cpuNs / 2, o.cpuNs / 2] }, system_cpu_usage: o.systemNs, online_cpus: 2 },
    precpu_stats: o.precpu
      ? { cpu_usage: { total_usage: o.precpu.cpuNs }, system_cpu_usage: o.precpu.systemNs }
      : { cpu_usage: { total_usage: 0 }, throttling_data: {} },
    memory_stats: { usage: o.usage ?? 40 * MIB, limit: 128 * MIB, stats: { total_inactive_file: 8 * MIB } },
    networks: { eth0: { rx_bytes: o.rx, tx_bytes: o.tx }, eth1: { rx_bytes: 100, tx_bytes: 10 } },
  };
}

const reading = (counters: UsageCounters, takenAtMs: number, containerId = 'c1'): Reading => ({ containerId, counters, takenAtMs });
const MAX_GAP = 125_000;

describe('usage counters from a one-shot stats read', () => {
  it('keeps the cumulative CPU, memory without page cache and summed network counters', () => {
    const c = readUsageCounters(oneShot({ cpuNs: 5 * SEC, systemNs: 1000 * SEC, rx: 5000, tx: 700 }));
    expect(c.cpu).toEqual({ totalNs: 5 * SEC, systemNs: 1000 * SEC });
    expect(c.precpu).toBeNull();
    expect(c.onlineCpus).toBe(2);
    expect(c.memoryMb).toBe(32);
    expect(c.netRxBytes).toBe(5100);
    expect(c.netTxBytes).toBe(710);
    expect(c.readAtMs).toBe(Date.parse('2025-01-01T00:00:00Z'));
  });

  it('survives an empty answer (a container that just stopped)', () => {
    const c = readUsageCounters({ read: '0001-01-01T00:00:00Z' });
    expect(c).toMatchObject({ cpu: { totalNs: 0, systemNs: 0 }, precpu: null, onlineCpus: 1, memoryMb: 0, netRxBytes: 0, netTxBytes: 0, readAtMs: null });
  });
});

describe('usage over an interval from two reads', () => {
  // Two cores: the host's CPU time grows 2 s per wall-clock second.
  const t0 = readUsageCounters(oneShot({ cpuNs: 10 * SEC, systemNs: 1000 * SEC, rx: 1000, tx: 100, read: '2025-01-01T00:00:00Z' }));
  const t60 = readUsageCounters(oneShot({ cpuNs: 40 * SEC, systemNs: 1120 * SEC, rx: 61_000, tx: 3100, read: '2025-01-01T00:01:00Z' }));

  it('gives CPU as percent of one core and the traffic of the interval', () => {
    // 30 s of CPU in 60 s of wall clock: half a core.
    const p = usagePoint(reading(t0, 0), reading(t60, 60_000), MAX_GAP);
    expect(p).toEqual({ cpuPercent: 50, memoryMb: 32, netRxBytes: 60_000, netTxBytes: 3000 });
  });

  it('reports 200% for two busy cores', () => {
    const busy = readUsageCounters(oneShot({ cpuNs: 130 * SEC, systemNs: 1120 * SEC, rx: 1000, tx: 100 }));
    expect(usagePoint(reading(t0, 0), reading(busy, 60_000), MAX_GAP).cpuPercent).toBe(200);
  });

  it('falls back to wall-clock time when Docker gives no host CPU figure', () => {
    const a = { ...t0, cpu: { totalNs: 10 * SEC, systemNs: 0 } };
    const b = { ...t60, cpu: { totalNs: 25 * SEC, systemNs: 0 } };
    expect(usagePoint(reading(a, 0), reading(b, 60_000), MAX_GAP).cpuPercent).toBe(25);
  });

  it('counts a counter that went down (a restart) as 0, not as a huge or negative figure', () => {
    const restarted = readUsageCounters(oneShot({ cpuNs: 1 * SEC, systemNs: 1120 * SEC, rx: 50, tx: 5 }));
    expect(usagePoint(reading(t60, 0), reading(restarted, 60_000), MAX_GAP)).toEqual({ cpuPercent: 0, memoryMb: 32, netRxBytes: 0, netTxBytes: 0 });
  });

  it('records memory and 0 CPU and traffic for a first read, another container or a long gap', () => {
    const first = { cpuPercent: 0, memoryMb: 32, netRxBytes: 0, netTxBytes: 0 };
    expect(usagePoint(undefined, reading(t60, 60_000), MAX_GAP)).toEqual(first);
    expect(usagePoint(reading(t0, 0, 'old'), reading(t60, 60_000, 'new'), MAX_GAP)).toEqual(first);
    expect(usagePoint(reading(t0, 0), reading(t60, 600_000), MAX_GAP)).toEqual(first);
  });

  it("uses Docker's own previous read for a first sample when it made one", () => {
    const withPre = readUsageCounters(oneShot({ cpuNs: 11 * SEC, systemNs: 1002 * SEC, rx: 0, tx: 0, precpu: { cpuNs: 10 * SEC, systemNs: 1000 * SEC } }));
    expect(withPre.precpu).toEqual({ totalNs: 10 * SEC, systemNs: 1000 * SEC });
    expect(usagePoint(undefined, reading(withPre, 0), MAX_GAP).cpuPercent).toBe(100);
  });

  it('buckets a sample to the start of its interval', () => {
    const sec = (iso: string) => Date.parse(iso) / 1000;
    expect(bucketStart(sec('2025-01-01T10:15:42Z'), 60)).toBe(sec('2025-01-01T10:15:00Z'));
    expect(bucketStart(sec('2025-01-01T10:15:00Z'), 60)).toBe(sec('2025-01-01T10:15:00Z'));
    expect(bucketStart(sec('2025-01-01T10:15:42Z'), 300)).toBe(sec('2025-01-01T10:15:00Z'));
    expect(bucketStart(sec('2025-01-01T10:14:59Z'), 300)).toBe(sec('2025-01-01T10:10:00Z'));
  });
});

describe('usage repository', () => {
  const open = () => {
    const db = openDatabase(':memory:');
    migrate(db, readMigrations(path.join(ROOT, 'migrations')));
    return usageRepo(db);
  };
  const sample = (environmentId: string, at: number, cpuPercent = 1) =>
    ({ environmentId, at, cpuPercent, memoryMb: 10.5, netRxBytes: 1000, netTxBytes: 20 });

  it("returns one environment's samples in the window, oldest first", () => {
    const usage = open();
    usage.insertMany([sample('env_a', 180, 3), sample('env_a', 60, 1), sample('env_b', 120), sample('env_a', 120, 2), sample('env_a', 240, 4)]);
    const s = usage.series('env_a', 60, 180);
    expect(s.map((p) => p.at)).toEqual([60, 120, 180]);
    expect(s.map((p) => p.cpuPercent)).toEqual([1, 2, 3]);
    expect(s[0]).toEqual({ environmentId: 'env_a', at: 60, cpuPercent: 1, memoryMb: 10.5, netRxBytes: 1000, netTxBytes: 20 });
    expect(usage.series('env_c', 0, 1e12)).toEqual([]);
  });

  it('keeps the latest CPU and memory and adds the traffic when an interval is sampled twice', () => {
    const usage = open();
    usage.insertMany([sample('env_a', 60, 1)]);
    usage.insertMany([{ ...sample('env_a', 60, 7), memoryMb: 12 }]);
    expect(usage.series('env_a', 0, 100)).toEqual([{ environmentId: 'env_a', at: 60, cpuPercent: 7, memoryMb: 12, netRxBytes: 2000, netTxBytes: 40 }]);
  });

  it('writes a batch in one transaction: a bad row leaves none of the batch', () => {
    const usage = open();
    const bad = { ...sample('env_a', 120), cpuPercent: null as unknown as number };
    expect(() => usage.insertMany([sample('env_a', 60), bad])).toThrow(/NOT NULL/);
    expect(usage.series('env_a', 0, 1000)).toEqual([]);
  });

  it('purges samples older than the cut-off and keeps the rest', () => {
    const usage = open();
    usage.insertMany([sample('env_a', 60), sample('env_a', 120), sample('env_b', 60), sample('env_b', 180)]);
    expect(usage.purgeBefore(120)).toBe(2);
    expect(usage.series('env_a', 0, 1000).map((p) => p.at)).toEqual([120]);
    expect(usage.series('env_b', 0, 1000).map((p) => p.at)).toEqual([180]);
  });
});
