import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, fixture, type BrowserSession, type TestApp } from './helpers/test-app.js';

const secret = 'a-shared-jwt-secret-of-decent-length';
let t: TestApp;
let alice: BrowserSession;

beforeEach(async () => {
  t = createTestApp({
    PUBLIC_URL: 'https://dms.example',
    DOCUMENT_SERVER_URL: 'https://docs.example',
    DOCUMENT_SERVER_INTERNAL_URL: 'http://onlyoffice',
    CONNECTOR_INTERNAL_URL: 'http://dms:3000',
    JWT_SECRET: secret,
  });
  alice = await t.signedInUser('alice');
});
afterEach(() => t.close());

async function uploadAs(session: BrowserSession, name: string, data: Buffer): Promise<string> {
  const response = await t.request
    .post('/api/files')
    .set('Cookie', session.cookie)
    .set('X-CSRF-Token', session.csrfToken)
    .attach('file', data, name);
  expect(response.status).toBe(201);
  return response.body.file.id as string;
}

function editorConfig(session: BrowserSession, fileId: string, query = '') {
  return t.request.get(`/api/files/${fileId}/editor-config${query}`).set('Cookie', session.cookie);
}

describe('the editor configuration', () => {
  it('is signed with the JWT secret over exactly {document, documentType, editorConfig}', async () => {
    const id = await uploadAs(alice, 'Report.docx', fixture('sample.docx'));
    const response = await editorConfig(alice, id);
    expect(response.status).toBe(200);
    const { config, documentServerUrl } = response.body;
    expect(documentServerUrl).toBe('https://docs.example');

    const claims = jwt.verify(config.token, secret, { algorithms: ['HS256'] }) as Record<string, unknown>;
    const { iat: _iat, exp, ...signed } = claims;
    expect(signed).toEqual({ document: config.document, documentType: config.documentType, editorConfig: config.editorConfig });
    expect(typeof exp).toBe('number');
    expect(() => jwt.verify(config.token, 'another secret')).toThrow();
  });

  it('describes the document, the user and the links the Document Server uses', async () => {
    const id = await uploadAs(alice, 'Report.docx', fixture('sample.docx'));
    const { config } = (await editorConfig(alice, id)).body;
    expect(config.documentType).toBe('word');
    expect(config.document).toMatchObject({ fileType: 'docx', title: 'Report.docx', info: { owner: 'Alice', folder: 'Home' } });
    expect(config.document.key).toMatch(/^[0-9a-zA-Z._=-]{1,128}$/);
    expect(config.document.url).toMatch(/^http:\/\/dms:3000\/download\?ref=[\w-]+\.[\w-]+$/);
    expect(config.editorConfig).toMatchObject({
      mode: 'edit',
      lang: 'en',
      user: { id: alice.user.id, name: 'Alice' },
      coEditing: { mode: 'fast', change: true },
    });
    expect(config.editorConfig.callbackUrl).toMatch(/^http:\/\/dms:3000\/track\?ref=[\w-]+\.[\w-]+$/);
    expect(config.editorConfig.customization.goback.url).toMatch(/^https:\/\/dms\.example\/folders\//);
    expect(config.document.permissions).toMatchObject({ edit: true, review: true, comment: true, download: true, print: true });
    expect(config.type).toBe('desktop');
  });

  it('gives co-editors of the same revision the same key, and a new key after new content', async () => {
    const id = await uploadAs(alice, 'Report.docx', fixture('sample.docx'));
    const first = (await editorConfig(alice, id)).body.config.document.key;
    const again = (await editorConfig(alice, id)).body.config.document.key;
    expect(again).toBe(first);
    await t.request.put(`/api/files/${id}/content`).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken)
      .set('Content-Type', 'application/octet-stream').send(fixture('sample.docx'));
    const afterUpload = (await editorConfig(alice, id)).body.config.document.key;
    expect(afterUpload).not.toBe(first);
  });

  it('opens a format it cannot edit (a lossy .odt no admin allowed) in view mode without edit rights or callback', async () => {
    const id = await uploadAs(alice, 'Letter.odt', fixture('sample.odt'));
    const { config } = (await editorConfig(alice, id, '?mode=edit')).body;
    expect(config.editorConfig.mode).toBe('view');
    expect(config.editorConfig.callbackUrl).toBeUndefined();
    expect(config.document.permissions.edit).toBe(false);
    const claims = jwt.verify(config.token, secret) as { editorConfig: { mode: string } };
    expect(claims.editorConfig.mode).toBe('view');
  });

  it('honours mode=view, type and the phone user agent', async () => {
    const id = await uploadAs(alice, 'Sheet.xlsx', fixture('sample.xlsx'));
    const view = (await editorConfig(alice, id, '?mode=view&type=embedded')).body.config;
    expect(view.editorConfig.mode).toBe('view');
    expect(view.editorConfig.callbackUrl).toBeUndefined();
    expect(view.type).toBe('embedded');
    expect(view.documentType).toBe('cell');
    const phone = await editorConfig(alice, id).set('User-Agent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148');
    expect(phone.body.config.type).toBe('mobile');
    expect((await editorConfig(alice, id, '?mode=write')).status).toBe(400);
  });

  it("answers 404 for another user's file and 400 for a format ONLYOFFICE cannot open", async () => {
    const id = await uploadAs(alice, 'Report.docx', fixture('sample.docx'));
    const bob = await t.signedInUser('bob');
    expect((await editorConfig(bob, id)).status).toBe(404);
    const zip = await uploadAs(alice, 'archive.zip', Buffer.from('PK'));
    const refused = await editorConfig(alice, zip);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('.zip');
  });
});

describe('the editor page', () => {
  it('loads api.js from the Document Server and embeds the config as JSON data, not script', async () => {
    const id = await uploadAs(alice, '<img src=x onerror=alert(1)> & "Co".docx', fixture('sample.docx'));
    const page = await t.request.get(`/editor/${id}`).set('Cookie', alice.cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script src="https://docs.example/web-apps/apps/api/documents/api.js" defer></script>');
    expect(page.text).toContain('<title>&lt;img src=x onerror=alert(1)&gt; &amp; &#34;Co&#34;.docx</title>');
    expect(page.text).not.toContain('<img src=x');
    const json = /<script type="application\/json" id="editor-config">([^<]*)<\/script>/.exec(page.text)?.[1];
    const config = JSON.parse(json!);
    expect(config.document.title).toBe('<img src=x onerror=alert(1)> & "Co".docx');
    expect(page.headers['content-security-policy']).toContain('script-src \'self\' https://docs.example');
    expect(page.headers['content-security-policy']).toContain('frame-src https://docs.example');
  });

  it('sends a signed-out visitor to the sign-in page', async () => {
    const id = await uploadAs(alice, 'Report.docx', fixture('sample.docx'));
    const page = await t.request.get(`/editor/${id}`);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe(`/login?next=${encodeURIComponent(`/editor/${id}`)}`);
  });
});

describe('without a Document Server', () => {
  it('explains that ONLYOFFICE is not configured', async () => {
    const bare = createTestApp();
    try {
      const user = await bare.signedInUser('carol');
      const upload = await bare.request.post('/api/files').set('Cookie', user.cookie).set('X-CSRF-Token', user.csrfToken).attach('file', fixture('sample.docx'), 'a.docx');
      const response = await bare.request.get(`/api/files/${upload.body.file.id}/editor-config`).set('Cookie', user.cookie);
      expect(response.status).toBe(409);
      expect(response.body.error.message).toContain('DOCUMENT_SERVER_URL');
    } finally {
      bare.close();
    }
  });
});
