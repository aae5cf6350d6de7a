import jwt from 'jsonwebtoken';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/test-app.js';
import { adminPassword, apiFrom, eventually, screenshot, signIn, startStack, type Stack } from './support.js';

/** The editor page against the stand-in's api.js, a live co-editing session, sharing, and a public link. */
let stack: Stack;
let alicePage: Page;
let fileId: string;

/** Uploads a file from the page, as the page's own scripts would. */
async function uploadFrom(page: Page, name: string, data: Buffer): Promise<string> {
  return page.evaluate(
    async ({ name, base64 }) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const form = new FormData();
      form.append('file', new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
      const response = await fetch('/api/files', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, body: form });
      return ((await response.json()) as { file: { id: string } }).file.id;
    },
    { name, base64: data.toString('base64') },
  );
}

/** What the page handed to DocsAPI.DocEditor, once the stand-in has it. */
async function editorOpenedFor(key: (entry: Stack['ds']['pageEditors'][number]) => boolean) {
  await eventually(() => stack.ds.pageEditors.some(key), 'the editor page to hand its config to DocsAPI.DocEditor');
  return stack.ds.pageEditors.filter(key).at(-1)!;
}

beforeAll(async () => {
  stack = await startStack();
  ({ page: alicePage } = await stack.open());
  await signIn(alicePage, 'admin', adminPassword);
  await apiFrom(alicePage, 'POST', '/api/users', { username: 'bob', displayName: 'Bob', password: 'bob password 1', role: 'user' });
  fileId = await uploadFrom(alicePage, 'Plan.docx', fixture('sample.docx'));
});
afterAll(async () => {
  await stack?.close();
});

describe('the editor page', () => {
  it('hands DocsAPI.DocEditor the signed config and the events, and the Document Server accepts it', async () => {
    await alicePage.goto(`/editor/${fileId}`);
    const opened = await editorOpenedFor((entry) => entry.config.document.title === 'Plan.docx');
    const { config, events } = opened;
    // The token is the Document Server's secret over exactly what the editor uses.
    const claims = jwt.verify(config.token!, stack.secret, { algorithms: ['HS256'] }) as Record<string, unknown>;
    expect(claims.document).toEqual(config.document);
    expect(claims.editorConfig).toEqual(config.editorConfig);
    expect(config.editorConfig.mode).toBe('edit');
    expect(config.editorConfig.user.name).toBe('admin');
    expect(config.editorConfig.callbackUrl).toMatch(new RegExp(`^${stack.url}/track\\?ref=`));
    expect(config.document.url).toMatch(new RegExp(`^${stack.url}/download\\?ref=`));
    expect(config.document.permissions).toMatchObject({ edit: true, download: true });
    expect(events).toEqual(expect.arrayContaining(['onRequestClose', 'onRequestHistory', 'onRequestHistoryData', 'onRequestRestore', 'onRequestRename', 'onRequestUsers', 'onRequestSendNotify', 'onError']));
    // The stand-in opened the document (checking the token, downloading the file) and the admin joined it.
    await eventually(() => stack.ds.getSession(config.document.key)?.editors.length === 1, 'the session to start');
    expect(opened.error).toBeUndefined();
    // The editor's frame replaced the placeholder, full window.
    const frame = alicePage.locator('iframe[name="frameEditor"]');
    expect(await frame.getAttribute('src')).toContain(`${stack.ds.url}/web-apps/apps/api/documents/frame.html`);
    await screenshot(alicePage, 'editor');
    expect(stack.problems).toEqual([]);
  });

  it('answers the editor’s requests: people for mentions, the version history', async () => {
    await alicePage.evaluate(() => (window as unknown as { __standInEditor: { fire(name: string, data?: unknown): boolean } }).__standInEditor.fire('onRequestUsers', { c: 'mention' }));
    await eventually(() => stack.ds.pageCalls.some((call) => call.method === 'setUsers'), 'setUsers');
    const setUsers = stack.ds.pageCalls.find((call) => call.method === 'setUsers')!;
    expect(setUsers.args[0]).toEqual({ c: 'mention', users: [expect.objectContaining({ email: 'admin', name: 'admin' })] });

    await alicePage.evaluate(() => (window as unknown as { __standInEditor: { fire(name: string): boolean } }).__standInEditor.fire('onRequestHistory'));
    await eventually(() => stack.ds.pageCalls.some((call) => call.method === 'refreshHistory'), 'refreshHistory');
    const history = stack.ds.pageCalls.find((call) => call.method === 'refreshHistory')!.args[0] as { currentVersion: number; history: Array<{ version: number }> };
    expect(history.currentVersion).toBe(1);
    expect(history.history.map((entry) => entry.version)).toEqual([1]);
    expect(stack.problems).toEqual([]);
  });

  it('shows the session live in the file list, and the saved version once everyone has left', async () => {
    const { page: listPage } = await stack.open();
    await signIn(listPage, 'admin', adminPassword);
    const row = listPage.locator('.file-row', { hasText: 'Plan.docx' });
    await expect.poll(() => row.locator('.editing-badge').textContent()).toContain('Being edited by admin');
    await screenshot(listPage, 'file-list-editing');

    // The admin types, then closes the editor: the stand-in sends status 2 with the new content.
    const key = stack.ds.pageEditors.find((entry) => entry.config.document.title === 'Plan.docx')!.config.document.key;
    const session = stack.ds.getSession(key)!;
    session.edit(session.editors[0]!, Buffer.from('edited in the stand-in'));
    await alicePage.goto('/');
    // The list polls every 10 seconds; the badge goes when the session has ended.
    await expect.poll(() => row.locator('.editing-badge').count(), { timeout: 25_000 }).toBe(0);
    await stack.ds.settled();
    const { body } = await apiFrom<{ versions: Array<{ number: number; kind: string; size: number }> }>(listPage, 'GET', `/api/files/${fileId}/versions`);
    expect(body.versions[0]).toMatchObject({ number: 2, kind: 'edit', size: 'edited in the stand-in'.length });
    expect(stack.problems).toEqual([]);
  });
});

