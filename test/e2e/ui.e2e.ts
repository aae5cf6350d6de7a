import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/test-app.js';
import { adminPassword, apiFrom, screenshot, signIn, startStack, type Stack } from './support.js';

/**
 * What every page must be: labelled for assistive technology, usable by keyboard with a visible focus,
 * free of layout shift while loading, usable on a phone, and free of console errors.
 */
let stack: Stack;
let page: Page;
const pages: Array<{ name: string; path: string }> = [];

beforeAll(async () => {
  stack = await startStack();
  ({ page } = await stack.open());
  await signIn(page, 'admin', adminPassword);
  const folder = (await apiFrom<{ folder: { id: string } }>(page, 'POST', '/api/folders', { name: 'Reports 2026' })).body.folder.id;
  const fileId = await page.evaluate(async (base64) => {
    const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
    const form = new FormData();
    form.append('file', new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'Quarterly review.xlsx'));
    return ((await (await fetch('/api/files', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, body: form })).json()) as { file: { id: string } }).file.id;
  }, fixture('sample.xlsx').toString('base64'));
  for (const [name, type] of [['Minutes', 'docx'], ['Roadmap', 'pptx'], ['Notes', 'txt']]) await apiFrom(page, 'POST', '/api/files/new', { name, type });
  const home = (await apiFrom<{ folder: { id: string } }>(page, 'GET', '/api/folders/home')).body.folder.id;
  pages.push(
    { name: 'file list', path: `/folders/${home}` },
    { name: 'folder', path: `/folders/${folder}` },
    { name: 'file page', path: `/files/${fileId}` },
    { name: 'search', path: '/search?q=e' },
    { name: 'shared with me', path: '/shared' },
    { name: 'notifications', path: '/notifications' },
    { name: 'users', path: '/users' },
    { name: 'account', path: '/account' },
    { name: 'settings', path: '/settings' },
  );
});
afterAll(async () => {
  await stack?.close();
});

/** Every form control and button without an accessible name, described. */
function unlabelled(target: Page): Promise<string[]> {
  return target.evaluate(() => {
    const named = (element: Element): boolean => {
      if (element.getAttribute('aria-label')?.trim()) return true;
      const labelledBy = element.getAttribute('aria-labelledby');
      if (labelledBy && labelledBy.split(' ').some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if ((element as HTMLInputElement).labels?.length) return true;
      if (element.closest('label')) return true;
      return element.tagName === 'BUTTON' || element.tagName === 'A' ? Boolean(element.textContent?.trim()) : false;
    };
    const problems: string[] = [];
    for (const element of document.querySelectorAll('input:not([type="hidden"]), select, textarea, button, a[href]')) {
      if (!named(element)) problems.push(element.outerHTML.slice(0, 120));
    }
    for (const image of document.querySelectorAll('img:not([alt])')) problems.push(image.outerHTML.slice(0, 120));
    for (const icon of document.querySelectorAll('svg:not([aria-hidden="true"]):not([role="img"])')) {
      if (!icon.closest('[hidden]') && icon.parentElement?.tagName !== 'BODY') problems.push(icon.outerHTML.slice(0, 120));
    }
    return problems;
  });
}

/**
 * The layout shifts the page recorded while loading: their total, and what moved (for the report).
 * Sub-pixel shifts from text rendering (under 0.001, about a hundredth of what browsers flag as
 * noticeable) are not counted as a shift.
 */
async function layoutShift(target: Page): Promise<number> {
  const found = await target.evaluate(
    () =>
      new Promise<{ total: number; moved: string[] }>((resolve) => {
        let total = 0;
        const moved: string[] = [];
        type Shift = PerformanceEntry & { value: number; hadRecentInput: boolean; sources: Array<{ node?: Node }> };
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries() as Shift[]) {
            if (entry.hadRecentInput) continue;
            total += entry.value;
            for (const source of entry.sources) moved.push(source.node instanceof Element ? source.node.className || source.node.tagName : String(source.node?.nodeName));
          }
        }).observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => resolve({ total, moved }), 300);
      }),
  );
  if (found.total >= 0.001) console.warn(`layout shift ${found.total} on ${target.url()}: ${found.moved.join(', ')}`);
  return found.total < 0.001 ? 0 : found.total;
}

