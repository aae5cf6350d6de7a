import { createHash } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Test } from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRef } from '../src/onlyoffice/signed-refs.js';
import type { CallbackFields } from './helpers/document-server.js';
import { currentContent, openInEditor, useEditingEnvironment, type OpenFile } from './helpers/editing-environment.js';
import { testAppSecret, type BrowserSession } from './helpers/test-app.js';

// A corpus of malformed, forged and hostile requests across every route. Each must be refused with a
// 4xx (on /track: the protocol's error answer, a non-zero "error"), never a 5xx; none may change the
// database or the blob store; and the server must keep serving afterwards.

const secret = 'bad-input-shared-secret';
const env = useEditingEnvironment(secret, { env: { MAX_UPLOAD_MB: '1' }, sharedByAllTests: true });

let alice: BrowserSession;
let admin: BrowserSession;
let stranger: BrowserSession;
let file: OpenFile;
let downloadUrl: string;
let bobFile: OpenFile & { downloadUrl: string };
let aliceToken: string;

beforeAll(async () => {
  alice = env.alice;
  admin = await env.t.signedInUser('root', 'admin');
  // Admins may reach every file; "another user" is someone with no share.
  stranger = await env.t.signedInUser('eve');
  file = await openInEditor(env, 'Plan.docx');
  downloadUrl = env.ds.opened.at(-1)!.url;
  bobFile = { ...(await openInEditor(env, 'Other.docx')), downloadUrl: env.ds.opened.at(-1)!.url };
  aliceToken = (await env.t.request.post('/api/account/tokens').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).send({ name: 'corpus' })).body.token;
  expect(aliceToken).toBeTruthy();
});

/** Every row of every table (minus the sliding session expiry and token last-use), and every blob file. */
function snapshot() {
  const { db } = env.t;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  const rows = Object.fromEntries(
    tables.map((table) => {
      const all = db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all() as Array<Record<string, unknown>>;
      return [table, all.map(({ expires_at: _expires, last_used_at: _used, ...row }) => row)];
    }),
  );
  return { rows, blobs: env.t.listBlobFiles().sort() };
}

const request = () => env.t.request;
const asAlice = (test: Test) => test.set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken);
const asAdmin = (test: Test) => test.set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken);
const pathOf = (url: string) => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};

/** The fields of a genuine-looking save of `file` (status 2) bringing `url`. */
function saveClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const fields: CallbackFields = {
    key: file.key,
    status: 2,
    url: env.ds.putCacheFile(file.key, Buffer.from('forged content'), 'docx'),
    users: [alice.user.id],
    actions: [{ type: 0, userid: alice.user.id }],
    lastsave: new Date().toISOString(),
    notmodified: false,
    filetype: 'docx',
  };
  return { ...fields, ...overrides };
}

const sign = (claims: object, options: jwt.SignOptions = {}, key = secret) => jwt.sign(claims, key, { algorithm: 'HS256', expiresIn: 300, ...options });
const track = (body: unknown, callbackUrl = file.callbackUrl) => request().post(pathOf(callbackUrl)).set('Content-Type', 'application/json').send(JSON.stringify(body));
const signedTrack = (claims: Record<string, unknown>, callbackUrl?: string) => track({ ...claims, token: sign(claims) }, callbackUrl);
const dsDownload = (url: string, token: string | undefined, header = 'Authorization') => {
  const test = request().get(pathOf(url));
  return token === undefined ? test : test.set(header, `Bearer ${token}`);
};
const otherRef = (purpose: 'download' | 'track' | 'history' | 'convert') => createRef(testAppSecret, { p: purpose, f: 'no-such-file', k: 'k' });
const bigJson = (bytes: number) => JSON.stringify({ name: 'x'.repeat(bytes) });
const noneToken = (claims: object) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

interface Case {
  name: string;
  send: () => Test | Promise<Test>;
  status: number;
}

