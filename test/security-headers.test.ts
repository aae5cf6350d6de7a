import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Response } from 'superagent';
import { DocumentServerStandIn } from './helpers/document-server.js';
import { createServedTestApp, fixture, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

// The Document Server here is configured on the settings page, not by environment, so the editor
// page's policy is shown to follow the configured origin.

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let admin: BrowserSession;
let fileId: string;

beforeEach(async () => {
  ds = await DocumentServerStandIn.start({ secret: 'headers-secret' });
  t = await createServedTestApp(() => ({}));
  admin = await t.signedInUser('root', 'admin');
  const saved = await t.request
    .put('/api/settings')
    .set('Cookie', admin.cookie)
    .set('X-CSRF-Token', admin.csrfToken)
    .send({ documentServerUrl: ds.url, connectorInternalUrl: t.url, jwtSecret: 'headers-secret' });
  expect(saved.status).toBe(200);
  const upload = await t.request.post('/api/files').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).attach('file', fixture('sample.docx'), 'Plan.docx');
  fileId = upload.body.file.id as string;
});
afterEach(async () => {
  await ds.close();
  await t.close();
});

/** The Content-Security-Policy of a response as directive → sources. */
function policyOf(response: Response, label: string): Map<string, string[]> {
  const header = response.headers['content-security-policy'] as string | undefined;
  expect(header, `${label} has a Content-Security-Policy`).toBeDefined();
  return new Map(
    header!
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/** Where scripts and frames may come from: the explicit directive, else default-src. */
function allowed(policy: Map<string, string[]>, directive: 'script-src' | 'frame-src'): string[] {
  return policy.get(directive) ?? policy.get('default-src') ?? ['*'];
}

const page = (path: string) => t.request.get(path).set('Cookie', admin.cookie).set('Accept', 'text/html');

describe('security headers', () => {
  it('pages allow scripts and frames from this app only, with the usual helmet headers', async () => {
    for (const path of ['/', `/files/${fileId}`, '/settings', '/account', '/no-such-page']) {
      const response = await page(path);
      const policy = policyOf(response, path);
      expect(allowed(policy, 'script-src'), path).toEqual(["'self'"]);
      expect(allowed(policy, 'frame-src'), path).toEqual(["'self'"]);
      expect(policy.get('object-src'), path).toEqual(["'none'"]);
      expect(policy.get('frame-ancestors'), path).toEqual(["'self'"]);
      expect(response.headers['x-content-type-options'], path).toBe('nosniff');
      expect(response.headers['referrer-policy'], path).toBe('no-referrer');
      expect(response.headers['x-frame-options'], path).toBe('SAMEORIGIN');
      expect(response.headers['cross-origin-opener-policy'], path).toBe('same-origin');
    }
  });

  it('the editor page adds exactly the configured Document Server origin for scripts and frames', async () => {
    const response = await page(`/editor/${fileId}`);
    expect(response.status).toBe(200);
    const policy = policyOf(response, 'the editor page');
    expect(allowed(policy, 'script-src').sort()).toEqual(["'self'", ds.url].sort());
    expect(allowed(policy, 'frame-src')).toEqual([ds.url]);
    expect(response.text).toContain(`src="${ds.url}/web-apps/apps/api/documents/api.js"`);
    for (const sources of policy.values()) {
      expect(sources).not.toContain("'unsafe-inline'");
      expect(sources).not.toContain("'unsafe-eval'");
      expect(sources).not.toContain('*');
    }
  });

  it('no response says X-Powered-By: pages, API, static files, errors, downloads and callbacks', async () => {
    const responses: Array<[string, Response]> = [
      ['page', await page('/')],
      ['sign-in page', await page('/login')],
      ['API', await t.request.get('/api/files').set('Cookie', admin.cookie)],
      ['API 404', await t.request.get('/api/nothing-here').set('Cookie', admin.cookie)],
      ['static file', await t.request.get('/app.css')],
      ['file content', await t.request.get(`/api/files/${fileId}/content`).set('Cookie', admin.cookie)],
      ['refused /download', await t.request.get('/download?ref=forged')],
      ['refused /track', await t.request.post('/track?ref=forged').send({})],
      ['health', await t.request.get('/healthz')],
    ];
    for (const [label, response] of responses) expect(response.headers['x-powered-by'], label).toBeUndefined();
  });

  it('downloads of stored files are sandboxed so uploaded markup cannot run in this origin', async () => {
    const response = await t.request.get(`/api/files/${fileId}/content`).set('Cookie', admin.cookie);
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(response.headers['content-disposition']).toMatch(/^attachment/);
  });
});