describe('every page', () => {
  it('names every control, shifts nothing while loading, and logs no error', async () => {
    const report: Record<string, { unlabelled: string[]; shift: number }> = {};
    for (const entry of pages) {
      await page.goto(entry.path);
      await page.waitForLoadState('networkidle');
      report[entry.name] = { unlabelled: await unlabelled(page), shift: Number((await layoutShift(page)).toFixed(4)) };
    }
    const faults = Object.entries(report).filter(([, found]) => found.unlabelled.length > 0 || found.shift > 0);
    expect(faults).toEqual([]);
    expect(Object.keys(report)).toHaveLength(pages.length);
    expect(stack.problems).toEqual([]);
  });

  it('the signed-out pages too: sign-in and a public link', async () => {
    const fileId = (await apiFrom<{ items: Array<{ id: string; name: string }> }>(page, 'GET', '/api/files?q=Minutes')).body.items[0]!.id;
    const link = (await apiFrom<{ link: { url: string } }>(page, 'POST', `/api/files/${fileId}/links`, { role: 'viewer', password: 'open sesame' })).body.link.url;
    const { page: visitor } = await stack.open({ viewport: { width: 375, height: 740 } });
    const report: Record<string, { unlabelled: string[]; shift: number; overflow: number }> = {};
    for (const [name, address] of [['sign-in', '/login'], ['public link', link]] as const) {
      await visitor.goto(address);
      await visitor.waitForLoadState('networkidle');
      report[name] = {
        unlabelled: await unlabelled(visitor),
        shift: Number((await layoutShift(visitor)).toFixed(4)),
        overflow: await visitor.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
      };
    }
    expect(report).toEqual({ 'sign-in': { unlabelled: [], shift: 0, overflow: 0 }, 'public link': { unlabelled: [], shift: 0, overflow: 0 } });
    await screenshot(visitor, 'phone-public-link-password');
    expect(stack.problems).toEqual([]);
  });

  it('fits a phone screen: no sideways scrolling, and the main actions are on screen', async () => {
    const { page: phone } = await stack.open({ viewport: { width: 375, height: 740 } });
    await signIn(phone, 'admin', adminPassword);
    const overflow: Record<string, number> = {};
    for (const entry of pages) {
      await phone.goto(entry.path);
      overflow[entry.name] = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    }
    expect(overflow).toEqual(Object.fromEntries(pages.map((entry) => [entry.name, 0])));
    await phone.goto(pages[0]!.path);
    const upload = await phone.getByRole('button', { name: 'Upload' }).boundingBox();
    expect(upload && upload.x >= 0 && upload.x + upload.width <= 375).toBe(true);
    await screenshot(phone, 'phone-file-list');
    await phone.goto(pages[2]!.path);
    await screenshot(phone, 'phone-file-page');
    expect(stack.problems).toEqual([]);
  });
});

describe('keyboard', () => {
  it('reaches the content by the skip link, shows where the focus is, and works the row menu', async () => {
    await page.goto(pages[0]!.path);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Skip to content');
    // Each focused element shows a focus ring (an outline or a box shadow).
    for (let step = 0; step < 8; step += 1) {
      const ring = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement!);
        return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
      });
      expect(ring, `focus ring on step ${step}`).toBe(true);
      await page.keyboard.press('Tab');
    }

    const menuButton = page.getByRole('button', { name: 'Actions for Minutes.docx' });
    await menuButton.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('menuitem');
    await page.keyboard.press('ArrowDown');
    const second = await page.evaluate(() => document.activeElement?.textContent?.trim());
    expect(second).toBeTruthy();
    await page.keyboard.press('Escape');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Actions for Minutes.docx');
    expect(await menuButton.getAttribute('aria-expanded')).toBe('false');

    // F2 on a focused name renames; the dialog opens with the name selected, Escape closes it.
    await page.getByRole('link', { name: 'Minutes.docx', exact: true }).focus();
    await page.keyboard.press('F2');
    const dialog = page.getByRole('dialog', { name: 'Rename file' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('New name').inputValue()).toBe('Minutes.docx');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await screenshot(page, 'file-list-keyboard');
    expect(stack.problems).toEqual([]);
  });
});