const trackCases: Case[] = [
  { name: 'a callback with no token', send: () => track(saveClaims()), status: 403 },
  { name: 'a callback over the 20 MB limit', send: () => track({ ...saveClaims(), padding: 'x'.repeat(21 * 1024 * 1024) }), status: 413 },
  {
    name: 'a callback over the 20 MB limit, sent in chunks with no length announced',
    send: () => {
      const test = request().post(pathOf(file.callbackUrl)).set('Content-Type', 'application/json').set('Transfer-Encoding', 'chunked');
      for (let part = 0; part < 21; part += 1) test.write('x'.repeat(1024 * 1024));
      return test;
    },
    status: 413,
  },
  { name: 'a callback whose link carries two references', send: () => request().post(`${pathOf(file.callbackUrl)}&ref=junk`).set('Content-Type', 'application/json').send(JSON.stringify({ ...saveClaims(), token: sign(saveClaims()) })), status: 403 },
  { name: 'a callback signed with another secret', send: () => track({ ...saveClaims(), token: sign(saveClaims(), {}, 'not-the-secret') }), status: 403 },
  { name: "a callback token with alg 'none'", send: () => track({ ...saveClaims(), token: noneToken(saveClaims()) }), status: 403 },
  { name: 'a callback token signed HS512 (not the DS algorithm)', send: () => track({ ...saveClaims(), token: sign(saveClaims(), { algorithm: 'HS512' }) }), status: 403 },
  {
    name: 'a callback token whose header claims RS256',
    send: () => {
      const [, payload, signature] = sign(saveClaims()).split('.');
      return track({ ...saveClaims(), token: `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${payload}.${signature}` });
    },
    status: 403,
  },
  { name: 'an expired callback token', send: () => track({ token: sign({ ...saveClaims(), iat: Math.floor(Date.now() / 1000) - 900 }, { expiresIn: 300 }) }), status: 403 },
  { name: 'a callback token not valid until tomorrow', send: () => track({ token: sign(saveClaims(), { notBefore: 86_400 }) }), status: 403 },
  { name: "a valid callback replayed against another file's link", send: () => signedTrack(saveClaims(), bobFile.callbackUrl), status: 403 },
  { name: 'a callback naming a key the link was not issued for', send: () => signedTrack(saveClaims({ key: bobFile.key })), status: 403 },
  { name: 'a callback whose body token is a number', send: () => track({ ...saveClaims(), token: 42 }), status: 403 },
  {
    name: 'a header token with flat claims instead of payload',
    send: () => track(saveClaims()).set('Authorization', `Bearer ${sign(saveClaims())}`),
    status: 403,
  },
  { name: 'a callback with malformed JSON', send: () => request().post(pathOf(file.callbackUrl)).set('Content-Type', 'application/json').send('{"key":'), status: 400 },
  { name: 'a callback whose body is a JSON array', send: () => track([saveClaims()]), status: 403 },
  { name: 'a callback body over 20 MB', send: () => track({ ...saveClaims(), history: 'h'.repeat(21 * 1024 * 1024) }), status: 413 },
  { name: 'a callback status given as a string', send: () => signedTrack(saveClaims({ status: '2' })), status: 400 },
  { name: 'a callback with users as a string', send: () => signedTrack(saveClaims({ users: alice.user.id })), status: 400 },
  { name: 'a callback key given as a number', send: () => signedTrack(saveClaims({ key: 12345 })), status: 400 },
  { name: 'a callback key with characters outside the key alphabet', send: () => signedTrack(saveClaims({ key: '../../etc/passwd' })), status: 400 },
  { name: 'a callback with status 0', send: () => signedTrack(saveClaims({ status: 0 })), status: 400 },
  { name: 'a callback with status 5 (mail merge)', send: () => signedTrack(saveClaims({ status: 5 })), status: 400 },
  { name: 'a callback with status 8', send: () => signedTrack(saveClaims({ status: 8 })), status: 400 },
  { name: 'a save whose url is on another host', send: () => signedTrack(saveClaims({ url: 'http://files.example.invalid/cache/files/data/x/output.docx' })), status: 422 },
  { name: 'a save whose url is on another port of the DS host', send: () => signedTrack(saveClaims({ url: 'http://127.0.0.1:1/cache/files/data/x/output.docx' })), status: 422 },
  { name: 'a save whose url is a file: URL', send: () => signedTrack(saveClaims({ url: 'file:///etc/passwd' })), status: 422 },
  { name: 'a save whose url is an ftp: URL', send: () => signedTrack(saveClaims({ url: `ftp://${new URL(env.ds.url).host}/output.docx` })), status: 422 },
  { name: 'a save whose url is not a URL', send: () => signedTrack(saveClaims({ url: 'not a url' })), status: 422 },
  { name: 'a save whose url is a number', send: () => signedTrack(saveClaims({ url: 7 })), status: 400 },
  {
    name: 'a save whose DS file redirects to another host',
    send: () => {
      env.ds.injectCacheFault({ kind: 'redirect', location: 'http://files.example.invalid/evil.docx' }, 1);
      return signedTrack(saveClaims());
    },
    status: 422,
  },
  { name: 'a callback link without its signed reference', send: () => signedTrack(saveClaims(), file.callbackUrl.replace(/\?.*$/, '')), status: 403 },
  { name: 'a callback link with a tampered signature', send: () => signedTrack(saveClaims(), file.callbackUrl.replace(/\.[^.]*$/, '.AAAA')), status: 403 },
  { name: 'a download link used as a callback link', send: () => signedTrack(saveClaims(), `${new URL(file.callbackUrl).origin}/track?ref=${new URL(downloadUrl).searchParams.get('ref')}`), status: 403 },
];

