import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, fixture, type TestApp } from './helpers/test-app.js';

let t: TestApp;
afterEach(() => t.close());

/** The pre-session CSRF cookie and token a sign-in or set-up form carries. */
async function formToken(app: TestApp, path: string): Promise<{ cookie: string; token: string }> {
  const page = await app.request.get(path);
  expect(page.status).toBe(200);
  const cookie = (page.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('dms_csrf='))!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  return { cookie, token };
}

function sessionCookie(response: { headers: Record<string, unknown> }): string | undefined {
  const cookies = (response.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.find((c) => /^(__Host-)?dms_session=/.test(c));
}

describe('first-admin set-up', () => {
  it('shows the set-up page while there are no users, creates the admin and signs them in', async () => {
    t = createTestApp();
    expect((await t.request.get('/')).headers.location).toBe('/login?next=%2F');
    expect((await t.request.get('/login')).headers.location).toBe('/setup');
    const { cookie, token } = await formToken(t, '/setup');
    const created = await t.request.post('/setup').type('form').set('Cookie', cookie)
      .send({ _csrf: token, username: 'boss', displayName: 'The Boss', password: 'long enough pw', passwordConfirm: 'long enough pw' });
    expect(created.status).toBe(303);
    const session = sessionCookie(created)!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).not.toMatch(/Secure/);
    const home = await t.request.get('/').set('Cookie', session.split(';')[0]!);
    expect(home.status).toBe(303);
    expect(home.headers.location).toMatch(/^\/folders\//);
    // Once an account exists, the set-up page is gone.
    expect((await t.request.get('/setup')).headers.location).toBe('/login');
    const again = await t.request.post('/setup').type('form').set('Cookie', cookie).send({ _csrf: token, username: 'evil', password: 'long enough pw' });
    expect(again.status).toBe(400);
    expect(t.db.prepare('SELECT count(*) FROM users').pluck().get()).toBe(1);
  });

  it('refuses mismatched passwords and a missing CSRF token', async () => {
    t = createTestApp();
    const { cookie, token } = await formToken(t, '/setup');
    const mismatch = await t.request.post('/setup').type('form').set('Cookie', cookie)
      .send({ _csrf: token, username: 'boss', password: 'long enough pw', passwordConfirm: 'different pw!' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('The two passwords differ');
    const noToken = await t.request.post('/setup').type('form').set('Cookie', cookie).send({ username: 'boss', password: 'long enough pw' });
    expect(noToken.status).toBe(403);
    expect(t.db.prepare('SELECT count(*) FROM users').pluck().get()).toBe(0);
  });
});

describe('signing in and out', () => {
  it('signs in with the form, goes to the page asked for, and signs out', async () => {
    t = createTestApp();
    await t.createUser('alice');
    const { cookie, token } = await formToken(t, '/login?next=/account');
    const signedIn = await t.request.post('/login').type('form').set('Cookie', cookie)
      .send({ _csrf: token, username: 'alice', password: 'correct horse battery', next: '/account' });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe('/account');
    const session = sessionCookie(signedIn)!.split(';')[0]!;
    const account = await t.request.get('/account').set('Cookie', session);
    expect(account.status).toBe(200);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(account.text)![1]!;

    const withoutToken = await t.request.post('/logout').type('form').set('Cookie', session).send({});
    expect(withoutToken.status).toBe(403);
    const signedOut = await t.request.post('/logout').type('form').set('Cookie', session).send({ _csrf: csrf });
    expect(signedOut.status).toBe(303);
    expect((await t.request.get('/account').set('Cookie', session)).status).toBe(303);
  });

  it('shows a clear error for a wrong password and never redirects off-site', async () => {
    t = createTestApp();
    await t.createUser('alice');
    const { cookie, token } = await formToken(t, '/login');
    const wrong = await t.request.post('/login').type('form').set('Cookie', cookie).send({ _csrf: token, username: 'alice', password: 'nope nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong username or password.');
    expect(sessionCookie(wrong)).toBeUndefined();
    const offsite = await t.request.post('/login').type('form').set('Cookie', cookie)
      .send({ _csrf: token, username: 'alice', password: 'correct horse battery', next: '//evil.example/' });
    expect(offsite.headers.location).toBe('/');
  });

  it('marks cookies Secure and __Host- when PUBLIC_URL is https', async () => {
    t = createTestApp({ PUBLIC_URL: 'https://dms.example' });
    await t.createUser('alice');
    const page = await t.request.get('/login');
    const csrfCookie = (page.headers['set-cookie'] as unknown as string[])[0]!;
    expect(csrfCookie).toMatch(/^__Host-dms_csrf=.*; Path=\/; HttpOnly; Secure; SameSite=Lax/);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const signedIn = await t.request.post('/login').type('form').set('Cookie', csrfCookie.split(';')[0]!)
      .send({ _csrf: token, username: 'alice', password: 'correct horse battery' });
    expect(sessionCookie(signedIn)).toMatch(/^__Host-dms_session=.*HttpOnly; Secure; SameSite=Lax/);
  });
});

describe('the file browser', () => {
  it('lists the folder with escaped names, breadcrumbs and sort links', async () => {
    t = createTestApp();
    const alice = await t.signedInUser('alice');
    const evil = '<img src=x onerror=alert(1)>.txt';
    await t.request.post('/api/files').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).attach('file', Buffer.from('x'), evil);
    const home = t.app.services.files.getHome(alice.user);
    const page = await t.request.get(`/folders/${home.id}`).set('Cookie', alice.cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;.txt');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain(`href="/folders/${home.id}?sort=size&amp;order=asc"`);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-powered-by']).toBeUndefined();
  });

  it("answers 404 for another user's folder page and shows the empty state for an empty folder", async () => {
    t = createTestApp();
    const alice = await t.signedInUser('alice');
    const bob = await t.signedInUser('bob');
    const home = t.app.services.files.getHome(alice.user);
    expect((await t.request.get(`/folders/${home.id}`).set('Cookie', bob.cookie)).status).toBe(404);
    const own = await t.request.get(`/folders/${home.id}`).set('Cookie', alice.cookie);
    expect(own.text).toContain('This folder is empty.');
  });

  it('offers Edit in ONLYOFFICE for editable files, Open for view-only ones and nothing for others', async () => {
    t = createTestApp({ DOCUMENT_SERVER_URL: 'http://docs.example' });
    const alice = await t.signedInUser('alice');
    const upload = (name: string, data: Buffer) =>
      t.request.post('/api/files').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).attach('file', data, name);
    const docx = (await upload('a.docx', fixture('sample.docx'))).body.file.id;
    const odt = (await upload('b.odt', fixture('sample.odt'))).body.file.id;
    const zip = (await upload('c.zip', Buffer.from('PK'))).body.file.id;
    const page = await t.request.get('/').set('Cookie', alice.cookie).redirects(1);
    expect(page.text).toContain(`href="/editor/${docx}?mode=edit"`);
    expect(page.text).toContain(`href="/editor/${odt}?mode=view"`);
    expect(page.text).not.toContain(`/editor/${zip}`);
  });

  it('warns admins, and only admins, when the Document Server connection has no JWT secret', async () => {
    t = createTestApp({ DOCUMENT_SERVER_URL: 'http://docs.example' });
    const admin = await t.signedInUser('root', 'admin');
    const user = await t.signedInUser('bob');
    const adminPage = await t.request.get('/').set('Cookie', admin.cookie).redirects(1);
    expect(adminPage.text).toContain('The Document Server connection is unauthenticated');
    const userPage = await t.request.get('/').set('Cookie', user.cookie).redirects(1);
    expect(userPage.text).not.toContain('unauthenticated');
  });

  it('renders the file page with its versions, and the users page for admins only', async () => {
    t = createTestApp();
    const admin = await t.signedInUser('root', 'admin');
    const bob = await t.signedInUser('bob');
    const upload = await t.request.post('/api/files').set('Cookie', bob.cookie).set('X-CSRF-Token', bob.csrfToken).attach('file', Buffer.from('v1'), 'n.txt');
    const filePage = await t.request.get(`/files/${upload.body.file.id}`).set('Cookie', bob.cookie);
    expect(filePage.status).toBe(200);
    expect(filePage.text).toContain(`/api/files/${upload.body.file.id}/versions/1/content`);
    expect((await t.request.get('/users').set('Cookie', bob.cookie)).status).toBe(403);
    const users = await t.request.get('/users').set('Cookie', admin.cookie);
    expect(users.status).toBe(200);
    expect(users.text).toContain('bob');
    const search = await t.request.get('/search?q=n.t').set('Cookie', bob.cookie);
    expect(search.text).toContain('n.txt');
  });
});

describe('health and errors', () => {
  it('answers /healthz and a friendly 404 page', async () => {
    t = createTestApp();
    const health = await t.request.get('/healthz');
    expect(health.body).toEqual({ status: 'ok' });
    const missing = await t.request.get('/no/such/page').set('Accept', 'text/html');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('There is no page at this address.');
    const missingApi = await t.request.get('/api/nothing');
    expect(missingApi.status).toBe(401);
  });
});
