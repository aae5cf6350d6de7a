// A file's page: upload a new version (with progress), rename, delete, convert.
import { api, ApiError, confirmAction, navigateWithToast, onFormSubmit, openDialog, reloadWithToast, toast, tooLargeMessage, uploadFile, waitForConversion, errorFromResponse } from '/app.js';
import { startDelete, startRename } from '/nodes.js';

const page = document.querySelector('.page-file');
const file = {
  id: page.dataset.fileId,
  kind: 'file',
  name: page.dataset.fileName,
  parentId: page.dataset.parentId,
};

const versionInput = document.getElementById('version-input');
const uploadBox = document.getElementById('version-upload');
const uploadName = document.getElementById('version-upload-name');
const uploadStatus = document.getElementById('version-upload-status');
const uploadProgress = document.getElementById('version-upload-progress');
const uploadButton = document.querySelector('[data-action="upload-version"]');
let uploading = false;

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

async function uploadVersion(chosen) {
  const problem = tooLargeMessage(chosen);
  if (problem) {
    toast(problem, 'error');
    return;
  }
  const expected = extensionOf(file.name);
  const actual = extensionOf(chosen.name);
  if (expected !== actual) {
    const proceed = await confirmAction({
      title: 'Different file type',
      message: `“${chosen.name}” is ${actual ? `a .${actual} file` : 'a file without an extension'}, but “${file.name}” is ${expected ? `a .${expected} file` : 'not'}. Upload it as the new version anyway?`,
      confirmLabel: 'Upload anyway',
      danger: false,
      action: async () => {},
    });
    if (!proceed) return;
  }

  uploading = true;
  uploadButton.disabled = true;
  uploadBox.hidden = false;
  uploadBox.querySelector('.upload-item').classList.remove('is-done', 'is-error');
  uploadName.textContent = chosen.name;
  uploadStatus.textContent = '0%';
  uploadProgress.value = 0;
  try {
    const answer = await uploadFile({
      method: 'PUT',
      url: `/api/files/${encodeURIComponent(file.id)}/content`,
      file: chosen,
      onProgress: (fraction) => {
        const percent = Math.min(99, Math.round(fraction * 100));
        uploadProgress.value = percent;
        uploadStatus.textContent = fraction >= 1 ? 'Saving…' : `${percent}%`;
      },
    });
    uploadProgress.value = 100;
    uploadBox.querySelector('.upload-item').classList.add('is-done');
    uploadStatus.textContent = 'Done';
    uploading = false;
    const number = answer?.version?.number;
    reloadWithToast(number ? `Uploaded version ${number}.` : 'Uploaded the new version.');
  } catch (error) {
    uploading = false;
    uploadButton.disabled = false;
    uploadBox.querySelector('.upload-item').classList.add('is-error');
    uploadProgress.value = 100;
    uploadStatus.textContent = error.message;
    toast(error.message, 'error');
  }
}

// Only people who may change the file have the upload button and its input.
versionInput?.addEventListener('change', () => {
  const chosen = versionInput.files[0];
  versionInput.value = '';
  if (chosen) uploadVersion(chosen);
});

window.addEventListener('beforeunload', (event) => {
  if (uploading) event.preventDefault();
});

document.addEventListener('click', (event) => {
  const trigger = event.target.closest('[data-action]');
  if (!trigger) return;
  switch (trigger.dataset.action) {
    case 'upload-version':
      if (!uploading) versionInput.click();
      break;
    case 'rename':
      startRename(file);
      break;
    case 'delete':
      startDelete(file, () =>
        navigateWithToast(file.parentId ? `/folders/${encodeURIComponent(file.parentId)}` : '/', `Deleted “${file.name}”.`),
      );
      break;
    default:
  }
});

// Restore an earlier version (a new version with its content); an open editing session is closed first only when the user agrees.
for (const button of document.querySelectorAll('[data-action="restore"]')) {
  button.addEventListener('click', async () => {
    const number = button.dataset.number;
    const url = `/api/files/${encodeURIComponent(file.id)}/versions/${encodeURIComponent(number)}/restore`;
    const restored = await confirmAction({
      title: 'Restore version',
      message: `Store the content of version ${number} as a new version? The current version stays in the history.`,
      confirmLabel: 'Restore',
      danger: false,
      action: async () => {
        try {
          await api('POST', url, {});
        } catch (error) {
          if (error.code !== 'file_locked' || !window.confirm(`${error.message}\n\nClose their editors and restore anyway?`)) throw error;
          await api('POST', url, { force: true });
        }
      },
    });
    if (restored) reloadWithToast(`Restored version ${number}.`);
  });
}

