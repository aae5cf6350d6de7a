// The share dialog: people with access (add, change role, remove) and public links (create, copy, revoke).
import { api, confirmAction, onFormSubmit, openDialog, toast } from '/app.js';

const dialog = document.getElementById('share-dialog');
const roleLabels = {
  viewer: 'Viewer',
  form_filler: 'Form filler',
  commenter: 'Commenter',
  reviewer: 'Reviewer',
  editor: 'Editor',
};

/** The node the dialog is open for: { kind: 'file' | 'folder', id, name }. */
let current = null;

const base = () => `/api/${current.kind === 'file' ? 'files' : 'folders'}/${encodeURIComponent(current.id)}`;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function roleSelect(value, label, onChange) {
  const select = element('select', 'share-role-select');
  select.setAttribute('aria-label', label);
  for (const [role, text] of Object.entries(roleLabels)) {
    const option = element('option', '', text);
    option.value = role;
    option.selected = role === value;
    select.append(option);
  }
  select.addEventListener('change', () => onChange(select.value));
  return select;
}

async function loadShares() {
  const list = document.getElementById('share-list');
  const { shares, canManage } = await api('GET', `${base()}/shares`);
  list.replaceChildren();
  if (shares.length === 0) list.append(element('li', 'share-empty', 'Only the owner has access.'));
  for (const share of shares) {
    const item = element('li', 'share-item');
    const who = element('div', 'share-who');
    who.append(element('span', 'share-name', share.user.displayName), element('span', 'share-sub', `@${share.user.username}${share.noDownload ? ' · no download' : ''}`));
    item.append(who);
    if (share.inheritedFrom || !canManage) {
      const via = share.inheritedFrom && (share.inheritedFrom.name ? `via folder “${share.inheritedFrom.name}”` : 'via a folder above');
      const note = via ? `${roleLabels[share.role]} · ${via}` : roleLabels[share.role];
      item.append(element('span', 'share-role-text', note));
    } else {
      item.append(
        roleSelect(share.role, `Role of ${share.user.displayName}`, async (role) => {
          try {
            await api('POST', `${base()}/shares`, { username: share.user.username, role, noDownload: share.noDownload });
            toast(`${share.user.displayName} is now ${roleLabels[role].toLowerCase()}.`);
          } catch (error) {
            toast(error.message, 'error');
          }
          await loadShares();
        }),
      );
      const remove = element('button', 'btn btn-ghost btn-sm share-remove', 'Remove');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Stop sharing with ${share.user.displayName}`);
      remove.addEventListener('click', () =>
        confirmAction({
          title: 'Stop sharing?',
          message: `${share.user.displayName} loses access to “${current.name}” and is closed out of it if they have it open in the editor.`,
          confirmLabel: 'Stop sharing',
          action: () => api('DELETE', `${base()}/shares/${encodeURIComponent(share.id)}`),
        }).then((done) => {
          if (done) {
            toast(`Stopped sharing with ${share.user.displayName}.`);
            loadShares();
          }
        }),
      );
      item.append(remove);
    }
    list.append(item);
  }
}

async function loadLinks() {
  const list = document.getElementById('link-list');
  const { links } = await api('GET', `${base()}/links`);
  list.replaceChildren();
  for (const link of links) {
    const item = element('li', 'share-item');
    const facts = [roleLabels[link.role]];
    if (link.hasPassword) facts.push('password');
    if (link.noDownload) facts.push('no download');
    facts.push(link.expiresAt ? `${link.expired ? 'expired' : 'expires'} ${new Date(link.expiresAt).toLocaleDateString()}` : 'no expiry');
    const who = element('div', 'share-who');
    who.append(element('span', 'share-name', 'Public link'), element('span', 'share-sub', facts.join(' · ')));
    const revoke = element('button', 'btn btn-ghost btn-sm share-remove', 'Revoke');
    revoke.type = 'button';
    revoke.addEventListener('click', () =>
      confirmAction({
        title: 'Revoke this link?',
        message: 'The link stops working at once; guests who have the file open through it are closed out.',
        confirmLabel: 'Revoke',
        action: () => api('DELETE', `${base()}/links/${encodeURIComponent(link.id)}`),
      }).then((done) => {
        if (done) {
          toast('Link revoked.');
          loadLinks();
        }
      }),
    );
    item.append(who, revoke);
    list.append(item);
  }
}

async function open(node) {
  current = node;
  dialog.querySelector('[data-share-name]').textContent = node.name;
  document.getElementById('share-links').hidden = node.kind !== 'file';
  document.getElementById('new-link').hidden = true;
  openDialog(dialog);
  try {
    await Promise.all([loadShares(), node.kind === 'file' ? loadLinks() : null]);
  } catch (error) {
    toast(error.message, 'error');
  }
}

if (dialog) {
  onFormSubmit(document.getElementById('share-form'), async (data, form) => {
    const username = String(data.get('username')).trim();
    const { share } = await api('POST', `${base()}/shares`, { username, role: data.get('role'), noDownload: data.get('noDownload') === 'true' });
    toast(`Shared with ${share.user.displayName} as ${roleLabels[share.role].toLowerCase()}.`);
    form.reset();
    await loadShares();
  }, { keepOpen: true });
  onFormSubmit(document.getElementById('link-form'), async (data, form) => {
    const body = { role: data.get('role'), noDownload: data.get('noDownload') === 'true' };
    if (data.get('password')) body.password = String(data.get('password'));
    // A date means "until the end of that day", in the browser's time zone.
    if (data.get('expires')) body.expiresAt = new Date(`${data.get('expires')}T23:59:59`).toISOString();
    const { link } = await api('POST', `${base()}/links`, body);
    form.reset();
    const box = document.getElementById('new-link');
    box.hidden = false;
    const input = document.getElementById('new-link-url');
    input.value = link.url;
    input.select();
    await loadLinks();
  }, { keepOpen: true });
  dialog.querySelector('[data-copy-link]').addEventListener('click', async () => {
    const input = document.getElementById('new-link-url');
    try {
      await navigator.clipboard.writeText(input.value);
      toast('Link copied.');
    } catch {
      input.select();
      toast('Press Ctrl+C (or ⌘C) to copy the selected link.', 'info');
    }
  });
  document.addEventListener('click', (event) => {
    const trigger = event.target.closest('[data-action="share"]');
    if (!trigger) return;
    open({ kind: trigger.dataset.kind, id: trigger.dataset.id, name: trigger.dataset.name });
  });
}
