// Users (admins only): add users, reset passwords, enable or disable accounts, change roles.
import { api, confirmAction, onFormSubmit, openDialog, reloadWithToast, setBusy, toast } from '/app.js';

const addDialog = document.getElementById('add-user-dialog');
const resetDialog = document.getElementById('reset-password-dialog');
let resetting = null;

function accountOfRow(row) {
  return { id: row.dataset.userId, username: row.dataset.username, displayName: row.dataset.displayName };
}

function userUrl(account) {
  return `/api/users/${encodeURIComponent(account.id)}`;
}

onFormSubmit(addDialog.querySelector('form'), async (data) => {
  const username = String(data.get('username') || '').trim();
  const displayName = String(data.get('displayName') || '').trim();
  const body = { username, password: String(data.get('password') || ''), role: String(data.get('role') || 'user') };
  if (displayName) body.displayName = displayName;
  await api('POST', '/api/users', body);
  reloadWithToast(`Added the user “${username}”.`);
});

onFormSubmit(resetDialog.querySelector('form'), async (data) => {
  if (!resetting) return;
  await api('POST', `${userUrl(resetting)}/password`, { password: String(data.get('password') || '') });
  toast(`New password set for “${resetting.username}”; they have been signed out.`);
});

function startReset(account) {
  resetting = account;
  resetDialog.querySelector('[data-slot="username"]').textContent = account.displayName === account.username
    ? account.username
    : `${account.displayName} (${account.username})`;
  openDialog(resetDialog);
  resetDialog.querySelector('input[name="username"]').value = account.username;
}

async function setDisabled(account, disabled, button) {
  if (disabled) {
    const done = await confirmAction({
      title: 'Disable account',
      message: `Disable “${account.username}”? They are signed out at once and cannot sign in or use their API tokens until the account is enabled again. Their files are kept.`,
      confirmLabel: 'Disable',
      action: () => api('PATCH', userUrl(account), { disabled: true }),
    });
    if (done) reloadWithToast(`Disabled “${account.username}”.`);
    return;
  }
  setBusy(button, true);
  try {
    await api('PATCH', userUrl(account), { disabled: false });
    reloadWithToast(`Enabled “${account.username}”.`);
  } catch (error) {
    toast(error.message, 'error');
    setBusy(button, false);
  }
}

document.addEventListener('click', (event) => {
  const trigger = event.target.closest('[data-action]');
  if (!trigger) return;
  const row = trigger.closest('tr[data-user-id]');
  switch (trigger.dataset.action) {
    case 'add-user':
      openDialog(addDialog);
      break;
    case 'reset-password':
      if (row) startReset(accountOfRow(row));
      break;
    case 'disable':
      if (row) setDisabled(accountOfRow(row), true, trigger);
      break;
    case 'enable':
      if (row) setDisabled(accountOfRow(row), false, trigger);
      break;
    default:
  }
});

document.addEventListener('change', async (event) => {
  const select = event.target;
  if (!(select instanceof window.HTMLSelectElement) || select.dataset.action !== 'change-role') return;
  const row = select.closest('tr[data-user-id]');
  const account = accountOfRow(row);
  const role = select.value;
  select.disabled = true;
  try {
    await api('PATCH', userUrl(account), { role });
    select.dataset.current = role;
    toast(role === 'admin' ? `“${account.username}” is now an admin.` : `“${account.username}” is now a regular user.`);
  } catch (error) {
    select.value = select.dataset.current;
    toast(error.message, 'error');
  } finally {
    select.disabled = false;
    select.focus();
  }
});
