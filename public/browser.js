// The file browser: uploads (button and drag-and-drop, with progress), New menu, and row actions.
import {
  api,
  formatBytes,
  onFormSubmit,
  openDialog,
  reloadWithToast,
  toast,
  tooLargeMessage,
  uploadFile,
  waitForConversion,
} from '/app.js';
import { nodeUrl, startDelete, startRename } from '/nodes.js';

const listArea = document.querySelector('.list-area');
const folderId = listArea ? listArea.dataset.folderId : '';

/** The file or folder a row (or an element inside it) stands for. */
function nodeOfRow(row) {
  return { id: row.dataset.id, kind: row.dataset.kind, name: row.dataset.name, parentId: row.dataset.parentId };
}

// ---------------------------------------------------------------------------
// New folder and new documents

const newFolderDialog = document.getElementById('new-folder-dialog');
const newDocumentDialog = document.getElementById('new-document-dialog');

function selectAll(input) {
  input.focus();
  input.select();
}

function startNewFolder() {
  openDialog(newFolderDialog);
  selectAll(newFolderDialog.querySelector('input[name="name"]'));
}

function startNewDocument(type, noun) {
  const form = newDocumentDialog.querySelector('form');
  newDocumentDialog.querySelector('.dialog-title').textContent = `New ${noun}`;
  openDialog(newDocumentDialog);
  form.elements.type.value = type;
  newDocumentDialog.querySelector('.input-suffix').textContent = `.${type}`;
  const input = form.elements.name;
  input.value = `New ${noun}`;
  selectAll(input);
}

if (newFolderDialog) {
  onFormSubmit(newFolderDialog.querySelector('form'), async (data) => {
    const name = String(data.get('name') || '').trim();
    const answer = await api('POST', '/api/folders', { name, parentId: folderId });
    reloadWithToast(`Created the folder “${answer?.folder?.name ?? name}”.`);
  });
}

if (newDocumentDialog) {
  onFormSubmit(newDocumentDialog.querySelector('form'), async (data) => {
    const type = String(data.get('type'));
    const name = String(data.get('name') || '').trim();
    const answer = await api('POST', '/api/files/new', { name, type, folderId });
    reloadWithToast(`Created “${answer?.file?.name ?? `${name}.${type}`}”.`);
  });
}

// ---------------------------------------------------------------------------
// Move

const moveDialog = document.getElementById('move-dialog');
let moving = null;

function startMove(node) {
  moving = node;
  const select = moveDialog.querySelector('select');
  const options = [...select.options];
  const own = options.find((option) => option.value === node.id);
  const ownLabel = own ? own.dataset.label : null;
  for (const option of options) {
    // A folder cannot go into itself or anything below it.
    const label = option.dataset.label || '';
    option.disabled = ownLabel !== null && (option.value === node.id || label.startsWith(`${ownLabel} / `));
  }
  moveDialog.querySelector('.dialog-title').textContent = `Move “${node.name}”`;
  openDialog(moveDialog);
  const current = options.find((option) => option.value === (node.parentId || folderId) && !option.disabled);
  const firstFree = options.find((option) => !option.disabled);
  select.value = (current || firstFree || options[0]).value;
  select.focus();
}

if (moveDialog) {
  onFormSubmit(moveDialog.querySelector('form'), async (data) => {
    const target = String(data.get('folderId') || '');
    if (!moving || !target) return;
    if (target === moving.parentId) {
      toast(`“${moving.name}” is already in that folder.`, 'info');
      return;
    }
    const option = [...moveDialog.querySelector('select').options].find((candidate) => candidate.value === target);
    await api('PATCH', nodeUrl(moving), { folderId: target });
    reloadWithToast(`Moved “${moving.name}” to ${option ? option.dataset.label : 'the folder'}.`);
  });
}

// ---------------------------------------------------------------------------
// Uploads: one request per file, in turn, each with its own progress bar.

