import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { finalSync, firstCopy, type Change, type Stat } from '../../server/domain/move-sync.js';
import { baselineFinalSync, baselineFirstCopy } from '../../bench/move-sync-baseline.js';
import { moveWorkload } from '../../bench/move-sync-workload.js';

/** Planning a move is near-linear: the planner once froze the event loop for 7 s on 40k changed files. */
describe('move planning speed', () => {
  it('plans the first copy and the final sync of 200k changed files well under 1.5 s', () => {
    const { first, now } = moveWorkload(200_000);
    // The best of three runs: the machine is shared, and a neighbour's burst is not the planner's time.
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      const plan = firstCopy(first.changes);
      const last = finalSync({ changes: first.changes, stats: first.stats }, now);
      times.push(performance.now() - started);
      // The plan is real: 120k edited template files are copied one by one, the data tree whole.
      expect(plan.copy.length).toBe(120_000 + 1);
      expect(plan.copy).toContain('/srv/data');
      expect(plan.remove.length).toBe(20_000);
      expect(last.copy.length).toBeGreaterThan(10_000);
      expect(last.remove.length).toBeGreaterThan(20_000);
    }
    expect(Math.min(...times)).toBeLessThan(1500);
  });

  it('plans exactly what the earlier (quadratic) planner planned, on random change lists', () => {
    // Few names, so paths collide, nest, repeat and sort around '-' and '/' as real ones do.
    const path = fc.array(fc.constantFrom('a', 'b', 'a-b', 'c.d', 'x'), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    const change = fc.record({ path, kind: fc.constantFrom<Change['kind']>('changed', 'added', 'deleted') });
    const stat = fc.option(fc.record({ size: fc.integer({ min: 0, max: 3 }), mode: fc.constantFrom(0o644, 2 ** 31 + 0o755), mtime: fc.constantFrom('t1', 't2') }),
      { nil: null });
    const snapshot = fc.record({ changes: fc.array(change, { maxLength: 30 }), stats: fc.array(fc.tuple(path, stat), { maxLength: 30 }) })
      .map((s) => ({ changes: s.changes, stats: new Map<string, Stat | null>(s.stats) }));
    fc.assert(fc.property(snapshot, snapshot, (first, now) => {
      expect(firstCopy(first.changes)).toEqual(baselineFirstCopy(first.changes));
      expect(finalSync(first, now)).toEqual(baselineFinalSync(first, now));
    }), { numRuns: 3000, seed: 20261130 });
  });
});
