// Shared browser helpers, loaded on every page as an ES module.
// Page scripts (browser.js, file.js, users.js, account.js) import what they need from here.
// Nothing here relies on inline handlers: behaviour is wired through data-* attributes.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');

/** The session's CSRF token ('' when signed out). */
export const csrfToken = csrfMeta ? csrfMeta.getAttribute('content') || '' : '';

/** The largest upload the server accepts, in bytes (0 when unknown). */
export const maxUploadBytes = Number(document.body.dataset.maxUploadBytes) || 0;

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

// ---------------------------------------------------------------------------
// Formatting

/** "12.4 KB", the same way the server writes sizes. */
export function formatBytes(bytes) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return value === 1 ? '1 byte' : `${value} bytes`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const fullDayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** "Today, 14:05", "Yesterday, 09:12", "3 Mar, 14:05" or "3 Mar 2024", in the reader's time zone. */
export function formatMoment(date) {
  const now = new Date();
  const days = Math.round((startOfDay(now) - startOfDay(date)) / 86_400_000);
  if (days === 0) return `Today, ${timeFormat.format(date)}`;
  if (days === 1) return `Yesterday, ${timeFormat.format(date)}`;
  if (date.getFullYear() === now.getFullYear() && days > 0) return `${dayFormat.format(date)}, ${timeFormat.format(date)}`;
  return fullDayFormat.format(date);
}

/** Rewrites the server's UTC fallback text of every <time data-local> in local time. */
export function localizeTimes(root = document) {
  for (const element of root.querySelectorAll('time[data-local]')) {
    const date = new Date(element.getAttribute('datetime'));
    if (Number.isNaN(date.getTime())) continue;
    element.textContent = formatMoment(date);
    element.title = fullFormat.format(date);
  }
}

// ---------------------------------------------------------------------------
// Talking to the API

/** An Error carrying the server's error code and HTTP status. */
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function fallbackMessage(status) {
  if (status === 401) return 'Your session has ended. Reload the page and sign in again.';
  if (status === 403) return 'You are not allowed to do this.';
  if (status === 404) return 'It no longer exists; reload the page.';
  if (status === 413) return 'That is too large for the server.';
  if (status >= 500) return 'Something went wrong on the server. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

/** Builds the Error for a failed response from its body text ({error: {code, message}} when JSON). */
export function errorFromResponse(status, text) {
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  const error = data && typeof data === 'object' ? data.error : undefined;
  const message = error && typeof error.message === 'string' && error.message ? error.message : fallbackMessage(status);
  return new ApiError(message, status, error && error.code);
}

/**
 * Calls the JSON API with the session cookie and, for state changes, the CSRF header.
 * Resolves with the parsed body (null for 204); rejects with an ApiError holding the server's message.
 */
export async function api(method, url, body) {
  const upper = method.toUpperCase();
  const headers = { Accept: 'application/json' };
  if (!safeMethods.has(upper)) headers['X-CSRF-Token'] = csrfToken;
  const init = { method: upper, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError('Could not reach the server. Check your connection and try again.', 0, 'network');
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, text);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Sends one file as multipart/form-data with XMLHttpRequest so upload progress can be shown.
 * `fields` are appended before the file (the server reads them first). Resolves with the JSON answer.
 */
export function uploadFile({ method = 'POST', url, file, fields = {}, onProgress }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
        } catch {
          resolve(null);
        }
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError('The upload was interrupted. Check your connection and try again.', 0, 'network'));
    xhr.onabort = () => reject(new ApiError('The upload was cancelled.', 0, 'aborted'));
    xhr.send(form);
  });
}

/**
 * Polls a conversion job (from POST /api/files/:id/convert or an upload) until it is no longer running,
 * reporting its percent; resolves with the final job (state 'done' or 'failed').
 */
export async function waitForConversion(job, onProgress) {
  let current = job;
  while (current.state === 'running') {
    onProgress(current.percent);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      current = (await api('GET', current.pollUrl)).job;
    } catch (error) {
      return { state: 'failed', error: { code: error.code, message: error.message } };
    }
  }
  return current;
}

