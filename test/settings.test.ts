import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentServerStandIn } from './helpers/document-server.js';
import { createServedTestApp, fixture, testAppSecret, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

const secret = 'settings-test-shared-secret';
const checkTimeouts = { timeoutMs: 3000, conversionTimeoutMs: 5000, pollIntervalMs: 20 };

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let admin: BrowserSession;

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeEach(async () => {
  ds = await DocumentServerStandIn.start({ secret, downloadRetryDelayMs: 10 });
  t = await createServedTestApp(() => ({}), { checkTimeouts });
  admin = await t.signedInUser('root', 'admin');
});
afterEach(async () => {
  await ds.close();
  await t.close();
});

function put(session: BrowserSession, body: Record<string, unknown>) {
  return t.request.put('/api/settings').set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken).send(body);
}

async function current() {
  return (await t.request.get('/api/settings').set('Cookie', admin.cookie)).body;
}

function failedStep(response: { body: { check: { steps: Array<{ id: string; status: string; message: string }> } } }, id: string) {
  const step = response.body.check.steps.find((entry) => entry.id === id)!;
  expect(step.status).toBe('failed');
  return step.message;
}

async function saveWorkingSettings() {
  const saved = await put(admin, { documentServerUrl: ds.url, jwtSecret: secret });
  expect(saved.status).toBe(200);
  expect(saved.body.saved).toBe(true);
}

