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
    if (frame.dataset.canEdit !== 'true') delete config.events.onRequestEditRights;
    window.docEditor = new window.DocsAPI.DocEditor('editor-placeholder', config);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