const uploadPanel = document.getElementById('upload-panel');
const uploadList = document.getElementById('upload-list');
const uploadInput = document.getElementById('upload-input');
const queue = [];
let uploading = false;
let uploadedCount = 0;
let failedCount = 0;
let lastUploadedName = '';

function createUploadEntry(file) {
  const item = document.createElement('li');
  item.className = 'upload-item';
  const head = document.createElement('div');
  head.className = 'upload-item-head';
  const name = document.createElement('span');
  name.className = 'upload-name';
  name.textContent = file.name;
  name.title = `${file.name} (${formatBytes(file.size)})`;
  const status = document.createElement('span');
  status.className = 'upload-status';
  status.textContent = 'Waiting…';
  const progress = document.createElement('progress');
  progress.className = 'progress';
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute('aria-label', `Upload of ${file.name}`);
  head.append(name, status);
  item.append(head, progress);
  uploadList.append(item);
  return { file, item, status, progress };
}

const convertBox = document.getElementById('upload-convert');

/** Waits for the conversion of an upload, showing its progress; a failure is reported but the upload stays. */
async function followConversion(entry, conversion) {
  if (!conversion) return;
  const final = conversion.state === 'running'
    ? await waitForConversion(conversion.job, (percent) => (entry.status.textContent = `Converting… ${percent}%`))
    : conversion;
  if (final.state === 'failed') toast(`“${entry.file.name}” was uploaded but not converted: ${final.error.message}`, 'error');
}

async function runQueue() {
  if (uploading) return;
  uploading = true;
  while (queue.length > 0) {
    const entry = queue.shift();
    entry.status.textContent = '0%';
    try {
      const answer = await uploadFile({
        url: '/api/files',
        fields: { folderId, ...(convertBox ? { convert: String(convertBox.checked) } : {}) },
        file: entry.file,
        onProgress: (fraction) => {
          const percent = Math.min(99, Math.round(fraction * 100));
          entry.progress.value = percent;
          entry.status.textContent = fraction >= 1 ? 'Saving…' : `${percent}%`;
        },
      });
      await followConversion(entry, answer?.conversion);
      entry.progress.value = 100;
      entry.item.classList.add('is-done');
      entry.status.textContent = 'Done';
      uploadedCount += 1;
      lastUploadedName = answer?.file?.name ?? entry.file.name;
    } catch (error) {
      entry.item.classList.add('is-error');
      entry.progress.value = 100;
      entry.status.textContent = error.message;
      failedCount += 1;
      toast(`“${entry.file.name}” was not uploaded: ${error.message}`, 'error');
    }
  }
  uploading = false;
  if (failedCount === 0 && uploadedCount > 0) {
    reloadWithToast(uploadedCount === 1 ? `Uploaded “${lastUploadedName}”.` : `Uploaded ${uploadedCount} files.`);
  }
}

/** Queues files for upload, refusing up front those over the size limit. */
function addFiles(files) {
  let added = 0;
  for (const file of files) {
    const problem = tooLargeMessage(file);
    if (problem) {
      toast(problem, 'error');
      continue;
    }
    queue.push(createUploadEntry(file));
    added += 1;
  }
  if (added === 0) return;
  if (uploadPanel.hidden) {
    uploadPanel.hidden = false;
    const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    uploadPanel.scrollIntoView({ block: 'nearest', behavior: still ? 'auto' : 'smooth' });
  }
  runQueue();
}

if (uploadInput) {
  uploadInput.addEventListener('change', () => {
    addFiles([...uploadInput.files]);
    uploadInput.value = '';
  });
}

window.addEventListener('beforeunload', (event) => {
  if (uploading) event.preventDefault();
});

// ---------------------------------------------------------------------------
// Drag and drop onto the list

function carriesFiles(event) {
  return event.dataTransfer && [...event.dataTransfer.types].includes('Files');
}