describe('saving settings runs the connection check', () => {
  it('passes every step against a working Document Server and stores the settings', async () => {
    const saved = await put(admin, { documentServerUrl: ds.url, jwtSecret: secret });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ saved: true, check: { ok: true, version: '9.3.0.1' } });
    expect(saved.body.check.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ['mixed-content', 'passed'],
      ['healthcheck', 'passed'],
      ['command', 'passed'],
      ['conversion', 'passed'],
    ]);
    // The Document Server really fetched the test file from this DMS with its token.
    expect(ds.conversions.length).toBeGreaterThan(0);
    expect(ds.commands.at(-1)!.claims).toMatchObject({ c: 'version' });

    const settings = await current();
    expect(settings.settings.values.documentServerUrl).toBe(ds.url);
    expect(settings.settings.jwtSecretSet).toBe(true);
    expect(settings.lastCheck.ok).toBe(true);
    expect(settings.audit.find((entry: { name: string }) => entry.name === 'jwtSecret')).toMatchObject({ oldValue: null, newValue: '(set)' });
  });

  it('warns on the settings page while the connection has no JWT secret', async () => {
    ds.healthcheck = 'true';
    await put(admin, { documentServerUrl: ds.url, saveAnyway: true });
    const page = await t.request.get('/settings').set('Cookie', admin.cookie);
    expect(page.text).toContain('The Document Server connection is unauthenticated');
    await put(admin, { jwtSecret: secret });
    expect((await t.request.get('/settings').set('Cookie', admin.cookie)).text).not.toContain('is unauthenticated');
  });

  it('never shows the secret in any page or JSON', async () => {
    await saveWorkingSettings();
    const pages = await Promise.all([
      t.request.get('/api/settings').set('Cookie', admin.cookie),
      t.request.get('/settings').set('Cookie', admin.cookie),
      t.request.get('/').set('Cookie', admin.cookie).redirects(1),
      put(admin, { chat: false }),
    ]);
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.text).not.toContain(secret);
    }
    expect(JSON.stringify(t.db.prepare('SELECT * FROM settings_audit').all())).not.toContain(secret);
  });

  it('the Document Server is down (connection refused): not saved, and the message says so', async () => {
    await saveWorkingSettings();
    const response = await put(admin, { documentServerUrl: `http://127.0.0.1:${await closedPort()}` });
    expect(response.status).toBe(422);
    expect(response.body.saved).toBe(false);
    expect(failedStep(response, 'healthcheck')).toContain('refused the connection');
    expect(response.body.check.steps.find((s: { id: string }) => s.id === 'conversion').status).toBe('skipped');
    expect((await current()).settings.values.documentServerUrl).toBe(ds.url);
  });

  it('the healthcheck answers false', async () => {
    ds.healthcheck = 'false';
    const response = await put(admin, { documentServerUrl: ds.url, jwtSecret: secret });
    expect(response.status).toBe(422);
    expect(failedStep(response, 'healthcheck')).toContain('unhealthy');
    expect((await current()).settings.values.documentServerUrl).toBe('');
  });

  it('a wrong secret: error 6 from the command service and -8 from conversion', async () => {
    await saveWorkingSettings();
    const response = await put(admin, { jwtSecret: 'not the shared secret' });
    expect(response.status).toBe(422);
    expect(failedStep(response, 'command')).toContain('error 6');
    expect(failedStep(response, 'command')).toContain('JWT secret');
    expect(failedStep(response, 'conversion')).toContain('-8');
    // The stored secret is still the working one: a later check passes.
    const recheck = await t.request.post('/api/settings/check').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken);
    expect(recheck.body.check.ok).toBe(true);
  });

  it('a wrong header name: the Document Server cannot download, and the message names both headers', async () => {
    await saveWorkingSettings();
    const response = await put(admin, { jwtHeader: 'AuthorizationJwt' });
    expect(response.status).toBe(422);
    const message = failedStep(response, 'conversion');
    expect(message).toContain('-4');
    expect(message).toContain('"authorization"');
    expect(message).toContain('"AuthorizationJwt"');
    expect((await current()).settings.values.jwtHeader).toBe('Authorization');
  });

  it('the Document Server cannot reach this DMS (-4)', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}`;
    const response = await put(admin, { documentServerUrl: ds.url, jwtSecret: secret, connectorInternalUrl: unreachable });
    expect(response.status).toBe(422);
    const message = failedStep(response, 'conversion');
    expect(message).toContain('-4');
    expect(message).toContain(unreachable);
    expect((await current()).settings.values.connectorInternalUrl).toBe('');
  });

  it('saves anyway when asked, and records the failed check', async () => {
    ds.healthcheck = 'false';
    const response = await put(admin, { documentServerUrl: ds.url, jwtSecret: secret, saveAnyway: true });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ saved: true, check: { ok: false } });
    expect((await current()).settings.values.documentServerUrl).toBe(ds.url);
  });

  it('refuses malformed values with 400 and changes nothing', async () => {
    for (const body of [{ documentServerUrl: 'docs.example' }, { jwtHeader: 'Bad Header' }, { editableLossyFormats: ['exe'] }, { recheckIntervalMinutes: -5 }, { nonsense: 1 }]) {
      const response = await put(admin, body);
      expect(response.status).toBe(400);
      expect(response.body.error.message.length).toBeGreaterThan(10);
    }
    expect((await current()).audit).toEqual([]);
  });
});

describe('mixed content', () => {
  it('flags an https DMS with an http Document Server', async () => {
    const httpsApp = await createServedTestApp((self) => ({ PUBLIC_URL: 'https://dms.example', CONNECTOR_INTERNAL_URL: self }), { checkTimeouts });
    try {
      const boss = await httpsApp.signedInUser('boss', 'admin');
      const response = await httpsApp.request.put('/api/settings').set('Cookie', boss.cookie).set('X-CSRF-Token', boss.csrfToken)
        .send({ documentServerUrl: ds.url, jwtSecret: secret });
      expect(response.status).toBe(422);
      const step = response.body.check.steps.find((entry: { id: string }) => entry.id === 'mixed-content');
      expect(step.status).toBe('failed');
      expect(step.message).toContain('https');
      expect(step.message).toContain('browsers block');
      const settings = await httpsApp.request.get('/api/settings').set('Cookie', boss.cookie);
      expect(settings.body.settings.values.documentServerUrl).toBe('');
    } finally {
      await httpsApp.close();
    }
  });
});

describe('who may see and change settings', () => {
  it('answers 403 to a non-admin everywhere', async () => {
    const bob = await t.signedInUser('bob');
    expect((await t.request.get('/api/settings').set('Cookie', bob.cookie)).status).toBe(403);
    expect((await put(bob, { documentServerUrl: ds.url })).status).toBe(403);
    expect((await t.request.get('/settings').set('Cookie', bob.cookie)).status).toBe(403);
    expect((await t.request.post('/settings/check').set('Cookie', bob.cookie).type('form').send({ _csrf: bob.csrfToken })).status).toBe(403);
    expect((await current()).settings.values.documentServerUrl).toBe('');
  });

  it('refuses the settings form without the CSRF token', async () => {
    const response = await t.request.post('/settings').set('Cookie', admin.cookie).type('form').send({ documentServerUrl: ds.url });
    expect(response.status).toBe(403);
    expect((await current()).settings.values.documentServerUrl).toBe('');
  });
});

describe('the settings page', () => {
  it('saves through the HTML form, unticked boxes meaning off, and shows the check', async () => {
    const response = await t.request.post('/settings').set('Cookie', admin.cookie).type('form').send(
      `_csrf=${encodeURIComponent(admin.csrfToken)}&documentServerUrl=${encodeURIComponent(ds.url)}&jwtSecret=${secret}&jwtHeader=Authorization` +
        '&verifyTls=on&editableLossyFormats=odt&editableLossyFormats=csv&coEditingMode=strict&reviewDisplay=markup&forceSave=on&recheckIntervalMinutes=15',
    );
    expect(response.status).toBe(200);
    expect(response.text).toContain('the connection check passed');
    const { values } = (await current()).settings;
    expect(values).toMatchObject({ editableLossyFormats: ['odt', 'csv'], coEditingMode: 'strict', forceSave: true, chat: false, help: false, recheckIntervalMinutes: 15 });
  });

  it('shows environment-set values read-only, naming the variable, and refuses to change them', async () => {
    const envApp = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }), { checkTimeouts });
    try {
      const boss = await envApp.signedInUser('boss', 'admin');
      const page = await envApp.request.get('/settings').set('Cookie', boss.cookie);
      expect(page.text).toContain('DOCUMENT_SERVER_URL');
      expect(page.text).toContain('JWT_SECRET');
      expect(page.text).not.toContain(secret);
      const refused = await envApp.request.put('/api/settings').set('Cookie', boss.cookie).set('X-CSRF-Token', boss.csrfToken).send({ documentServerUrl: 'http://elsewhere.example' });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain('DOCUMENT_SERVER_URL');
    } finally {
      await envApp.close();
    }
  });
});

describe('what the settings change', () => {
  it('feeds the editor configuration: force save, co-editing, lossy formats, customization', async () => {
    await saveWorkingSettings();
    await put(admin, { forceSave: true, coEditingMode: 'strict', coEditingChangeable: false, editableLossyFormats: ['odt'], chat: false, compactHeader: true });
    const upload = await t.request.post('/api/files').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).attach('file', fixture('sample.odt'), 'Letter.odt');
    const { config } = (await t.request.get(`/api/files/${upload.body.file.id}/editor-config`).set('Cookie', admin.cookie)).body;
    expect(config.editorConfig.mode).toBe('edit');
    expect(config.editorConfig.coEditing).toEqual({ mode: 'strict', change: false });
    expect(config.editorConfig.customization).toMatchObject({ forcesave: true, compactHeader: true });
    expect(config.document.permissions.chat).toBe(false);
    // The Document Server accepts the signed config.
    await ds.openEditor(config);
    await put(admin, { openInNewTab: true });
    const browser = await t.request.get('/').set('Cookie', admin.cookie).redirects(1);
    expect(browser.text).toContain(`href="/editor/${upload.body.file.id}?mode=edit" target="_blank" rel="noopener"`);
  });

  it('after a failed check the editor explains why instead of opening, and admins see the failure', async () => {
    await saveWorkingSettings();
    const upload = await t.request.post('/api/files').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).attach('file', fixture('sample.docx'), 'Plan.docx');
    ds.healthcheck = 'false';
    await t.request.post('/api/settings/check').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken);
    const config = await t.request.get(`/api/files/${upload.body.file.id}/editor-config`).set('Cookie', admin.cookie);
    expect(config.status).toBe(409);
    expect(config.body.error.message).toContain('last connection check');
    const editorPage = await t.request.get(`/editor/${upload.body.file.id}`).set('Cookie', admin.cookie).set('Accept', 'text/html');
    expect(editorPage.status).toBe(409);
    expect(editorPage.text).toContain('unhealthy');
    const browser = await t.request.get('/').set('Cookie', admin.cookie).redirects(1);
    expect(browser.text).toContain('The last Document Server connection check');
    expect(browser.text).toContain('office-link is-unavailable');

    ds.healthcheck = 'true';
    await t.request.post('/settings/check').set('Cookie', admin.cookie).type('form').send({ _csrf: admin.csrfToken });
    expect((await t.request.get(`/api/files/${upload.body.file.id}/editor-config`).set('Cookie', admin.cookie)).status).toBe(200);
  });
});

describe('npm run check-ds', () => {
  function runCli(): Promise<{ code: number | null; output: string }> {
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
    const child = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), ['src/cli/check-ds.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: t.dataDir, PUBLIC_URL: t.url, SESSION_SECRET: testAppSecret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
  }

  it('exits 0 when the check passes and 1 when it fails, printing each step', async () => {
    await saveWorkingSettings();
    const passing = await runCli();
    expect(passing.output).toContain('Connection check passed');
    expect(passing.code).toBe(0);
    ds.healthcheck = 'false';
    const failing = await runCli();
    expect(failing.code).toBe(1);
    expect(failing.output).toContain('✗ Document Server health');
  });
});