/** The message for a file over the upload limit, or '' when it fits. */
export function tooLargeMessage(file) {
  if (!maxUploadBytes || file.size <= maxUploadBytes) return '';
  return `“${file.name}” is ${formatBytes(file.size)}; the upload limit is ${formatBytes(maxUploadBytes)}.`;
}

// ---------------------------------------------------------------------------
// Toasts

const toastIcons = { success: 'check', error: 'alert', info: 'alert' };

function svgIcon(name, className = 'icon') {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', className);
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

/** Shows a short message bottom-right; kind is 'success' (default), 'error' or 'info'. */
export function toast(message, kind = 'success') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = document.createElement('div');
  item.className = `toast toast-${kind}`;
  const text = document.createElement('p');
  text.className = 'toast-message';
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'btn btn-icon btn-ghost toast-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.append(svgIcon('close'));
  item.append(svgIcon(toastIcons[kind] || 'alert', 'icon toast-icon'), text, close);

  let timer;
  const dismiss = () => {
    clearTimeout(timer);
    if (item.classList.contains('is-leaving')) return;
    item.classList.add('is-leaving');
    const remove = () => item.remove();
    item.addEventListener('transitionend', remove, { once: true });
    setTimeout(remove, 400);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(dismiss, kind === 'error' ? 9000 : 5000);
  };
  close.addEventListener('click', dismiss);
  item.addEventListener('mouseenter', () => clearTimeout(timer));
  item.addEventListener('mouseleave', schedule);
  item.addEventListener('focusin', () => clearTimeout(timer));
  item.addEventListener('focusout', schedule);
  region.append(item);
  while (region.children.length > 4) region.firstElementChild.remove();
  schedule();
}

// Messages that must survive a reload: stored, then shown by the next page (which also restores scroll).
const flashKey = 'dms:flash';

function here() {
  return location.pathname + location.search;
}

/** Reloads the page and shows `message` once it is back, at the same scroll position. */
export function reloadWithToast(message, kind = 'success') {
  try {
    window.sessionStorage.setItem(flashKey, JSON.stringify({ message, kind, path: here(), scrollY: window.scrollY }));
  } catch {
    /* storage unavailable: the reload still happens, without the message */
  }
  location.reload();
}

/** Goes to `url` and shows `message` there. */
export function navigateWithToast(url, message, kind = 'success') {
  try {
    window.sessionStorage.setItem(flashKey, JSON.stringify({ message, kind }));
  } catch {
    /* ignore */
  }
  location.assign(url);
}

function showFlash() {
  let flash;
  try {
    flash = JSON.parse(window.sessionStorage.getItem(flashKey) || 'null');
    window.sessionStorage.removeItem(flashKey);
  } catch {
    flash = null;
  }
  if (!flash || typeof flash.message !== 'string') return;
  if (flash.path === here() && typeof flash.scrollY === 'number') window.scrollTo(0, flash.scrollY);
  toast(flash.message, flash.kind === 'error' ? 'error' : 'success');
}

// ---------------------------------------------------------------------------
// Menus: a button with aria-haspopup="menu" and aria-controls pointing at a role="menu" list.

let openMenuButton = null;

function menuOf(button) {
  return document.getElementById(button.getAttribute('aria-controls'));
}

function menuItems(menu) {
  return [...menu.querySelectorAll('[role="menuitem"]')].filter((item) => !item.disabled && !item.hidden);
}

export function closeMenu({ restoreFocus = false } = {}) {
  const button = openMenuButton;
  if (!button) return;
  openMenuButton = null;
  const menu = menuOf(button);
  button.setAttribute('aria-expanded', 'false');
  if (menu) {
    menu.hidden = true;
    menu.classList.remove('menu-up');
  }
  if (restoreFocus) button.focus();
}

function openMenu(button, focusLast = false) {
  if (openMenuButton && openMenuButton !== button) closeMenu();
  const menu = menuOf(button);
  if (!menu) return;
  openMenuButton = button;
  button.setAttribute('aria-expanded', 'true');
  menu.hidden = false;
  // Open upwards when there is no room below but there is above.
  const rect = menu.getBoundingClientRect();
  const buttonRect = button.getBoundingClientRect();
  if (rect.bottom > window.innerHeight - 8 && buttonRect.top > rect.height + 8) menu.classList.add('menu-up');
  const items = menuItems(menu);
  const target = focusLast ? items[items.length - 1] : items[0];
  if (target) target.focus();
}

