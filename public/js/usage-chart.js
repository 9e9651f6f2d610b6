/*
 * Usage history charts (CPU, memory, network) for every element with `data-usage-chart`.
 *
 *   <div data-usage-chart data-src="/panel/environments/ID/usage.json"
 *        data-label-cpu="CPU %" data-label-memory="Memory MiB" data-label-rx="Received"
 *        data-label-tx="Sent" data-empty="No samples yet"></div>
 *
 * Optional: data-label-network (title of the network chart, default "rx / tx"),
 * data-error (shown when the history cannot be loaded and nothing is drawn yet).
 * Needs uPlot (window.uPlot) and chart-axis.js (window.KuraChartAxis) loaded first.
 * Plain ES2019, no build step, no inline code.
 */
(function () {
  'use strict';

  var REFRESH_MS = 60000;
  var HEIGHT = 160;
  var COLORS = { cpu: '#2563eb', memory: '#16a34a', rx: '#0891b2', tx: '#d97706' };

  function attr(el, name, fallback) {
    var v = el.getAttribute(name);
    return v === null || v === '' ? fallback : v;
  }

  function formatNumber(digits) {
    return function (u, v) {
      return v === null || v === undefined ? '\u2014' : v.toFixed(digits);
    };
  }

  /** Width inside the element's padding, so the charts never make the page scroll sideways. */
  function contentWidth(el) {
    var style = window.getComputedStyle(el);
    var w = el.clientWidth - (parseFloat(style.paddingLeft) || 0) - (parseFloat(style.paddingRight) || 0);
    return Math.max(120, Math.floor(w));
  }

  /** uPlot columns; an interval without a sample becomes a gap instead of a line across it. */
  function columns(body) {
    var step = body.intervalSeconds > 0 ? body.intervalSeconds : 60;
    var cols = [[], [], [], [], []];
    var last = null;
    body.points.forEach(function (p) {
      var at = Math.floor(Date.parse(p.at) / 1000);
      if (!isFinite(at)) return;
      if (last !== null && at - last > step * 1.5) cols.forEach(function (c, i) { c.push(i === 0 ? last + step : null); });
      cols[0].push(at);
      cols[1].push(p.cpuPercent);
      cols[2].push(p.memoryMb);
      cols[3].push(p.netRxBytes);
      cols[4].push(p.netTxBytes);
      last = at;
    });
    return cols;
  }

  /** `yAxis` adds the y axis' tick labels (`values`) and, for bytes, its tick steps (`incrs`). */
  function chartOptions(title, width, series, yAxis) {
    return {
      title: title,
      width: width,
      height: HEIGHT,
      scales: { y: { range: window.KuraChartAxis.range } },
      axes: [{}, Object.assign({ size: 64 }, yAxis)],
      series: [{}].concat(series),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
  }

  function line(label, color, value) {
    return { label: label, stroke: color, width: 1.5, fill: color + '22', value: value, spanGaps: false };
  }

  function setup(el) {
    if (!window.uPlot || !window.KuraChartAxis) {
      window.console.error('usage-chart: uPlot or chart-axis.js is not loaded');
      return;
    }
    var labels = {
      cpu: attr(el, 'data-label-cpu', 'CPU %'),
      memory: attr(el, 'data-label-memory', 'Memory MiB'),
      rx: attr(el, 'data-label-rx', 'rx'),
      tx: attr(el, 'data-label-tx', 'tx'),
    };
    labels.network = attr(el, 'data-label-network', labels.rx + ' / ' + labels.tx);

    var message = document.createElement('p');
    message.className = 'usage-chart__message';
    message.setAttribute('role', 'status');
    var holders = [0, 1, 2].map(function () {
      var d = document.createElement('div');
      d.className = 'usage-chart__plot';
      return d;
    });
    while (el.firstChild) el.removeChild(el.firstChild);
    el.appendChild(message);
    holders.forEach(function (h) { el.appendChild(h); });

    var charts = null;
    var loading = false;
    var width = contentWidth(el);

    function showMessage(text) {
      message.textContent = text;
      message.hidden = text === '';
    }

    function destroyCharts() {
      if (charts) charts.forEach(function (c) { c.destroy(); });
      charts = null;
    }

    function draw(body) {
      var cols = columns(body);
      if (cols[0].length === 0) {
        destroyCharts();
        showMessage(attr(el, 'data-empty', ''));
        el.setAttribute('data-usage-state', 'empty');
        return;
      }
      showMessage('');
      el.setAttribute('data-usage-state', 'drawn');
      var data = [[cols[0], cols[1]], [cols[0], cols[2]], [cols[0], cols[3], cols[4]]];
      if (charts) {
        charts.forEach(function (c, i) { c.setData(data[i]); });
        return;
      }
      var U = window.uPlot;
      var axis = window.KuraChartAxis;
      var number1 = formatNumber(1);
      var numberAxis = { values: axis.numberLabels(1) };
      var bytes = function (u, v) { return axis.formatBytes(v); };
      var bytesAxis = { values: axis.byteLabels, incrs: axis.WHOLE_STEPS };
      charts = [
        new U(chartOptions(labels.cpu, width, [line(labels.cpu, COLORS.cpu, number1)], numberAxis), data[0], holders[0]),
        new U(chartOptions(labels.memory, width, [line(labels.memory, COLORS.memory, number1)], numberAxis), data[1], holders[1]),
        new U(chartOptions(labels.network, width, [line(labels.rx, COLORS.rx, bytes), line(labels.tx, COLORS.tx, bytes)], bytesAxis),
          data[2], holders[2]),
      ];
    }

    function load() {
      if (loading) return;
      loading = true;
      window.fetch(el.getAttribute('data-src'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (res) {
          if (!res.ok) throw new Error('usage history answered ' + res.status);
          return res.json();
        })
        .then(function (body) {
          if (!body || !Array.isArray(body.points)) throw new Error('usage history has no points');
          draw(body);
        })
        .catch(function (err) {
          window.console.warn('usage-chart:', err && err.message ? err.message : err);
          if (!charts) {
            showMessage(attr(el, 'data-error', ''));
            el.setAttribute('data-usage-state', 'error');
          }
        })
        .then(function () { loading = false; });
    }

    var observer = null;
    if (typeof window.ResizeObserver === 'function') {
      observer = new window.ResizeObserver(function () {
        var w = contentWidth(el);
        if (w === width) return;
        width = w;
        if (charts) charts.forEach(function (c) { c.setSize({ width: w, height: HEIGHT }); });
      });
      observer.observe(el);
    }

    var timer = window.setInterval(function () {
      if (!document.documentElement.contains(el)) {
        window.clearInterval(timer);
        if (observer) observer.disconnect();
        destroyCharts();
        return;
      }
      if (!document.hidden) load();
    }, REFRESH_MS);
    load();
  }

  function start() {
    var els = document.querySelectorAll('[data-usage-chart][data-src]');
    for (var i = 0; i < els.length; i++) setup(els[i]);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
