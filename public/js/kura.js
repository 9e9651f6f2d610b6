/* Kura panel: small progressive enhancements. Every page works without this script. */
(function () {
  'use strict';

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  // Confirmation before a form that stops, restarts or destroys something.
  // data-confirm: a question; data-confirm-input: the name of a field that must equal data-confirm-value.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    var typed = form.getAttribute('data-confirm-input');
    if (typed) {
      var input = form.elements.namedItem(typed);
      if (input && input.value !== form.getAttribute('data-confirm-value')) {
        e.preventDefault();
        input.setCustomValidity(form.getAttribute('data-confirm-mismatch') || 'mismatch');
        input.reportValidity();
        input.addEventListener('input', function () { input.setCustomValidity(''); }, { once: true });
        return;
      }
    }
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { e.preventDefault(); return; }
    var buttons = form.querySelectorAll('button[type="submit"]');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
  });

  // Live updates: environment states and operation progress arrive over Server-Sent Events.
  var live = document.querySelector('[data-live]');
  if (live && window.EventSource) {
    var labels = {};
    try { labels = JSON.parse(live.getAttribute('data-state-labels') || '{}'); } catch (err) { labels = {}; }
    // Name what this page shows, so the stream sends its current state on every (re)connect.
    var shown = function (selector, attr) {
      var seen = {};
      var list = [];
      var els = document.querySelectorAll(selector);
      for (var i = 0; i < els.length && list.length < 200; i++) {
        var id = els[i].getAttribute(attr);
        if (id && !seen[id]) { seen[id] = true; list.push(id); }
      }
      return list.join(',');
    };
    var url = live.getAttribute('data-live') + '?env=' + encodeURIComponent(shown('[data-env-state]', 'data-env-state')) +
      '&op=' + encodeURIComponent(shown('[data-op]', 'data-op'));
    var source = new EventSource(url);
    source.addEventListener('environment', function (msg) {
      var env = JSON.parse(msg.data);
      var nodes = document.querySelectorAll('[data-env-state="' + cssEscape(env.id) + '"]');
      for (var i = 0; i < nodes.length; i++) {
        var el = nodes[i];
        el.textContent = labels[env.state] || env.state;
        el.className = 'state state-' + env.state;
        el.setAttribute('data-state', env.state);
      }
      var health = document.querySelectorAll('[data-env-health="' + cssEscape(env.id) + '"]');
      for (var h = 0; h < health.length; h++) {
        health[h].hidden = !env.health;
        health[h].textContent = env.health ? (labels['health.' + env.health] || env.health) : '';
        health[h].className = 'state health-' + (env.health || 'none');
      }
      var actions = document.querySelectorAll('[data-env-actions="' + cssEscape(env.id) + '"]');
      for (var j = 0; j < actions.length; j++) actions[j].setAttribute('data-state', env.state);
      document.dispatchEvent(new CustomEvent('kura:environment', { detail: env }));
    });
    source.addEventListener('operation', function (msg) {
      var op = JSON.parse(msg.data);
      var bars = document.querySelectorAll('[data-op="' + cssEscape(op.id) + '"]');
      for (var i = 0; i < bars.length; i++) {
        var bar = bars[i];
        var progress = bar.querySelector('progress');
        if (progress) progress.value = op.progress;
        var status = bar.querySelector('[data-op-status]');
        // Whether the page was drawn after the end already (the stream repeats the current state on connect).
        var endedBefore = !!status && /state-(succeeded|failed|cancelled)/.test(status.className);
        if (status) { status.textContent = labels['op.' + op.status] || op.status; status.className = 'state state-' + op.status; }
        var message = bar.querySelector('[data-op-message]');
        if (message) message.textContent = op.error ? op.error.message : op.message;
        // A list that shows this operation's result (a backup's size) is read again once it ends.
        if (bar.closest('[data-reload-done]') && !endedBefore && (op.status === 'succeeded' || op.status === 'failed')) {
          setTimeout(function () { window.location.reload(); }, 400);
        }
      }
      if (!bars.length && live.hasAttribute('data-live-new-ops')) {
        document.dispatchEvent(new CustomEvent('kura:operation', { detail: op }));
      }
    });
  }

  // Live usage figures polled from a JSON endpoint.
  var stats = document.querySelector('[data-stats-src]');
  if (stats) {
    var poll = function () {
      fetch(stats.getAttribute('data-stats-src'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          var cells = stats.querySelectorAll('[data-stat]');
          for (var i = 0; i < cells.length; i++) {
            var key = cells[i].getAttribute('data-stat');
            var v = s[key];
            if (v === null || v === undefined) continue;
            cells[i].textContent = key.indexOf('Bytes') > 0 ? bytes(v) : String(Math.round(v * 10) / 10);
          }
        })
        .catch(function () { /* the next poll tries again */ });
    };
    poll();
    setInterval(poll, 5000);
  }

  // Logs: "follow" streams new lines as they are written.
  var logs = document.querySelector('[data-logs-follow]');
  if (logs && window.EventSource) {
    var out = document.getElementById(logs.getAttribute('data-logs-target'));
    var stream = null;
    logs.addEventListener('change', function () {
      if (stream) { stream.close(); stream = null; }
      if (!logs.checked || !out) return;
      stream = new EventSource(logs.getAttribute('data-logs-follow'));
      stream.addEventListener('log', function (msg) {
        var atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
        out.textContent += JSON.parse(msg.data);
        if (out.textContent.length > 400000) out.textContent = out.textContent.slice(-300000);
        if (atEnd) out.scrollTop = out.scrollHeight;
      });
    });
  }

  // data-copy: a button that copies its text (an SFTP command) and says so.
  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-copy]');
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute('data-copy')).then(function () {
      button.textContent = button.getAttribute('data-copied');
    });
  });

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function cssEscape(s) { return String(s).replace(/["\\]/g, '\\$&'); }
  window.kura = { csrf: csrf, bytes: bytes };
})();