// "Save now": asks the Document Server to store the open session as a checkpoint.
const saveNow = document.querySelector('[data-action="forcesave"]');
if (saveNow) {
  saveNow.addEventListener('click', async () => {
    saveNow.disabled = true;
    try {
      const answer = await api('POST', `/api/files/${encodeURIComponent(file.id)}/forcesave`);
      toast(answer.message, answer.started ? 'success' : 'info');
      if (answer.started) setTimeout(() => window.location.reload(), 3000);
    } catch (error) {
      toast(error.message, 'error');
    } finally {
      saveNow.disabled = false;
    }
  });
}

// Who is editing: checked every 10 s; when a session starts or ends the page reloads to show it.
const showsEditing = document.querySelector('.editing-badge') !== null;
window.setInterval(async () => {
  if (document.hidden) return;
  try {
    const answer = await api('GET', `/api/editing?ids=${encodeURIComponent(file.id)}`);
    if (Boolean(answer.editing[file.id]) !== showsEditing) window.location.reload();
  } catch {
    // A missed check is harmless; the next one tries again.
  }
}, 10_000);

// "Convert to …": the Document Server converts the current version; a password or the file's format is
// asked for only when it says it needs one. A conversion that takes a while is polled with its progress.
const convertDialog = document.getElementById('convert-dialog');
if (convertDialog) {
  const form = convertDialog.querySelector('form');
  const passwordField = document.getElementById('convert-password-field');
  const fromField = document.getElementById('convert-from-field');
  const progressBox = document.getElementById('convert-progress');
  const progressBar = document.getElementById('convert-progress-bar');
  const progressStatus = document.getElementById('convert-status');

  const showProgress = (percent) => {
    progressBox.hidden = false;
    progressBar.value = percent;
    progressStatus.textContent = `${percent}%`;
  };

  /** Reveals the field the server asked for; the error message says why. */
  const askFor = (code) => {
    if (code === 'password_required' || code === 'password_incorrect') {
      passwordField.hidden = false;
      passwordField.querySelector('input').focus();
    }
    if (code === 'type_needed') fromField.hidden = false;
  };

  async function waitFor(job) {
    const final = await waitForConversion(job, showProgress);
    if (final.state === 'failed') throw new ApiError(final.error.message, 422, final.error.code);
    return final.file;
  }

  onFormSubmit(form, async (data) => {
    const body = { to: data.get('to'), asNewVersion: data.get('placement') === 'version' };
    if (!passwordField.hidden && data.get('password')) body.password = data.get('password');
    if (!fromField.hidden) body.from = data.get('from');
    progressBox.hidden = true;
    try {
      let answer;
      try {
        answer = await api('POST', `/api/files/${encodeURIComponent(file.id)}/convert`, body);
      } catch (error) {
        if (error.code !== 'file_locked' || !window.confirm(`${error.message}\n\nClose their editors and convert anyway?`)) throw error;
        answer = await api('POST', `/api/files/${encodeURIComponent(file.id)}/convert`, { ...body, force: true });
      }
      const result = answer.file ?? (await waitFor(answer.job));
      navigateWithToast(`/files/${encodeURIComponent(result.id)}`, `Converted to “${result.name}”.`);
    } catch (error) {
      progressBox.hidden = true;
      askFor(error.code);
      throw error;
    }
  });

  const openConvert = () => {
    passwordField.hidden = true;
    fromField.hidden = true;
    progressBox.hidden = true;
    openDialog(convertDialog);
  };
  document.querySelector('[data-action="convert"]').addEventListener('click', openConvert);
  if (new URLSearchParams(window.location.search).get('convert') === '1') openConvert();
}

// Notices about conversions that ran without the user (a save that could not be converted back).
const dismissNotices = document.querySelector('[data-action="dismiss-notices"]');
if (dismissNotices) {
  dismissNotices.addEventListener('click', async () => {
    try {
      await api('DELETE', `/api/files/${encodeURIComponent(file.id)}/conversion-notices`);
      dismissNotices.closest('.conversion-notices').remove();
    } catch (error) {
      toast(error.message, 'error');
    }
  });
}

// "Download as …": the conversion can take a moment and can fail, so it is fetched here, where a
// failure becomes a message naming the cause instead of a broken download.
for (const link of document.querySelectorAll('#download-as-menu a')) {
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    const format = new URL(link.href).searchParams.get('format');
    toast(`Converting to .${format}…`, 'info');
    try {
      const response = await fetch(link.href, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!response.ok) throw errorFromResponse(response.status, await response.text());
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '')?.[1] || `download.${format}`;
      const url = URL.createObjectURL(await response.blob());
      const anchor = Object.assign(document.createElement('a'), { href: url, download: name });
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      toast(error.message, 'error');
    }
  });
}