function initMenus() {
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[aria-haspopup="menu"]');
    if (button) {
      if (openMenuButton === button) closeMenu();
      else openMenu(button);
      return;
    }
    const item = event.target.closest('[role="menuitem"]');
    if (item && openMenuButton) {
      // Let the item's own action run first (it may read the menu's row), then close.
      setTimeout(() => closeMenu(), 0);
      return;
    }
    if (openMenuButton && !event.target.closest('[role="menu"]')) closeMenu();
  });

  document.addEventListener('keydown', (event) => {
    const button = event.target.closest && event.target.closest('[aria-haspopup="menu"]');
    if (button && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      openMenu(button, event.key === 'ArrowUp');
      return;
    }
    if (!openMenuButton) return;
    const menu = menuOf(openMenuButton);
    if (!menu || !menu.contains(event.target)) {
      if (event.key === 'Escape') closeMenu({ restoreFocus: true });
      return;
    }
    const items = menuItems(menu);
    const index = items.indexOf(document.activeElement);
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        items[(index + 1) % items.length]?.focus();
        break;
      case 'ArrowUp':
        event.preventDefault();
        items[(index - 1 + items.length) % items.length]?.focus();
        break;
      case 'Home':
        event.preventDefault();
        items[0]?.focus();
        break;
      case 'End':
        event.preventDefault();
        items[items.length - 1]?.focus();
        break;
      case 'Escape':
        event.preventDefault();
        closeMenu({ restoreFocus: true });
        break;
      case 'Tab':
        // Back on the button first, so the browser's Tab moves on from there.
        closeMenu({ restoreFocus: true });
        break;
      case ' ':
        // Space activates links too, like Enter does.
        if (document.activeElement && document.activeElement.tagName === 'A') {
          event.preventDefault();
          document.activeElement.click();
        }
        break;
      default:
        // Typing a letter jumps to the next item starting with it.
        if (event.key.length === 1 && /\S/.test(event.key)) {
          const letter = event.key.toLowerCase();
          const ordered = [...items.slice(index + 1), ...items.slice(0, index + 1)];
          ordered.find((item) => item.textContent.trim().toLowerCase().startsWith(letter))?.focus();
        }
    }
  });

  window.addEventListener('resize', () => closeMenu());
}

// ---------------------------------------------------------------------------
// Dialogs: <dialog class="dialog"> opened with showModal; [data-close] buttons and Escape close it.

/** Shows an error inside a dialog or form (its .dialog-error / .form-error element). */
export function showFormError(container, message) {
  const slot = container.querySelector('.dialog-error, .form-error');
  if (!slot) {
    if (message) toast(message, 'error');
    return;
  }
  slot.textContent = message;
  slot.hidden = !message;
}

/** showModal, remembering where focus should return (a menu's button rather than its hidden item). */
function showModal(dialog) {
  if (dialog.open) return;
  const active = document.activeElement;
  const fromMenu = openMenuButton && menuOf(openMenuButton)?.contains(active);
  const returnTo = fromMenu ? openMenuButton : active;
  dialog.addEventListener(
    'close',
    () => {
      // Typed values (passwords above all) do not linger in a closed dialog.
      const form = dialog.querySelector('form');
      if (form) form.reset();
      for (const field of dialog.querySelectorAll('[data-confirm-for]')) field.setCustomValidity('');
      if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
    },
    { once: true },
  );
  dialog.showModal();
}

export function openDialog(dialog) {
  showFormError(dialog, '');
  showModal(dialog);
  const autofocus = dialog.querySelector('[autofocus]') || dialog.querySelector('input:not([type="hidden"]), select, textarea');
  if (autofocus) autofocus.focus();
}

export function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}

/** Marks a button busy (disabled, aria-busy) while a request runs. */
export function setBusy(button, busy) {
  if (!button) return;
  button.disabled = busy;
  if (busy) button.setAttribute('aria-busy', 'true');
  else button.removeAttribute('aria-busy');
}

