/* Kura web console: an xterm.js terminal on the environment page, wired to the panel's WebSocket. */
(function () {
  'use strict';

  var button = document.querySelector('[data-console-open]');
  var box = document.getElementById('console');
  if (!button || !box || !window.Terminal || !window.FitAddon || !window.WebSocket) return;

  var socket = null;
  /** Ends the console that is open, if any: its socket, terminal and resize listener. */
  var stop = function () {};

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  /** Input in pieces well under the server's 64 KiB limit (a long paste), never splitting a surrogate pair. */
  function sendInput(data) {
    var i = 0;
    while (i < data.length) {
      var end = Math.min(i + 8192, data.length);
      var last = data.charCodeAt(end - 1);
      if (end < data.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      send({ type: 'input', data: data.slice(i, end) });
      i = end;
    }
  }

  function fit(fitter) {
    // A hidden or zero-width box has nothing to fit to.
    if (box.clientWidth > 0 && box.clientHeight > 0) fitter.fit();
  }

  function open() {
    stop();
    box.hidden = false;
    // The terminal never makes the page wider than the screen: it fits inside the box.
    box.style.maxWidth = '100%';
    box.style.overflow = 'hidden';
    var narrow = window.innerWidth < 600;
    var term = new window.Terminal({
      cursorBlink: true,
      fontSize: narrow ? 12 : 14,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      scrollback: 2000,
      convertEol: false,
    });
    var fitter = new window.FitAddon.FitAddon();
    term.loadAddon(fitter);
    term.open(box);
    fit(fitter);

    var url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + button.getAttribute('data-console-open');
    var ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    socket = ws;
    var live = true;

    ws.addEventListener('open', function () {
      send({ type: 'resize', cols: term.cols, rows: term.rows });
      term.focus();
    });
    ws.addEventListener('message', function (e) {
      if (live) term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
    });
    ws.addEventListener('close', function () {
      if (socket === ws) socket = null;
      if (!live) return;
      term.write('\r\n' + (box.getAttribute('data-closed-text') || 'closed') + '\r\n');
      term.options.disableStdin = true;
    });
    term.onData(sendInput);
    term.onResize(function (size) { send({ type: 'resize', cols: size.cols, rows: size.rows }); });

    var pending = null;
    var onWindowResize = function () {
      clearTimeout(pending);
      pending = setTimeout(function () { if (live) fit(fitter); }, 100);
    };
    window.addEventListener('resize', onWindowResize);

    stop = function () {
      live = false;
      clearTimeout(pending);
      window.removeEventListener('resize', onWindowResize);
      ws.close();
      term.dispose();
    };
  }

  button.addEventListener('click', open);
})();
