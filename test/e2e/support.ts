import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DocumentServerStandIn } from '../helpers/document-server.js';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.js';

/** Debian's Chromium; set CHROMIUM_PATH to use another build. No browser is ever downloaded. */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const screenshotDir = path.resolve('test-results', 'screenshots');
export const adminPassword = 'correct horse battery staple';


/** The real server (a child process on 127.0.0.1), the Document Server stand-in beside it, and Chromium. */
export interface Stack {
  server: ServerProcess;
  url: string;
  ds: DocumentServerStandIn;
  secret: string;
  browser: Browser;
  /** Console errors and page errors seen on any page opened with `open()`; each test expects none. */
  problems: string[];
  /** A new browser context (its own cookies) and page that reports its problems. */
  open(options?: { viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/**
 * Starts everything. `admin: false` leaves the first-admin set-up to the test; `configured: false`
 * leaves the Document Server address and secret to the settings page.
 */
export async function startStack(options: { admin?: boolean; configured?: boolean } = {}): Promise<Stack> {
  const secret = 'e2e-shared-jwt-secret-0123456789';
  const ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [50, 100, 200] });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    DATA_DIR: dataDir,
    PORT: String(port),
    PUBLIC_URL: url,
    ...(options.configured === false ? {} : { DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }),
    ...(options.admin === false ? {} : { ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: adminPassword }),
  });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    server,
    url,
    ds,
    secret,
    browser,
    problems,
    async open(openOptions = {}) {
      const context = await browser.newContext({ baseURL: url, viewport: openOptions.viewport ?? { width: 1280, height: 800 } });
      contexts.push(context);
      const page = await context.newPage();
      watch(page, problems);
      context.on('page', (other) => watch(other, problems));
      return { context, page };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      server.child.kill('SIGTERM');
      await server.exited;
      await ds.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function watch(page: Page, problems: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${page.url()}: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
}

/** Signs in through the sign-in page. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((target) => !target.pathname.startsWith('/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** Calls the DMS API from the page, as its own scripts do (cookie and CSRF token). */
export async function apiFrom<T = unknown>(page: Page, method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const response = await fetch(url, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, url, body },
  );
}

/** Saves a screenshot of the page under test-results/screenshots. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: options.fullPage ?? false });
}

/** Resolves when `check` returns true, polling; fails with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
