import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';

type Labels = (u: null, splits: (number | null)[], axisIdx: number, space: number, incr: number) => string[];
interface ChartAxis {
  range(u: null, min: number | null, max: number | null): [number, number];
  decimalsFor(step: number): number;
  numberLabels(digits: number): Labels;
  formatBytes(n: number | null): string;
  byteLabels: Labels;
  WHOLE_STEPS: number[];
}

/** The browser script exactly as the page loads it, run against a bare `window`. */
function loadChartAxis(): ChartAxis {
  const window: { KuraChartAxis?: ChartAxis } = {};
  vm.runInNewContext(fs.readFileSync(path.join(ROOT, 'public/js/chart-axis.js'), 'utf8'), { window });
  return window.KuraChartAxis!;
}

const axis = loadChartAxis();
/** The ticks uPlot lays from 0 to `max`, `incr` apart (it rounds each to the step's decimals). */
const ticks = (max: number, incr: number) =>
  Array.from({ length: Math.floor(max / incr + 1e-9) + 1 }, (_, i) => Number((i * incr).toFixed(axis.decimalsFor(incr))));
const numberLabels = (splits: number[], incr: number) => axis.numberLabels(1)(null, splits, 1, 30, incr);

describe('usage chart axes', () => {
  it('give an all-zero series a 0..1 axis whose tick labels all differ', () => {
    expect(axis.range(null, 0, 0)).toEqual([0, 1]);
    expect(axis.range(null, null, null)).toEqual([0, 1]);
    // Whichever step uPlot picks for 0..1 in the chart's height.
    for (const incr of [0.1, 0.2, 0.25, 0.5, 1]) {
      const labels = numberLabels(ticks(1, incr), incr);
      expect(new Set(labels).size, labels.join(' ')).toBe(labels.length);
    }
    expect(numberLabels([0, 0.25, 0.5, 0.75, 1], 0.25)).toEqual(['0.00', '0.25', '0.50', '0.75', '1.00']);
  });

  it('label a near-idle CPU chart with as many decimals as its ticks need, not 0.0 everywhere', () => {
    expect(axis.range(null, 0, 0.04)[1]).toBeCloseTo(0.044);
    expect(numberLabels([0, 0.01, 0.02, 0.03, 0.04], 0.01)).toEqual(['0.00', '0.01', '0.02', '0.03', '0.04']);
    expect(numberLabels([0, 0.002, 0.004], 0.002)).toEqual(['0.000', '0.002', '0.004']);
  });

  it('label other series as before: one decimal, ten percent of headroom', () => {
    const [from, to] = axis.range(null, 0, 50);
    expect(from).toBe(0);
    expect(to).toBeCloseTo(55);
    expect(numberLabels([0, 10, 20, 30, 40, 50], 10)).toEqual(['0.0', '10.0', '20.0', '30.0', '40.0', '50.0']);
    expect(numberLabels([0, 0.5, 1, 1.5], 0.5)).toEqual(['0.0', '0.5', '1.0', '1.5']);
    expect(numberLabels([0, 100, 200], 100)).toEqual(['0.0', '100.0', '200.0']);
  });

  it('work out the step from the ticks when uPlot gives none, and leave gaps empty', () => {
    expect(axis.numberLabels(1)(null, [0.1, 0.2, 0.30000000000000004], 1, 30, 0)).toEqual(['0.1', '0.2', '0.3']);
    expect(axis.numberLabels(1)(null, [0, 0.05, null], 1, 30, 0)).toEqual(['0.00', '0.05', '']);
  });

  it('step byte axes by whole bytes only, so an idle network chart reads 0 B, 1 B', () => {
    expect(axis.WHOLE_STEPS.every((s) => Number.isInteger(s) && s >= 1)).toBe(true);
    expect(axis.WHOLE_STEPS.slice(0, 7)).toEqual([1, 2, 5, 10, 20, 25, 50]);
    // Up to far more than a minute of any link's traffic.
    expect(Math.max(...axis.WHOLE_STEPS)).toBeGreaterThanOrEqual(1e15);
    expect(axis.byteLabels(null, [0, 1], 1, 30, 1)).toEqual(['0 B', '1 B']);
  });

  it('format bytes as before', () => {
    expect(axis.byteLabels(null, [0, 512, 1536, 20480, 5 * 1048576, null], 1, 30, 1))
      .toEqual(['0 B', '512 B', '1.5 KiB', '20 KiB', '5.0 MiB', '']);
    expect(axis.formatBytes(null)).toBe('\u2014');
    expect(axis.formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
  });
});