const documentServerCases: Case[] = [
  { name: '/download without a reference', send: () => dsDownload('http://x/download', sign({ payload: { url: downloadUrl } })), status: 403 },
  { name: '/download with a callback reference', send: () => dsDownload(`http://x/download?ref=${otherRef('track')}`, sign({ payload: { url: downloadUrl } })), status: 403 },
  { name: '/download without the DS token', send: () => dsDownload(downloadUrl, undefined), status: 403 },
  { name: "/download with a token for another file's URL", send: () => dsDownload(downloadUrl, sign({ payload: { url: bobFile.downloadUrl } })), status: 403 },
  { name: '/download with a token signed with another secret', send: () => dsDownload(downloadUrl, sign({ payload: { url: downloadUrl } }, {}, 'not-the-secret')), status: 403 },
  { name: '/download with an expired token', send: () => dsDownload(downloadUrl, sign({ payload: { url: downloadUrl }, iat: Math.floor(Date.now() / 1000) - 900 })), status: 403 },
  { name: "/download with an alg 'none' token", send: () => dsDownload(downloadUrl, noneToken({ payload: { url: downloadUrl } })), status: 403 },
  { name: '/download with the token in another header', send: () => dsDownload(downloadUrl, sign({ payload: { url: downloadUrl } }), 'X-Auth'), status: 403 },
  { name: '/download with a token that names no URL', send: () => dsDownload(downloadUrl, sign({ payload: { file: 'x' } })), status: 403 },
  { name: '/download of a file that does not exist', send: () => dsDownload(`${new URL(downloadUrl).origin}/download?ref=${otherRef('download')}`, sign({ payload: { url: downloadUrl } })), status: 403 },
  { name: 'HEAD /download with a tampered reference', send: () => request().head(pathOf(downloadUrl.replace(/\.[^.]*$/, '.AAAA'))), status: 403 },
  { name: '/history-file with a download reference', send: () => dsDownload(downloadUrl.replace('/download', '/history-file'), sign({ payload: { url: downloadUrl } })), status: 403 },
  { name: '/check-file with a forged reference', send: () => request().get(`/check-file?ref=${createRef('guessed-secret', { p: 'convert', f: 'x' })}`), status: 403 },
];

