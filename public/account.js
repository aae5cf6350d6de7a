// Your account: change the password, create and revoke personal API tokens.
import { api, confirmAction, localizeTimes, onFormSubmit, reloadWithToast, toast } from '/app.js';

// ---------------------------------------------------------------------------
// Password

const passwordForm = document.getElementById('password-form');

onFormSubmit(passwordForm, async (data) => {
  await api('POST', '/api/account/password', {
    currentPassword: String(data.get('currentPassword') || ''),
    newPassword: String(data.get('newPassword') || ''),
  });
  passwordForm.reset();
  // If the server ended this session too, the reload lands on the sign-in page, which shows the message.
  reloadWithToast('Your password has been changed.');
});

// ---------------------------------------------------------------------------
// API tokens

const tokenForm = document.getElementById('token-form');
const reveal = document.getElementById('token-reveal');
const revealValue = document.getElementById('new-token-value');
const table = document.getElementById('tokens-table');
const emptyNote = document.getElementById('tokens-empty');

function syncEmpty() {
  const hasRows = table.tBodies[0].rows.length > 0;
  table.hidden = !hasRows;
  emptyNote.hidden = hasRows;
}

function timeElement(iso) {
  const time = document.createElement('time');
  time.dateTime = iso;
  time.setAttribute('data-local', '');
  time.textContent = iso;
  return time;
}

function tokenRow(info) {
  const row = document.createElement('tr');
  row.dataset.tokenId = info.id;
  row.dataset.tokenName = info.name;
  const name = document.createElement('td');
  name.className = 'token-name';
  name.textContent = info.name;
  const created = document.createElement('td');
  created.className = 'col-created';
  created.append(timeElement(info.createdAt));
  const used = document.createElement('td');
  used.className = 'col-used';
  const never = document.createElement('span');
  never.className = 'muted';
  never.textContent = 'Never';
  used.append(never);
  const actions = document.createElement('td');
  actions.className = 'col-tactions';
  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.className = 'btn btn-danger-outline btn-sm';
  revoke.dataset.action = 'revoke-token';
  revoke.setAttribute('aria-label', `Revoke the token ${info.name}`);
  revoke.textContent = 'Revoke';
  actions.append(revoke);
  row.append(name, created, used, actions);
  return row;
}

onFormSubmit(tokenForm, async (data) => {
  const answer = await api('POST', '/api/account/tokens', { name: String(data.get('name') || '').trim() });
  tokenForm.reset();
  reveal.hidden = false;
  revealValue.value = answer.token;
  revealValue.focus();
  revealValue.select();
  if (answer.tokenInfo) {
    const row = tokenRow(answer.tokenInfo);
    table.tBodies[0].prepend(row);
    localizeTimes(row);
    syncEmpty();
  }
  toast('Token created. Copy it now; it will not be shown again.');
});

async function copyToken() {
  const value = revealValue.value;
  try {
    await navigator.clipboard.writeText(value);
  } catch {
    revealValue.focus();
    revealValue.select();
    if (!document.execCommand('copy')) {
      toast('Could not copy automatically; the token is selected, press Ctrl+C (⌘C on a Mac).', 'info');
      return;
    }
  }
  toast('Copied the token to the clipboard.');
}

document.addEventListener('click', async (event) => {
  const trigger = event.target.closest('[data-action]');
  if (!trigger) return;
  if (trigger.dataset.action === 'copy-token') {
    copyToken();
    return;
  }
  if (trigger.dataset.action === 'revoke-token') {
    const row = trigger.closest('tr[data-token-id]');
    if (!row) return;
    const name = row.dataset.tokenName;
    const revoked = await confirmAction({
      title: 'Revoke token',
      message: `Revoke “${name}”? Anything that uses it stops working at once.`,
      confirmLabel: 'Revoke',
      action: () => api('DELETE', `/api/account/tokens/${encodeURIComponent(row.dataset.tokenId)}`),
    });
    if (!revoked) return;
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    syncEmpty();
    (next?.querySelector('[data-action="revoke-token"]') || document.getElementById('token-name')).focus();
    toast(`Revoked “${name}”.`);
  }
});
