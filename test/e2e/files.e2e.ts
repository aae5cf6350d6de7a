import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { fixture } from '../helpers/test-app.js';
import { apiFrom, screenshot, signIn, startStack, type Stack } from './support.js';

/** The first admin, signing in and out, and the everyday file work: folders, drag-and-drop uploads, rename, move, delete. */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ admin: false });
});
afterAll(async () => {
  await stack?.close();
});

/** Drops files onto the file list the way a desktop file manager would (a DataTransfer with File objects). */
async function dropFiles(page: Page, files: Array<{ name: string; mimeType: string; data: Buffer }>): Promise<void> {
  const transfer = await page.evaluateHandle((list) => {
    const data = new DataTransfer();
    for (const file of list) data.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.mimeType }));
    return data;
  }, files.map((file) => ({ name: file.name, mimeType: file.mimeType, base64: file.data.toString('base64') })));
  const zone = page.locator('[data-dropzone]');
  await zone.dispatchEvent('dragenter', { dataTransfer: transfer });
  await zone.dispatchEvent('dragover', { dataTransfer: transfer });
  await zone.dispatchEvent('drop', { dataTransfer: transfer });
}

async function rowNames(page: Page): Promise<string[]> {
  return page.locator('.file-row .name-link').allTextContents();
}

describe('first start', () => {
  it('sets up the first admin, signs out and signs in again', async () => {
    const { page } = await stack.open();
    await page.goto('/');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/setup');
    await screenshot(page, 'setup');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Display name').fill('Alice Admin');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
    await page.getByLabel('Repeat the password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(/\/folders\//);
    await expect.poll(() => page.locator('.user-name').textContent()).toBe('Alice Admin');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    // Signed out means signed out: the file list sends the browser back to the sign-in page.
    await page.goto('/');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
    await screenshot(page, 'login');

    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong username or password.');
    // The refused sign-in answers 401, which the browser reports; nothing else may appear.
    expect(stack.problems.splice(0)).toEqual([expect.stringContaining('status of 401 (Unauthorized)')]);
    await signIn(page, 'alice', 'correct horse battery staple');
    expect(new URL(page.url()).pathname).toMatch(/^\/folders\//);
    expect(stack.problems).toEqual([]);
  });
});

describe('working with files', () => {
  let page: Page;

  beforeAll(async () => {
    ({ page } = await stack.open());
    await signIn(page, 'alice', 'correct horse battery staple');
  });

  it('creates a folder from the New menu', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('menuitem', { name: 'Folder' }).click();
    await page.getByLabel('Folder name').fill('Projects');
    await page.getByRole('button', { name: 'Create folder' }).click();
    await expect.poll(() => rowNames(page)).toContain('Projects');
    await expect.poll(() => page.locator('.toast').last().textContent()).toContain('Projects');
    expect(stack.problems).toEqual([]);
  });

  it('uploads two dropped files, one progress bar each, and lists them', async () => {
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.waitForURL(/\/folders\//);
    // Upload slowly enough to see the bars move: 4 MiB at 8 MiB/s.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 8 * 1024 * 1024 });
    // Sample every bar's value on each frame, so the test sees the progress the person sees.
    await page.evaluate(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { __progress: typeof seen }).__progress = seen;
      const sample = () => {
        for (const bar of document.querySelectorAll<HTMLProgressElement>('#upload-list progress')) {
          const name = bar.getAttribute('aria-label') ?? '';
          const values = (seen[name] ??= []);
          if (values[values.length - 1] !== bar.value) values.push(bar.value);
        }
        requestAnimationFrame(sample);
      };
      sample();
    });
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    await dropFiles(page, [
      { name: 'Report.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', data: fixture('sample.docx') },
      { name: 'Data.bin', mimeType: 'application/octet-stream', data: big },
    ]);
    await page.locator('#upload-panel').waitFor({ state: 'visible' });
    const readProgress = () => page.evaluate(() => (window as unknown as { __progress: Record<string, number[]> }).__progress);
    await expect.poll(async () => ((await readProgress())['Upload of Data.bin'] ?? []).some((value) => value > 0 && value < 100)).toBe(true);
    await screenshot(page, 'upload-progress');
    const progress = await readProgress();
    // The page reloads when both are done; the list then has both files.
    await page.waitForURL(/\/folders\//);
    await expect.poll(() => rowNames(page), { timeout: 20_000 }).toEqual(['Data.bin', 'Report.docx']);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(Object.keys(progress).sort()).toEqual(['Upload of Data.bin', 'Upload of Report.docx']);
    const bigBar = progress['Upload of Data.bin']!;
    expect(bigBar.some((value) => value > 0 && value < 100)).toBe(true);
    expect(bigBar).toEqual([...bigBar].sort((a, b) => a - b));
    const listed = await apiFrom<{ items: Array<{ name: string; size: number }> }>(page, 'GET', `/api/files?folderId=${await page.locator('.list-area').getAttribute('data-folder-id')}`);
    expect(listed.body.items.find((item) => item.name === 'Data.bin')?.size).toBe(big.length);
    expect(stack.problems).toEqual([]);
  });

  it('creates a blank document', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('menuitem', { name: /Document/ }).click();
    await page.getByLabel('Name', { exact: true }).fill('Minutes');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => rowNames(page)).toContain('Minutes.docx');
    // A document gets the document icon.
    await expect.poll(() => page.locator('.file-row', { hasText: 'Minutes.docx' }).locator('.type-icon.type-document').count()).toBe(1);
    await screenshot(page, 'file-list');
    expect(stack.problems).toEqual([]);
  });

  it('renames, moves and deletes from a row’s menu, asking before deleting', async () => {
    const row = (name: string) => page.locator('.file-row', { has: page.getByRole('link', { name, exact: true }) });
    await row('Minutes.docx').getByRole('button', { name: 'Actions for Minutes.docx' }).click();
    await page.getByRole('menuitem', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('Minutes 2026.docx');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => rowNames(page)).toContain('Minutes 2026.docx');

    await row('Minutes 2026.docx').getByRole('button', { name: 'Actions for Minutes 2026.docx' }).click();
    await page.getByRole('menuitem', { name: 'Move' }).click();
    await page.getByLabel('Move to folder').selectOption({ label: 'Home' });
    await page.getByRole('button', { name: 'Move here' }).click();
    await expect.poll(() => rowNames(page)).not.toContain('Minutes 2026.docx');

    await row('Data.bin').getByRole('button', { name: 'Actions for Data.bin' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete file' });
    await confirm.waitFor();
    // Cancel is focused first, so Enter cannot destroy anything by accident.
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Cancel');
    await screenshot(page, 'confirm-delete');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => rowNames(page)).toEqual(['Report.docx']);

    await page.goto('/');
    await expect.poll(() => rowNames(page)).toEqual(['Projects', 'Minutes 2026.docx']);
    expect(stack.problems).toEqual([]);
  });
});
