// Starts the ONLYOFFICE editor with the configuration the server embedded in #editor-config.
(function () {
  'use strict';

  const frame = document.getElementById('editor-frame');
  const problem = document.getElementById('editor-problem');
  const problemText = document.getElementById('editor-problem-text');

  function showProblem(message, address) {
    problemText.textContent = message;
    if (address) {
      const code = document.createElement('code');
      code.textContent = address;
      problemText.append(' ', code);
    }
    frame.hidden = true;
    problem.hidden = false;
  }

  const fileId = frame.dataset.fileId;
  const fileType = JSON.parse(document.getElementById('editor-config').textContent).document.fileType;
  const csrf = document.querySelector('meta[name="csrf-token"]');

  /** Calls the DMS API as the signed-in user; rejects with the server's message. */
  async function api(method, url, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf ? csrf.content : '';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error((data && data.error && data.error.message) || 'The request failed (HTTP ' + response.status + ').');
    return data;
  }

  /** Version history, restore and rename from inside the editor. */
  function historyEvents() {
    const base = '/api/files/' + encodeURIComponent(fileId);
    return {
      onRequestHistory: function () {
        api('GET', base + '/history').then(
          function (history) { window.docEditor.refreshHistory(history); },
          function (error) { window.docEditor.refreshHistory({ error: error.message }); },
        );
      },
      onRequestHistoryData: function (event) {
        const version = event.data;
        api('GET', base + '/history/' + encodeURIComponent(version)).then(
          function (data) { window.docEditor.setHistoryData(data); },
          function (error) { window.docEditor.setHistoryData({ error: error.message, version: version }); },
        );
      },
      onRequestHistoryClose: function () {
        window.location.reload();
      },
      onRequestRestore: function (event) {
        const version = event.data && event.data.version;
        if (!window.confirm('Restore version ' + version + '? Everyone editing this document is closed first; their saved work stays in the history.')) return;
        api('POST', base + '/versions/' + encodeURIComponent(version) + '/restore', { force: true }).then(
          function () { window.location.reload(); },
          function (error) { window.alert(error.message); },
        );
      },
      onRequestRename: function (event) {
        // The editor hands over the title without its extension; the file keeps its own.
        const extension = '.' + fileType;
        let name = String(event.data).trim();
        if (!name.toLowerCase().endsWith(extension)) name += extension;
        api('PATCH', base, { name: name }).catch(function (error) { window.alert(error.message); });
      },
    };
  }

  /** Mentions: the people who can open this file, and a notification for each one mentioned. */
  function mentionEvents() {
    const base = '/api/files/' + encodeURIComponent(fileId);
    let people = null;
    return {
      onRequestUsers: function (event) {
        const kind = event && event.data ? event.data.c : undefined;
        const load = people ? Promise.resolve(people) : api('GET', base + '/people').then(function (data) { people = data.people; return people; });
        load.then(
          function (list) {
            // The editor matches people by "email"; usernames are this DMS's unique handles.
            window.docEditor.setUsers({
              c: kind,
              users: list.map(function (person) { return { id: person.id, email: person.username, name: person.displayName }; }),
            });
          },
          function (error) { console.warn('Could not load the people for mentions:', error.message); },
        );
      },
      onRequestSendNotify: function (event) {
        const data = event.data || {};
        api('POST', base + '/mentions', { emails: data.emails || [], message: String(data.message || ''), actionLink: data.actionLink || undefined }).catch(
          function (error) { console.warn('Could not notify the people mentioned:', error.message); },
        );
      },
    };
  }

  function start() {
    const apiUrl = frame.dataset.apiUrl;
    if (typeof window.DocsAPI === 'undefined' || typeof window.DocsAPI.DocEditor !== 'function') {
      showProblem(
        'The ONLYOFFICE Document Server did not answer. Check that it is running and that this browser can reach it. The address tried was',
        apiUrl,
      );
      return;
    }
    const config = JSON.parse(document.getElementById('editor-config').textContent);
    config.width = '100%';
    config.height = '100%';
    config.events = {
      // A viewer who may edit gets the editor's "Edit" button: reopen in edit mode.
      onRequestEditRights: function () {
        const url = new URL(window.location.href);
        url.searchParams.set('mode', 'edit');
        window.location.assign(url.toString());
      },
      onRequestClose: function () {
        window.location.assign(frame.dataset.backUrl);
      },
      onError: function (event) {
        const data = event && event.data ? event.data : {};
        console.warn('ONLYOFFICE editor error', data.errorCode, data.errorDescription);
      },
    };
    // Guests (public links) have no account: no history, mentions, renaming or restoring.
    if (frame.dataset.guest !== 'true') Object.assign(config.events, historyEvents(), mentionEvents());
    if (frame.dataset.canEdit !== 'true') delete config.events.onRequestEditRights;
    if (frame.dataset.canWrite !== 'true') {
      delete config.events.onRequestRestore;
      delete config.events.onRequestRename;
    }
    window.docEditor = new window.DocsAPI.DocEditor('editor-placeholder', config);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
