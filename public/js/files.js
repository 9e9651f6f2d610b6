// The file manager: uploads (several files, drag and drop, streamed by the browser with a progress
// bar) and the editor's save. Pages work without it; uploads need it.
(function () {
  'use strict';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  function put(url, body, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open('PUT', url);
      xhr.setRequestHeader('x-csrf-token', csrf);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      if (onProgress) xhr.upload.addEventListener('progress', function (e) { if (e.lengthComputable) onProgress(e.loaded); });
      xhr.onload = function () {
        var reason = '';
        if (xhr.status !== 204) {
          try { reason = JSON.parse(xhr.responseText).error.message; } catch (_) { reason = 'HTTP ' + xhr.status; }
        }
        resolve({ ok: xhr.status === 204, reason: reason });
      };
      xhr.onerror = function () { resolve({ ok: false, reason: 'the connection failed' }); };
      xhr.send(body);
    });
  }

  var box = document.querySelector('[data-upload]');
  if (box) {
    var input = box.querySelector('[data-upload-input]');
    var zone = box.querySelector('[data-dropzone]');
    var bar = box.querySelector('[data-upload-progress]');
    var status = box.querySelector('[data-upload-status]');
    var folder = box.getAttribute('data-folder');
    var say = function (template, name, reason) { return template.replace('{name}', name).replace('{reason}', reason || ''); };
    var upload = function (files) {
      var list = Array.prototype.slice.call(files);
      if (!list.length) return;
      var total = list.reduce(function (n, f) { return n + f.size; }, 0) || 1;
      var done = 0;
      var failed = [];
      bar.hidden = false;
      bar.value = 0;
      var next = function (i) {
        if (i >= list.length) {
          bar.value = 100;
          if (!failed.length) window.location.reload();
          else status.textContent = failed.join(' · ');
          return;
        }
        var f = list[i];
        var path = (folder ? folder + '/' : '') + f.name;
        var url = box.getAttribute('data-upload') + '?path=' + encodeURIComponent(path);
        put(url, f, function (loaded) { bar.value = Math.round(((done + loaded) / total) * 100); }).then(function (r) {
          done += f.size;
          if (r.ok) status.textContent = say(box.getAttribute('data-done'), f.name);
          else failed.push(say(box.getAttribute('data-failed'), f.name, r.reason));
          next(i + 1);
        });
      };
      next(0);
    };
    input.addEventListener('change', function () { upload(input.files); });
    ['dragenter', 'dragover'].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove('over'); });
    });
    zone.addEventListener('drop', function (e) { if (e.dataTransfer) upload(e.dataTransfer.files); });
  }

  // The editor saves the text as it is (any size the editor allows), not as a form field.
  var editor = document.querySelector('form[data-raw-save]');
  if (editor) {
    editor.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = editor.querySelector('textarea').value.replace(/\r\n/g, '\n');
      put(editor.getAttribute('data-raw-save'), new Blob([text], { type: 'text/plain;charset=utf-8' })).then(function (r) {
        if (r.ok) { window.location.href = editor.getAttribute('data-back'); return; }
        var error = document.querySelector('[data-edit-error]');
        error.textContent = r.reason;
        error.hidden = false;
      });
    });
  }

})();