const apiCases: Case[] = [
  { name: 'the file list without signing in', send: () => request().get('/api/files'), status: 401 },
  { name: 'the file list with an unknown API token', send: () => request().get('/api/files').set('Authorization', 'Bearer not-a-real-token'), status: 401 },
  { name: 'a folder created without the CSRF token', send: () => request().post('/api/folders').set('Cookie', alice.cookie).send({ name: 'csrf' }), status: 403 },
  { name: 'a folder created with a wrong CSRF token', send: () => request().post('/api/folders').set('Cookie', alice.cookie).set('X-CSRF-Token', 'x'.repeat(43)).send({ name: 'csrf' }), status: 403 },
  { name: 'a delete without the CSRF token', send: () => request().delete(`/api/files/${file.id}`).set('Cookie', alice.cookie), status: 403 },
  { name: 'a rename without the CSRF token', send: () => request().patch(`/api/files/${file.id}`).set('Cookie', alice.cookie).send({ name: 'x.docx' }), status: 403 },
  { name: 'an upload without the CSRF token', send: () => request().post('/api/files').set('Cookie', alice.cookie).attach('file', Buffer.from('x'), 'x.txt'), status: 403 },
  { name: 'a sign-out without the CSRF token', send: () => request().post('/logout').set('Cookie', alice.cookie), status: 403 },
  { name: 'a sign-in without the form token', send: () => request().post('/login').type('form').send({ username: 'alice', password: 'correct horse battery' }), status: 403 },
  { name: 'an API token for a wrong password', send: () => request().post('/api/auth/token').send({ username: 'alice', password: 'wrong password' }), status: 401 },
  { name: 'a rename to a parent-directory path', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: '../../evil.docx' }), status: 400 },
  { name: 'a rename with a slash', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: 'a/b.docx' }), status: 400 },
  { name: 'a rename with a backslash', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: 'a\\b.docx' }), status: 400 },
  { name: 'a rename with a NUL byte', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: 'evil\u0000.docx' }), status: 400 },
  { name: 'a rename to 300 characters', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: `${'a'.repeat(300)}.docx` }), status: 400 },
  { name: 'a rename to ".."', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: '..' }), status: 400 },
  { name: 'a rename to an empty name', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: '   ' }), status: 400 },
  { name: 'a rename with the name as an array', send: () => asAlice(request().patch(`/api/files/${file.id}`)).send({ name: ['a.docx'] }), status: 400 },
  { name: "a rename of another user's file", send: () => request().patch(`/api/files/${bobFile.id}`).set('Cookie', stranger.cookie).set('X-CSRF-Token', stranger.csrfToken).send({ name: 'mine.docx' }), status: 404 },
  { name: 'a folder name with a control character', send: () => asAlice(request().post('/api/folders')).send({ name: 'tab\there' }), status: 400 },
  { name: 'a folder name as a number', send: () => asAlice(request().post('/api/folders')).send({ name: 42 }), status: 400 },
  { name: 'a folder under a traversal parent id', send: () => asAlice(request().post('/api/folders')).send({ name: 'x', parentId: '../../etc' }), status: 404 },
  { name: 'a folder request with malformed JSON', send: () => asAlice(request().post('/api/folders')).set('Content-Type', 'application/json').send('{"name":'), status: 400 },
  { name: 'a folder request over the 1 MB JSON limit', send: () => asAlice(request().post('/api/folders')).set('Content-Type', 'application/json').send(bigJson(1100 * 1024)), status: 413 },
  { name: 'an upload named with a traversal path', send: () => asAlice(request().post('/api/files')).field('name', '../../etc/passwd').attach('file', Buffer.from('x'), 'x.txt'), status: 400 },
  { name: 'an upload over MAX_UPLOAD_MB', send: () => asAlice(request().post('/api/files')).attach('file', Buffer.alloc(1024 * 1024 + 1, 1), 'big.bin'), status: 413 },
  { name: 'a raw content replacement over MAX_UPLOAD_MB', send: () => asAlice(request().put(`/api/files/${file.id}/content?force=true`)).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(2 * 1024 * 1024, 1)), status: 413 },
  { name: 'a blank document of an unknown type', send: () => asAlice(request().post('/api/files/new')).send({ name: 'x', type: 'exe' }), status: 400 },
  { name: 'a listing sorted by an unknown column', send: () => request().get('/api/files?sort=password').set('Authorization', `Bearer ${aliceToken}`), status: 400 },
  { name: 'a listing with a negative limit', send: () => request().get('/api/files?limit=-5').set('Authorization', `Bearer ${aliceToken}`), status: 400 },
  { name: 'a listing with a forged cursor', send: () => request().get('/api/files?cursor=eyJub3QiOiJhIGN1cnNvciJ9').set('Authorization', `Bearer ${aliceToken}`), status: 400 },
  { name: 'a file id with bad percent-encoding', send: () => request().get('/api/files/%E0%A4%A').set('Authorization', `Bearer ${aliceToken}`), status: 400 },
  { name: "another user's file", send: () => request().get(`/api/files/${file.id}`).set('Cookie', stranger.cookie), status: 404 },
  { name: 'an editor config in an unknown mode', send: () => request().get(`/api/files/${file.id}/editor-config?mode=admin`).set('Cookie', alice.cookie), status: 400 },
  { name: 'an editor page of an unknown type', send: () => request().get(`/editor/${file.id}?type=<script>`).set('Cookie', alice.cookie), status: 400 },
  { name: 'a user created by a non-admin', send: () => asAlice(request().post('/api/users')).send({ username: 'mallory', password: 'long enough password' }), status: 403 },
  { name: 'a role change to an unknown role', send: () => asAdmin(request().patch(`/api/users/${alice.user.id}`)).send({ role: 'god' }), status: 400 },
  { name: 'settings changed by a non-admin', send: () => asAlice(request().put('/api/settings')).send({ documentServerUrl: 'http://127.0.0.1:1' }), status: 403 },
  { name: 'settings with a javascript: address', send: () => asAdmin(request().put('/api/settings')).send({ connectorInternalUrl: 'javascript:alert(1)', saveAnyway: true }), status: 400 },
  { name: 'a share with the role "owner"', send: () => asAlice(request().post(`/api/files/${file.id}/shares`)).send({ username: 'eve', role: 'owner' }), status: 400 },
  { name: 'a share with a username that is an object', send: () => asAlice(request().post(`/api/files/${file.id}/shares`)).send({ username: { $ne: '' }, role: 'viewer' }), status: 400 },
  { name: 'a share made by someone who cannot see the file', send: () => request().post(`/api/files/${file.id}/shares`).set('Cookie', stranger.cookie).set('X-CSRF-Token', stranger.csrfToken).send({ username: 'eve', role: 'editor' }), status: 404 },
  { name: 'removing a share that does not exist', send: () => asAlice(request().delete(`/api/files/${file.id}/shares/not-a-share`)), status: 404 },
  { name: 'a public link that expired yesterday', send: () => asAlice(request().post(`/api/files/${file.id}/links`)).send({ role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' }), status: 400 },
  { name: 'a public link with a 10,000-character password', send: () => asAlice(request().post(`/api/files/${file.id}/links`)).send({ role: 'viewer', password: 'p'.repeat(10_000) }), status: 400 },
  { name: 'a mention sent by someone who cannot see the file', send: () => request().post(`/api/files/${file.id}/mentions`).set('Cookie', stranger.cookie).set('X-CSRF-Token', stranger.csrfToken).send({ emails: ['alice'], message: 'hi' }), status: 404 },
  { name: 'a public link token that was never issued', send: () => request().get('/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), status: 404 },
  { name: 'a link password sent without the form token', send: () => request().post('/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').type('form').send({ password: 'guess' }), status: 403 },
  { name: "a guest editor page for a link that does not exist, with a forged guest cookie", send: () => request().get('/s/nope/editor?name=Zoe').set('Cookie', 'dms_guest=AAAAAAAAAAAAAAAA.forged'), status: 404 },
];

const pageCases: Case[] = [
  { name: 'a folder page whose id is a script', send: () => request().get('/folders/%3Cscript%3Ealert(1)%3C%2Fscript%3E').set('Cookie', alice.cookie).set('Accept', 'text/html'), status: 404 },
  { name: 'a file page whose id holds a NUL byte', send: () => request().get('/files/abc%00def').set('Cookie', alice.cookie).set('Accept', 'text/html'), status: 404 },
  { name: 'an editor page for a file id with a traversal path', send: () => request().get('/editor/..%2F..%2Fetc%2Fpasswd').set('Cookie', alice.cookie).set('Accept', 'text/html'), status: 404 },
  { name: 'the settings page for a non-admin', send: () => request().get('/settings').set('Cookie', alice.cookie).set('Accept', 'text/html'), status: 403 },
  { name: 'a set-up form after set-up is done', send: () => request().post('/setup').type('form').send({ username: 'mallory', password: 'long enough password' }), status: 403 },
];

const corpus = [...trackCases, ...documentServerCases, ...apiCases, ...pageCases];

describe(`a corpus of ${corpus.length} bad requests: refused with a 4xx, nothing changed, the server keeps serving`, () => {
  it('holds at least 60 requests', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });

  for (const testCase of corpus) {
    const { name, send, status } = testCase;
    it(`${name}: ${status}`, async () => {
      const before = snapshot();
      const originalContent = createHash('sha256').update(await currentContent(env, file.id)).digest('hex');

      const response = await send();

      expect(response.status).toBe(status);
      if (trackCases.includes(testCase)) expect(JSON.parse(response.text)).toMatchObject({ error: 1 });
      // Nothing a request can send is reflected as markup.
      expect(response.text ?? '').not.toContain('<script>alert(1)');
      expect(snapshot()).toEqual(before);
      expect(createHash('sha256').update(await currentContent(env, file.id)).digest('hex')).toBe(originalContent);
      expect((await request().get('/healthz')).status).toBe(200);
    });
  }
});

describe('markup in names', () => {
  it('is kept as text and rendered escaped on the folder, file and editor pages', async () => {
    // No "/" (names refuse path separators), so no closing tag; an unclosed one is just as hostile.
    const hostile = '<script>alert(1)<img src=x onerror=alert(2)>.docx';
    const upload = await asAlice(request().post('/api/files')).field('name', hostile).attach('file', Buffer.from('x'), 'x.docx');
    expect(upload.status).toBe(201);
    expect(upload.body.file.name).toBe(hostile);
    const id = upload.body.file.id as string;
    for (const page of [`/folders/${upload.body.file.parentId}`, `/files/${id}`, `/editor/${id}`]) {
      const html = (await request().get(page).set('Cookie', alice.cookie).set('Accept', 'text/html')).text;
      expect(html).toMatch(/&lt;script&gt;alert\(1\)&lt;img src=x onerror=alert\(2\)&gt;|\\u003cscript\\u003ealert\(1\)/);
      expect(html).not.toContain('<script>alert(1)');
      expect(html).not.toContain('<img src=x');
    }
  });
});

describe('the callback address as proxies may rewrite it', () => {
  it('answers /track/ and /TRACK like /track, as Express routes did', async () => {
    const claims = { key: file.key, status: 1, users: [alice.user.id], actions: [{ type: 1, userid: alice.user.id }] };
    const path = pathOf(file.callbackUrl);
    for (const variant of [path.replace('/track?', '/track/?'), path.replace('/track?', '/TRACK?')]) {
      const response = await request().post(variant).set('Content-Type', 'application/json').send(JSON.stringify({ ...claims, token: sign(claims) }));
      expect(response.status, variant.split('?')[0]).toBe(200);
      expect(response.body).toEqual({ error: 0 });
    }
  });
});
