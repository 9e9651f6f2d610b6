/**
 * How long a move takes to plan what it copies, by the number of changed files: the first
 * copy and the final sync, for 10k, 50k and 200k files. The planner before it became
 * near-linear (bench/move-sync-baseline.ts) is the baseline in the same run, on 10k and 40k
 * files (40k froze a panel's event loop for 7 s), and must plan the same.
 * Run: npm run bench:move-sync
 */
import { isDeepStrictEqual } from 'node:util';
import { finalSync, firstCopy } from '../server/domain/move-sync.js';
import { baselineFinalSync, baselineFirstCopy } from './move-sync-baseline.js';
import { moveWorkload } from './move-sync-workload.js';

type Planner = { first: typeof firstCopy; final: typeof finalSync };
const current: Planner = { first: firstCopy, final: finalSync };
const baseline: Planner = { first: baselineFirstCopy, final: baselineFinalSync };

/** Milliseconds for the first copy and the final sync: the best of `runs`, as the machine is shared. */
function time(planner: Planner, files: number, runs: number) {
  const { first, now } = moveWorkload(files);
  let best = { first: Infinity, final: Infinity };
  let plans: unknown;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const a = planner.first(first.changes);
    const t1 = performance.now();
    const b = planner.final(first, now);
    const t2 = performance.now();
    best = { first: Math.min(best.first, t1 - t0), final: Math.min(best.final, t2 - t1) };
    plans = [a, b];
  }
  return { ...best, total: best.first + best.final, plans };
}

const row = (who: string, files: number, t: { first: number; final: number; total: number }) =>
  console.log(`${who.padEnd(9)} ${String(files).padStart(7)} files: first copy ${t.first.toFixed(0).padStart(6)} ms, final sync ${t.final.toFixed(0).padStart(6)} ms, total ${t.total.toFixed(0).padStart(6)} ms`);

console.log('move planning (best of 3; baseline once on 40k)');
const figures = new Map<number, ReturnType<typeof time>>();
for (const files of [10_000, 40_000, 50_000, 200_000]) {
  const t = time(current, files, 3);
  figures.set(files, t);
  row('now', files, t);
}
for (const [files, runs] of [[10_000, 3], [40_000, 1]] as const) {
  const t = time(baseline, files, runs);
  row('baseline', files, t);
  if (!isDeepStrictEqual(t.plans, figures.get(files)!.plans)) throw new Error(`the planners disagree on ${files} files`);
  console.log(`          ${files} files: ${(t.total / figures.get(files)!.total).toFixed(0)}x faster now, same plan`);
}
