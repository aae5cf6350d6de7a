// Rename and delete for files and folders, shared by the file browser and the file page.
import { api, confirmAction, onFormSubmit, openDialog, reloadWithToast } from '/app.js';

/** The API address of a file or folder. */
export function nodeUrl(node) {
  return `/api/${node.kind === 'folder' ? 'folders' : 'files'}/${encodeURIComponent(node.id)}`;
}

const renameDialog = document.getElementById('rename-dialog');
let renaming = null;

if (renameDialog) {
  onFormSubmit(renameDialog.querySelector('form'), async (data) => {
    const name = String(data.get('name') || '').trim();
    if (!renaming || name === renaming.name) return;
    await api('PATCH', nodeUrl(renaming), { name });
    reloadWithToast(`Renamed to “${name}”.`);
  });
}

/** Opens the rename dialog with the current name, its stem (the part before the extension) selected. */
export function startRename(node) {
  if (!renameDialog) return;
  renaming = node;
  renameDialog.querySelector('.dialog-title').textContent = node.kind === 'folder' ? 'Rename folder' : 'Rename file';
  openDialog(renameDialog);
  const input = renameDialog.querySelector('input[name="name"]');
  input.value = node.name;
  const dot = node.kind === 'file' ? node.name.lastIndexOf('.') : -1;
  input.focus();
  input.setSelectionRange(0, dot > 0 ? dot : node.name.length);
}

/** Asks before deleting; `afterDelete` runs once the server has deleted it. */
export async function startDelete(node, afterDelete) {
  const isFolder = node.kind === 'folder';
  const deleted = await confirmAction({
    title: isFolder ? 'Delete folder' : 'Delete file',
    message: isFolder
      ? `Delete “${node.name}” and everything in it? This cannot be undone.`
      : `Delete “${node.name}”? This cannot be undone.`,
    confirmLabel: 'Delete',
    action: () => deleteWithLockCheck(nodeUrl(node)),
  });
  if (deleted) afterDelete();
}

/** Deletes; when someone is editing, says who and offers to close their editors first. */
async function deleteWithLockCheck(url) {
  try {
    await api('DELETE', url);
  } catch (error) {
    if (error.code !== 'file_locked' || !window.confirm(`${error.message}\n\nClose their editors and delete anyway?`)) throw error;
    await api('DELETE', `${url}?force=true`);
  }
}
