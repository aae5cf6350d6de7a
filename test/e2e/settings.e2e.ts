import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPassword, screenshot, signIn, startStack, type Stack } from './support.js';

/** The admin connects the Document Server on the settings page: the check passes, then fails with a wrong secret. */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ configured: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('settings', () => {
  it('saves the Document Server once the connection check passes, and keeps it when a wrong secret fails the check', async () => {
    const { page } = await stack.open();
    await signIn(page, 'admin', adminPassword);
    // Nothing is configured yet: the file list says so.
    expect(await page.getByRole('status').first().textContent()).toContain('ONLYOFFICE is not configured');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Document Server address (as browsers reach it)').fill(stack.ds.url);
    await page.getByLabel('JWT secret', { exact: true }).fill(stack.secret);
    await page.getByRole('button', { name: 'Save and check' }).click();
    await expect.poll(() => page.locator('.settings-status-summary').textContent()).toContain('The last check passed: editing works.');
    const steps = await page.locator('.check-step').evaluateAll((items) => items.map((item) => item.className));
    expect(steps).toHaveLength(4);
    expect(steps.every((name) => name.includes('check-step-passed'))).toBe(true);
    await screenshot(page, 'settings-check-passed', { fullPage: false });

    await page.getByLabel('JWT secret', { exact: true }).fill('not the document server secret');
    await page.getByRole('button', { name: 'Save and check' }).click();
    await expect.poll(() => page.locator('.settings-status-summary').textContent()).toMatch(/The last check failed/);
    const failed = page.locator('.check-step-failed').first();
    expect(await failed.locator('.check-step-message').textContent()).toMatch(/secret|token|signature/i);
    await screenshot(page, 'settings-check-failed');
    // The refused save answers with an error status, which the browser reports.
    expect(stack.problems.splice(0).every((problem) => /status of 4\d\d/.test(problem))).toBe(true);

    // Nothing was saved: the working secret is still in use, so the check on demand passes.
    await page.getByRole('button', { name: 'Check connection now' }).click();
    await expect.poll(() => page.locator('.settings-status-summary').textContent()).toContain('The last check passed');
    expect(stack.problems).toEqual([]);
  });
});
