/**
 * What the Document Server stand-in serves to browsers: its own `api.js` (a `DocsAPI.DocEditor` that
 * records what the page hands it, reports it to the stand-in, and lets a test fire the editor's
 * events) and the page shown in the editor's frame. The real api.js replaces the placeholder with a
 * frame of the editor app and, once the document is open, the user joins the session (status 1 for
 * editors); leaving the page ends their connection. The stand-in does the same with its own session
 * logic, so a browser test sees the DMS react as it would to the real Document Server.
 */

/** What a page handed to `new DocsAPI.DocEditor(placeholder, config)`, as the stand-in received it. */
export interface PageEditor {
  placeholder: string;
  /** The config without its event handlers. */
  config: Record<string, unknown> & {
    document: { key: string; title: string; url: string; fileType: string; permissions: Record<string, boolean> };
    editorConfig: { mode: 'edit' | 'view'; user: { id: string; name: string }; callbackUrl?: string; [key: string]: unknown };
    token?: string;
  };
  /** The names of the event handlers the page passed. */
  events: string[];
  /** Why the stand-in refused to open it (a bad token, say), as the editor would show it. */
  error?: string;
}

/** A method the page called on the editor object (`setUsers`, `refreshHistory`, …). */
export interface PageEditorCall {
  key: string;
  method: string;
  args: unknown[];
}

/** The script served at /web-apps/apps/api/documents/api.js. */
export function editorApiScript(origin: string): string {
  return `// ONLYOFFICE Document Server stand-in: DocsAPI for browser tests.
(function () {
  'use strict';
  var origin = ${JSON.stringify(origin)};
  function post(path, body) {
    // A simple request (text/plain), so no CORS preflight is needed, as with the real editor's beacons.
    var text = JSON.stringify(body);
    if (path === '/__stand-in/leave' && navigator.sendBeacon) return navigator.sendBeacon(origin + path, text);
    return fetch(origin + path, { method: 'POST', mode: 'no-cors', keepalive: true, body: text });
  }
  var methods = ['refreshHistory', 'setHistoryData', 'setUsers', 'setActionLink', 'setSharingSettings', 'showMessage', 'requestClose', 'destroyEditor', 'downloadAs', 'setFavorite', 'setReferenceData', 'setRequestedDocument', 'setRequestedSpreadsheet', 'setMailMergeRecipients', 'insertImage', 'denyEditingRights', 'refreshFile'];
  function DocEditor(placeholderId, config) {
    var placeholder = document.getElementById(placeholderId);
    var events = (config && config.events) || {};
    var plain = JSON.parse(JSON.stringify(config || {}));
    delete plain.events;
    var key = plain.document && plain.document.key;
    var editor = {};
    var record = { config: plain, events: Object.keys(events), calls: [] };
    methods.forEach(function (name) {
      editor[name] = function () {
        var args = Array.prototype.slice.call(arguments);
        record.calls.push({ method: name, args: args });
        post('/__stand-in/call', { key: key, method: name, args: args });
      };
    });
    record.fire = function (name, data) {
      var handler = events[name];
      if (typeof handler !== 'function') return false;
      handler({ target: editor, data: data });
      return true;
    };
    window.__standInEditor = record;
    if (placeholder) {
      var frame = document.createElement('iframe');
      frame.name = 'frameEditor';
      frame.title = 'ONLYOFFICE editor (stand-in)';
      frame.src = origin + '/web-apps/apps/api/documents/frame.html?title=' + encodeURIComponent((plain.document && plain.document.title) || '');
      frame.setAttribute('width', config.width || '100%');
      frame.setAttribute('height', config.height || '100%');
      frame.style.border = '0';
      placeholder.replaceWith(frame);
    }
    post('/__stand-in/editor', { placeholder: placeholderId, config: plain, events: record.events });
    window.addEventListener('pagehide', function () {
      var user = plain.editorConfig && plain.editorConfig.user;
      if (key && user) post('/__stand-in/leave', { key: key, userId: user.id });
    });
    setTimeout(function () {
      if (typeof events.onAppReady === 'function') events.onAppReady({ target: editor });
      if (typeof events.onDocumentReady === 'function') events.onDocumentReady({ target: editor });
    }, 0);
    return editor;
  }
  DocEditor.version = function () { return 'stand-in'; };
  window.DocsAPI = { DocEditor: DocEditor };
})();
`;
}

/** The page inside the editor's frame. */
export function editorFrameHtml(title: string): string {
  const escaped = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escaped}</title></head>
<body style="margin:0;font:16px system-ui,sans-serif;background:#f1f3f5;color:#333;display:grid;place-items:center;height:100vh">
<p>Document Server stand-in: <strong>${escaped}</strong></p></body></html>`;
}
