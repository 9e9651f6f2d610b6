import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { finalSync, firstCopy, type Change, type Stat } from '../../server/domain/move-sync.js';
import { baselineFinalSync, baselineFirstCopy } from '../../bench/move-sync-baseline.js';
import { moveWorkload } from '../../bench/move-sync-workload.js';

/** Planning a move is near-linear: the planner once froze the event loop for 7 s on 40k changed files. */
describe('move planning speed', () => {
  // A bound on growth, not on seconds (the machine is shared and noisy; `npm run bench:move-sync`
  // prints the times): 8 times the files may take 8-10 times as long, and a quadratic planner 64.
  it('grows near-linearly: 100k changed files take well under 24 times as long as 12.5k', () => {
    const best = (files: number, check?: (plan: ReturnType<typeof firstCopy>, last: ReturnType<typeof finalSync>) => void) => {
      const { first, now } = moveWorkload(files);
      let fastest = Infinity;
      for (let run = 0; run < 2; run++) {
        const started = performance.now();
        const plan = firstCopy(first.changes);
        const last = finalSync({ changes: first.changes, stats: first.stats }, now);
        fastest = Math.min(fastest, performance.now() - started);
        check?.(plan, last);
      }
      return fastest;
    };
    const small = best(12_500);
    const large = best(100_000, (plan, last) => {
      // The plan is real: the edited template files are copied one by one, the data tree whole.
      expect(plan.copy.length).toBeGreaterThan(50_000);
      expect(plan.copy).toContain('/srv/data');
      expect(plan.remove.length).toBeGreaterThan(5_000);
      expect(last.copy.length).toBeGreaterThan(5_000);
    });
    expect(large / small, `12.5k: ${small.toFixed(0)} ms, 100k: ${large.toFixed(0)} ms`).toBeLessThan(24);
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