/**
 * Runs `handler(formData, form)` when a dialog's (or any) form is submitted; while it runs the submit
 * button is busy. A thrown error is shown in the form and the dialog stays open; on success a
 * surrounding dialog closes, unless `keepOpen` (a form that is one part of a bigger dialog).
 */
export function onFormSubmit(form, handler, { keepOpen = false } = {}) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submit = event.submitter || form.querySelector('[type="submit"]');
    if (submit && submit.disabled) return;
    showFormError(form, '');
    setBusy(submit, true);
    try {
      await handler(new FormData(form), form);
      const dialog = form.closest('dialog');
      if (dialog && !keepOpen) closeDialog(dialog);
    } catch (error) {
      showFormError(form, error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(submit, false);
    }
  });
}

function initDialogs() {
  document.addEventListener('click', (event) => {
    const closer = event.target.closest('[data-close]');
    if (closer) {
      const dialog = closer.closest('dialog');
      if (dialog) closeDialog(dialog);
      return;
    }
    // A click on the backdrop (the dialog element itself, outside its form) closes it.
    if (event.target instanceof window.HTMLDialogElement && event.target.open) {
      const rect = event.target.getBoundingClientRect();
      const inside =
        event.clientX >= rect.left && event.clientX <= rect.right && event.clientY >= rect.top && event.clientY <= rect.bottom;
      if (!inside) closeDialog(event.target);
    }
  });
}

/**
 * Asks for confirmation in the shared #confirm-dialog. `action` runs when confirmed; if it throws,
 * the message is shown in the dialog, which stays open. Resolves true once the action succeeded.
 */
export function confirmAction({ title, message, confirmLabel = 'Delete', danger = true, action }) {
  const dialog = document.getElementById('confirm-dialog');
  if (!dialog) return Promise.resolve(false);
  const form = dialog.querySelector('form');
  const button = dialog.querySelector('[data-confirm-button]');
  dialog.querySelector('.dialog-title').textContent = title;
  dialog.querySelector('.dialog-text').textContent = message;
  button.textContent = confirmLabel;
  button.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  return new Promise((resolve) => {
    let succeeded = false;
    const onSubmit = async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      showFormError(dialog, '');
      setBusy(button, true);
      try {
        await action();
        succeeded = true;
        closeDialog(dialog);
      } catch (error) {
        showFormError(dialog, error instanceof Error ? error.message : String(error));
      } finally {
        setBusy(button, false);
      }
    };
    const onClose = () => {
      form.removeEventListener('submit', onSubmit);
      // Resolve after the dialog's own focus restoration, so the caller may move focus elsewhere.
      setTimeout(() => resolve(succeeded), 0);
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose, { once: true });
    showFormError(dialog, '');
    showModal(dialog);
    // Start on Cancel, so Enter does not destroy anything by accident.
    dialog.querySelector('[data-close]')?.focus();
  });
}

// ---------------------------------------------------------------------------
// Forms

/** Fields with data-confirm-for="otherId" must equal that field. */
function initPasswordPairs() {
  const check = (confirm) => {
    const original = document.getElementById(confirm.dataset.confirmFor);
    if (!original) return;
    confirm.setCustomValidity(confirm.value && confirm.value !== original.value ? 'The two passwords differ.' : '');
  };
  document.addEventListener('input', (event) => {
    const target = event.target;
    if (!(target instanceof window.HTMLInputElement)) return;
    if (target.dataset.confirmFor) check(target);
    for (const confirm of document.querySelectorAll(`[data-confirm-for="${window.CSS.escape(target.id)}"]`)) check(confirm);
  });
}

/** Plain HTML forms (sign-in, set-up): disable the submit button so a double click posts once. */
function initPlainForms() {
  for (const form of document.querySelectorAll('form[data-plain-form]')) {
    form.addEventListener('submit', () => {
      const submit = form.querySelector('[type="submit"]');
      if (submit) setTimeout(() => setBusy(submit, true), 0);
    });
  }
}

// ---------------------------------------------------------------------------

initMenus();
initDialogs();
initPasswordPairs();
initPlainForms();
localizeTimes();
showFlash();