describe('conversion in the browser', () => {
  it('converts a legacy .doc to .docx from the file page, showing progress, and opens the new file', async () => {
    const legacy = await uploadFrom(alicePage, 'Old minutes.doc', fixture('sample.doc'));
    await alicePage.goto(`/files/${legacy}`);
    await alicePage.getByRole('button', { name: 'Convert to .docx' }).click();
    const dialog = alicePage.getByRole('dialog', { name: 'Convert to .docx' });
    // Remember every progress value the dialog shows until the page moves on.
    await alicePage.evaluate(() => {
      const seen: number[] = [];
      const sample = () => {
        const box = document.getElementById('convert-progress');
        const bar = document.getElementById('convert-progress-bar') as HTMLProgressElement | null;
        if (box && bar && !box.hidden && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
        sessionStorage.setItem('convert-progress', JSON.stringify(seen));
        requestAnimationFrame(sample);
      };
      sample();
    });
    await dialog.getByRole('button', { name: 'Convert' }).click();
    // The stand-in answers "still working" before the result, so the page shows progress, then the new file.
    await alicePage.waitForURL((url) => url.pathname.startsWith('/files/') && !url.pathname.endsWith(legacy), { timeout: 20_000 });
    await expect.poll(() => alicePage.locator('h1').textContent()).toBe('Old minutes.docx');
    await expect.poll(() => alicePage.locator('.toast').last().textContent()).toContain('Converted to “Old minutes.docx”');
    const shown = JSON.parse((await alicePage.evaluate(() => sessionStorage.getItem('convert-progress'))) ?? '[]') as number[];
    expect(shown.length).toBeGreaterThan(0);
    const conversions = stack.ds.conversions.filter((entry) => entry.claims.outputtype === 'docx');
    expect(conversions.length).toBeGreaterThan(1);
    expect(conversions[0]!.answer).toMatchObject({ endConvert: false });
    expect(stack.problems).toEqual([]);
  });
});

describe('sharing in the browser', () => {
  it('shares with a second user, who then finds the file and opens it with their role', async () => {
    await alicePage.goto(`/files/${fileId}`);
    await alicePage.locator('.file-actions').getByRole('button', { name: 'Share' }).click();
    const dialog = alicePage.getByRole('dialog', { name: /Share/ });
    await dialog.getByLabel('Username').fill('bob');
    await dialog.getByLabel('Role', { exact: true }).first().selectOption('commenter');
    await dialog.getByRole('button', { name: 'Share', exact: true }).click();
    await expect.poll(() => dialog.locator('#share-list').textContent()).toContain('Bob');
    await screenshot(alicePage, 'share-dialog');
    await dialog.getByRole('button', { name: 'Done' }).click();

    const { page: bobPage } = await stack.open();
    await signIn(bobPage, 'bob', 'bob password 1');
    await expect.poll(() => bobPage.locator('.notify-count').textContent()).toBe('1');
    await bobPage.getByRole('link', { name: 'Shared with me' }).click();
    await bobPage.getByRole('link', { name: 'Plan.docx' }).click();
    await expect.poll(() => bobPage.locator('.role-badge').textContent()).toContain('commenter');
    await screenshot(bobPage, 'file-page-shared');
    await bobPage.getByRole('link', { name: 'Comment in ONLYOFFICE' }).click();
    const opened = await editorOpenedFor((entry) => entry.config.editorConfig.user.name === 'Bob');
    expect(opened.config.editorConfig.mode).toBe('edit');
    expect(opened.config.document.permissions).toMatchObject({ edit: false, comment: true, review: false });
    expect(opened.events).not.toContain('onRequestRename');
    expect(stack.problems).toEqual([]);
  });

  it('a public link opens in a fresh browser, for a guest with a name', async () => {
    await alicePage.goto(`/files/${fileId}`);
    await alicePage.locator('.file-actions').getByRole('button', { name: 'Share' }).click();
    const dialog = alicePage.getByRole('dialog', { name: /Share/ });
    await dialog.locator('#link-role').selectOption('viewer');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    await dialog.locator('#new-link').waitFor({ state: 'visible' });
    const link = await dialog.getByLabel('New link: copy it now').inputValue();
    expect(link).toMatch(new RegExp(`^${stack.url}/s/[\\w-]{43}$`));

    const guestContext = await stack.browser.newContext();
    try {
      const guest = await guestContext.newPage();
      guest.on('pageerror', (error) => stack.problems.push(`guest: ${error.message}`));
      await guest.goto(link);
      expect(await guest.getByRole('heading', { name: 'Plan.docx' }).count()).toBe(1);
      await screenshot(guest, 'public-link');
      await guest.getByLabel(/Your name/).fill('Zoe');
      await guest.getByRole('button', { name: 'Open in ONLYOFFICE' }).click();
      const opened = await editorOpenedFor((entry) => entry.config.editorConfig.user.name === 'Zoe (guest)');
      expect(opened.config.editorConfig.mode).toBe('view');
      expect(opened.config.editorConfig.callbackUrl).toBeUndefined();
      expect(opened.config.editorConfig.user.id).toMatch(/^g-/);
      // A guest has no account: no history, mentions or renaming.
      expect(opened.events).not.toContain('onRequestHistory');
      expect(opened.events).not.toContain('onRequestUsers');
    } finally {
      await guestContext.close();
    }
    expect(stack.problems).toEqual([]);
  });
});