if (listArea && listArea.hasAttribute('data-dropzone')) {
  let depth = 0;
  const clear = () => {
    depth = 0;
    listArea.classList.remove('is-dragging');
  };
  listArea.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    listArea.classList.add('is-dragging');
  });
  listArea.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  listArea.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) clear();
  });
  listArea.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    clear();
    const items = [...(event.dataTransfer.items || [])];
    const folders = items.filter((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()?.isDirectory).length;
    if (folders > 0) toast('Folders cannot be uploaded as a whole; create the folder with New, then drop its files into it.', 'info');
    const files = items.length > 0
      ? items.filter((item) => item.kind === 'file' && !(item.webkitGetAsEntry && item.webkitGetAsEntry()?.isDirectory)).map((item) => item.getAsFile()).filter(Boolean)
      : [...event.dataTransfer.files];
    addFiles(files);
  });
  // A file dropped next to the list must not make the browser navigate away to open it.
  document.addEventListener('dragover', (event) => {
    if (carriesFiles(event) && !listArea.contains(event.target)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'none';
    }
  });
  document.addEventListener('drop', (event) => {
    if (carriesFiles(event) && !listArea.contains(event.target)) event.preventDefault();
  });
  window.addEventListener('dragend', clear);
}

// ---------------------------------------------------------------------------
// Clicks and keys

document.addEventListener('click', (event) => {
  const trigger = event.target.closest('[data-action]');
  if (!trigger) return;
  const row = trigger.closest('tr[data-id]');
  switch (trigger.dataset.action) {
    case 'upload':
      uploadInput?.click();
      break;
    case 'new-folder':
      startNewFolder();
      break;
    case 'new-document':
      startNewDocument(trigger.dataset.type, trigger.dataset.noun || 'document');
      break;
    case 'close-uploads':
      if (uploading) {
        toast('Uploads are still running; the list closes when they finish.', 'info');
        break;
      }
      if (uploadedCount > 0) {
        reloadWithToast(`Uploaded ${uploadedCount} ${uploadedCount === 1 ? 'file' : 'files'}.`);
        break;
      }
      uploadPanel.hidden = true;
      uploadList.replaceChildren();
      failedCount = 0;
      break;
    case 'rename':
      if (row) startRename(nodeOfRow(row));
      break;
    case 'move':
      if (row) startMove(nodeOfRow(row));
      break;
    case 'delete':
      if (row) {
        const node = nodeOfRow(row);
        startDelete(node, () => reloadWithToast(`Deleted “${node.name}”.`));
      }
      break;
    default:
  }
});

// Shortcuts on a focused row: F2 renames, Delete deletes.
document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (!(target instanceof HTMLElement) || !target.classList.contains('name-link')) return;
  const row = target.closest('tr[data-id]');
  if (!row || row.dataset.canWrite !== 'true') return;
  if (event.key === 'F2') {
    event.preventDefault();
    startRename(nodeOfRow(row));
  } else if (event.key === 'Delete') {
    event.preventDefault();
    const node = nodeOfRow(row);
    startDelete(node, () => reloadWithToast(`Deleted “${node.name}”.`));
  }
});

// Who is editing: refreshed every 10 s (while the tab is visible) so badges appear and clear without a reload.
const fileRows = [...document.querySelectorAll('.file-row[data-kind="file"]')];
async function refreshEditing() {
  if (document.hidden || fileRows.length === 0) return;
  const ids = fileRows.map((row) => row.dataset.id).join(',');
  let answer;
  try {
    answer = await api('GET', `/api/editing?ids=${encodeURIComponent(ids)}`);
  } catch {
    return; // A missed refresh is harmless; the next one tries again.
  }
  for (const row of fileRows) {
    const status = answer.editing[row.dataset.id];
    const holder = row.querySelector('.name-text');
    let badge = holder.querySelector('.editing-badge');
    if (!status) {
      badge?.remove();
      continue;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'row-sub editing-badge';
      holder.querySelector('.name-link').after(badge);
    }
    badge.textContent = `Being edited by ${status.users.map((user) => user.name).join(', ')}`;
  }
}
window.setInterval(refreshEditing, 10_000);
