/*
 * The usage charts' y axes: their range and tick labels. Pure functions apart from the
 * drawing in usage-chart.js, so unit tests can load this file as it is (window.KuraChartAxis).
 * Plain ES2019, no build step, no inline code.
 */
(function (root) {
  'use strict';

  /**
   * From zero to a little above the highest value. A series with nothing above zero
   * (idle, or no samples yet) gets 0..1, so its ticks still differ.
   */
  function range(u, min, max) {
    return [0, max > 0 ? max * 1.1 : 1];
  }

  /** How many decimals tell ticks `step` apart: 0.25 needs 2, 0.5 needs 1, 20 needs none. */
  function decimalsFor(step) {
    if (!(step > 0) || !isFinite(step)) return 0;
    for (var d = 0; d < 12; d++) {
      var scaled = step * Math.pow(10, d);
      if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
    }
    return 12;
  }

  /** The distance between ticks, when uPlot does not pass it. */
  function stepOf(splits) {
    for (var i = 1; i < splits.length; i++) {
      if (splits[i] !== null && splits[i - 1] !== null) return splits[i] - splits[i - 1];
    }
    return 0;
  }

  /**
   * Tick labels with at least `digits` decimals, and more when the ticks are closer than
   * that: a near-idle CPU chart (0 to 0.04 %) would otherwise label every tick 0.0.
   * The arguments are those of uPlot's axis `values`.
   */
  function numberLabels(digits) {
    return function (u, splits, axisIdx, space, incr) {
      var d = Math.max(digits, decimalsFor(incr > 0 ? incr : stepOf(splits)));
      return splits.map(function (v) { return v === null || v === undefined ? '' : v.toFixed(d); });
    };
  }

  function formatBytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\u2014';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    var v = Math.abs(n);
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (n < 0 ? '-' : '') + (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
  }

  function byteLabels(u, splits) {
    return splits.map(function (v) { return v === null || v === undefined ? '' : formatBytes(v); });
  }

  /**
   * Tick steps for byte axes: uPlot's usual 1, 2, 2.5, 5 series without the fractions,
   * since a fraction of a byte would be labelled as a whole one (0 B, 1 B, 1 B).
   */
  var WHOLE_STEPS = (function () {
    var steps = [];
    for (var mag = 1; mag <= 1e18; mag *= 10) {
      [1, 2, 2.5, 5].forEach(function (m) {
        if (Number.isInteger(m * mag)) steps.push(m * mag);
      });
    }
    return steps;
  })();

  root.KuraChartAxis = {
    range: range,
    decimalsFor: decimalsFor,
    numberLabels: numberLabels,
    formatBytes: formatBytes,
    byteLabels: byteLabels,
    WHOLE_STEPS: WHOLE_STEPS,
  };
})(window);
