import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { binary, createTestApp, fixture, type BrowserSession, type TestApp } from './helpers/test-app.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let t: TestApp;
let alice: BrowserSession;

beforeEach(async () => {
  t = createTestApp({ MAX_UPLOAD_MB: '1' });
  alice = await t.signedInUser('alice');
});
afterEach(() => t.close());

function upload(session: BrowserSession, name: string, data: Buffer, folderId?: string) {
  const request = t.request.post('/api/files').set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken);
  if (folderId) request.field('folderId', folderId);
  return request.attach('file', data, name);
}

function api(session: BrowserSession, method: 'get' | 'post' | 'patch' | 'delete' | 'put', url: string) {
  return t.request[method](url).set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken);
}

describe('uploading and downloading', () => {
  it('stores an upload as version 1 and serves the same bytes back with type and length', async () => {
    const bytes = fixture('sample.docx');
    const uploaded = await upload(alice, 'Report.docx', bytes);
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.file).toMatchObject({ name: 'Report.docx', type: 'file', size: bytes.length, extension: 'docx' });
    expect(uploaded.body.file.id).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const content = await api(alice, 'get', `/api/files/${uploaded.body.file.id}/content`).buffer(true).parse(binary);
    expect(content.status).toBe(200);
    expect(content.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(Number(content.headers['content-length'])).toBe(bytes.length);
    expect(content.headers['content-disposition']).toContain('filename=Report.docx');
    expect(sha256(content.body as Buffer)).toBe(sha256(bytes));

    const versions = await api(alice, 'get', `/api/files/${uploaded.body.file.id}/versions`);
    expect(versions.body.versions).toEqual([
      expect.objectContaining({ number: 1, kind: 'upload', size: bytes.length, sha256: sha256(bytes), author: { id: alice.user.id, name: 'Alice' } }),
    ]);
  });

  it('answers a Range request with 206 and just those bytes', async () => {
    const bytes = fixture('sample.pdf');
    const { body } = await upload(alice, 'paper.pdf', bytes);
    const partial = await api(alice, 'get', `/api/files/${body.file.id}/content`).set('Range', 'bytes=100-199').buffer(true).parse(binary);
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.compare(partial.body as Buffer, bytes.subarray(100, 200))).toBe(0);

    const outside = await api(alice, 'get', `/api/files/${body.file.id}/content`).set('Range', `bytes=${bytes.length + 10}-`);
    expect(outside.status).toBe(416);
  });

  it('keeps a UTF-8 file name as sent by the browser', async () => {
    const uploaded = await upload(alice, 'Überblick – März.txt', Buffer.from('hallo'));
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.file.name).toBe('Überblick – März.txt');
  });

  it('gives a clashing upload the name "name (1).ext"', async () => {
    await upload(alice, 'notes.txt', Buffer.from('one'));
    const second = await upload(alice, 'notes.txt', Buffer.from('two'));
    const third = await upload(alice, 'NOTES.txt', Buffer.from('three'));
    expect(second.body.file.name).toBe('notes (1).txt');
    expect(third.body.file.name).toBe('NOTES (2).txt');
  });

  it('refuses an upload over MAX_UPLOAD_MB with 413 and leaves nothing behind', async () => {
    const before = t.listBlobFiles();
    const response = await upload(alice, 'big.bin', Buffer.alloc(1024 * 1024 + 1, 7));
    expect(response.status).toBe(413);
    expect(response.body.error.message).toContain('1 MB upload limit');
    expect(t.listBlobFiles()).toEqual(before);
    expect(t.db.prepare('SELECT count(*) FROM versions').pluck().get()).toBe(0);
    expect(t.db.prepare("SELECT count(*) FROM nodes WHERE kind_rank = 1").pluck().get()).toBe(0);
  });

  it('refuses a body whose announced length is far over the limit before reading it', async () => {
    const response = await upload(alice, 'huge.bin', Buffer.alloc(3 * 1024 * 1024, 1));
    expect(response.status).toBe(413);
    expect(t.listBlobFiles()).toEqual([]);
  });

  it('refuses a request with no file, or two files, with 400', async () => {
    const none = await api(alice, 'post', '/api/files').field('folderId', 'x');
    expect(none.status).toBe(400);
    expect(none.body.error.message).toContain('"file"');
    const two = await api(alice, 'post', '/api/files').attach('file', Buffer.from('a'), 'a.txt').attach('file', Buffer.from('b'), 'b.txt');
    expect(two.status).toBe(400);
    expect(t.listBlobFiles()).toEqual([]);
  });

  it('refuses a JSON body where a multipart upload is expected', async () => {
    const response = await api(alice, 'post', '/api/files').send({ file: 'x' });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain('multipart/form-data');
  });

  it.each([
    ['../x', 'path separator'],
    ['a/b.txt', 'path separator'],
    ['a\\b.txt', 'path separator'],
    ['bad\u0000name.txt', 'control character'],
    ['x'.repeat(300), '300 bytes'],
    ['..', 'not allowed'],
  ])('refuses the name %j and stores nothing', async (name, problem) => {
    const response = await api(alice, 'post', '/api/files').field('name', name).attach('file', Buffer.from('data'), 'ok.txt');
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(problem);
    expect(t.listBlobFiles()).toEqual([]);
  });

  it('uploads into a chosen folder, and refuses a folder the user cannot see with 404', async () => {
    const folder = await api(alice, 'post', '/api/folders').send({ name: 'Projects' });
    const inFolder = await upload(alice, 'plan.txt', Buffer.from('plan'), folder.body.folder.id);
    expect(inFolder.body.file.parentId).toBe(folder.body.folder.id);

    const bob = await t.signedInUser('bob');
    const intoAlices = await upload(bob, 'spy.txt', Buffer.from('x'), folder.body.folder.id);
    expect(intoAlices.status).toBe(404);
    expect(t.db.prepare("SELECT count(*) FROM nodes WHERE name = 'spy.txt'").pluck().get()).toBe(0);
  });
});

describe('replacing content and versions', () => {
  it('stores new content as the next version and keeps the old one downloadable', async () => {
    const { body } = await upload(alice, 'notes.txt', Buffer.from('first'));
    const replaced = await api(alice, 'put', `/api/files/${body.file.id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('second draft'));
    expect(replaced.status).toBe(200);
    expect(replaced.body.version).toMatchObject({ number: 2, kind: 'upload', size: 12 });

    const viaMultipart = await api(alice, 'put', `/api/files/${body.file.id}/content`).attach('file', Buffer.from('third'), 'whatever.txt');
    expect(viaMultipart.body.version.number).toBe(3);
    expect(viaMultipart.body.file.name).toBe('notes.txt');

    const current = await api(alice, 'get', `/api/files/${body.file.id}/content`);
    expect(current.text).toBe('third');
    const first = await api(alice, 'get', `/api/files/${body.file.id}/versions/1/content`);
    expect(first.text).toBe('first');
    const list = await api(alice, 'get', `/api/files/${body.file.id}/versions`);
    expect(list.body.versions.map((v: { number: number }) => v.number)).toEqual([3, 2, 1]);
    const metadata = await api(alice, 'get', `/api/files/${body.file.id}`);
    expect(metadata.body.file).toMatchObject({ size: 5, version: { number: 3 } });
  });

  it('answers 404 for a version that does not exist and 400 for one that is not a number', async () => {
    const { body } = await upload(alice, 'notes.txt', Buffer.from('first'));
    expect((await api(alice, 'get', `/api/files/${body.file.id}/versions/9/content`)).status).toBe(404);
    expect((await api(alice, 'get', `/api/files/${body.file.id}/versions/abc/content`)).status).toBe(400);
  });

  it('refuses replacement content over the limit and keeps the current version', async () => {
    const { body } = await upload(alice, 'notes.txt', Buffer.from('keep me'));
    const response = await api(alice, 'put', `/api/files/${body.file.id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(1024 * 1024 + 5));
    expect(response.status).toBe(413);
    expect((await api(alice, 'get', `/api/files/${body.file.id}/content`)).text).toBe('keep me');
    expect(t.listBlobFiles()).toHaveLength(1);
  });
});

describe('creating blank documents', () => {
  it.each([
    ['docx', 'Budget', 'Budget.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['xlsx', 'Sheet.xlsx', 'Sheet.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['pptx', 'Deck', 'Deck.pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
    ['txt', 'Todo', 'Todo.txt', 'text/plain; charset=utf-8'],
  ])('creates a %s from "%s" as "%s"', async (type, name, expected, contentType) => {
    const created = await api(alice, 'post', '/api/files/new').send({ name, type });
    expect(created.status).toBe(201);
    expect(created.body.file.name).toBe(expected);
    const content = await api(alice, 'get', `/api/files/${created.body.file.id}/content`).buffer(true).parse(binary);
    expect(content.headers['content-type']).toBe(contentType);
    if (type !== 'txt') expect((content.body as Buffer).subarray(0, 2).toString()).toBe('PK');
    const versions = await api(alice, 'get', `/api/files/${created.body.file.id}/versions`);
    expect(versions.body.versions[0].kind).toBe('create');
  });

  it.each([
    [{ name: 'x', type: 'exe' }, 'type must be one of'],
    [{ name: 42, type: 'docx' }, 'name'],
    [{ type: 'docx' }, 'name'],
    [{ name: 'a/b', type: 'docx' }, 'path separator'],
  ])('refuses %j with 400', async (body, message) => {
    const response = await api(alice, 'post', '/api/files/new').send(body);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(message);
    expect(t.listBlobFiles()).toEqual([]);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await api(alice, 'post', '/api/files/new').set('Content-Type', 'text/plain').send('name=x');
    expect(response.status).toBe(415);
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await api(alice, 'post', '/api/files/new').set('Content-Type', 'application/json').send('{"name":');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
  });
});

describe('folders, renaming, moving and deleting', () => {
  it('renames a file and refuses a name already used in the folder with 409', async () => {
    const a = await upload(alice, 'a.txt', Buffer.from('a'));
    await upload(alice, 'b.txt', Buffer.from('b'));
    const renamed = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send({ name: 'c.txt' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.file.name).toBe('c.txt');
    const clash = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send({ name: 'B.TXT' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toContain('already exists');
    const caseOnly = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send({ name: 'C.txt' });
    expect(caseOnly.body.file.name).toBe('C.txt');
  });

  it.each([[{ name: 7 }], [{}], [{ name: 'x', extra: true }], [{ folderId: 5 }]])('refuses the update %j with 400', async (body) => {
    const a = await upload(alice, 'a.txt', Buffer.from('a'));
    const response = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send(body);
    expect(response.status).toBe(400);
    expect((await api(alice, 'get', `/api/files/${a.body.file.id}`)).body.file.name).toBe('a.txt');
  });

  it('moves a file into a folder, and refuses a clash there', async () => {
    const folder = await api(alice, 'post', '/api/folders').send({ name: 'Archive' });
    const a = await upload(alice, 'a.txt', Buffer.from('a'));
    await upload(alice, 'a.txt', Buffer.from('other'), folder.body.folder.id);
    const clash = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send({ folderId: folder.body.folder.id });
    expect(clash.status).toBe(409);
    const moved = await api(alice, 'patch', `/api/files/${a.body.file.id}`).send({ name: 'a-old.txt', folderId: folder.body.folder.id });
    expect(moved.status).toBe(200);
    expect(moved.body.file).toMatchObject({ name: 'a-old.txt', parentId: folder.body.folder.id });
  });

  it('refuses to move a folder into itself or below itself', async () => {
    const outer = await api(alice, 'post', '/api/folders').send({ name: 'Outer' });
    const inner = await api(alice, 'post', '/api/folders').send({ name: 'Inner', parentId: outer.body.folder.id });
    const intoSelf = await api(alice, 'patch', `/api/folders/${outer.body.folder.id}`).send({ folderId: outer.body.folder.id });
    const intoChild = await api(alice, 'patch', `/api/folders/${outer.body.folder.id}`).send({ folderId: inner.body.folder.id });
    expect(intoSelf.status).toBe(400);
    expect(intoChild.status).toBe(400);
    expect(intoChild.body.error.message).toContain('into itself');
  });

  it('refuses a duplicate folder name with 409 and a bad one with 400', async () => {
    await api(alice, 'post', '/api/folders').send({ name: 'Reports' });
    expect((await api(alice, 'post', '/api/folders').send({ name: 'reports' })).status).toBe(409);
    expect((await api(alice, 'post', '/api/folders').send({ name: '' })).status).toBe(400);
    expect((await api(alice, 'post', '/api/folders').send({ name: ['x'] })).status).toBe(400);
  });

  it('deletes a folder with everything in it, blobs included', async () => {
    const folder = await api(alice, 'post', '/api/folders').send({ name: 'Old' });
    const sub = await api(alice, 'post', '/api/folders').send({ name: 'Older', parentId: folder.body.folder.id });
    const file = await upload(alice, 'x.txt', Buffer.from('x'), sub.body.folder.id);
    await api(alice, 'put', `/api/files/${file.body.file.id}/content`).set('Content-Type', 'text/plain').send('y');
    expect(t.listBlobFiles()).toHaveLength(2);

    expect((await api(alice, 'delete', `/api/folders/${folder.body.folder.id}`)).status).toBe(204);
    expect((await api(alice, 'get', `/api/files/${file.body.file.id}`)).status).toBe(404);
    expect((await api(alice, 'get', `/api/folders/${sub.body.folder.id}`)).status).toBe(404);
    expect(t.listBlobFiles()).toEqual([]);
    expect(t.db.prepare('SELECT count(*) FROM versions').pluck().get()).toBe(0);
  });

  it('never renames, moves or deletes the home folder', async () => {
    const home = await api(alice, 'get', '/api/folders/home');
    const id = home.body.folder.id;
    expect((await api(alice, 'delete', `/api/folders/${id}`)).status).toBe(400);
    expect((await api(alice, 'patch', `/api/folders/${id}`).send({ name: 'Mine' })).status).toBe(400);
  });
});

describe('listing and searching', () => {
  it('lists folders first, then files, sorted by name, size or modified time, both ways', async () => {
    await upload(alice, 'b.txt', Buffer.from('bb'));
    await upload(alice, 'a.txt', Buffer.from('aaaa'));
    await upload(alice, 'C.txt', Buffer.from('c'));
    await api(alice, 'post', '/api/folders').send({ name: 'zeta' });
    await api(alice, 'post', '/api/folders').send({ name: 'Alpha' });

    const names = async (query: string) => (await api(alice, 'get', `/api/files?${query}`)).body.items.map((item: { name: string }) => item.name);
    expect(await names('sort=name')).toEqual(['Alpha', 'zeta', 'a.txt', 'b.txt', 'C.txt']);
    expect(await names('sort=name&order=desc')).toEqual(['zeta', 'Alpha', 'C.txt', 'b.txt', 'a.txt']);
    expect((await names('sort=size')).slice(2)).toEqual(['C.txt', 'b.txt', 'a.txt']);
    const listing = await api(alice, 'get', '/api/files');
    expect(listing.body.total).toBe(5);
    expect(listing.body.path.map((p: { name: string }) => p.name)).toEqual(['Home']);
    expect(listing.body.items[2]).toMatchObject({ ownerName: 'Alice', size: 4 });
  });

  it('finds files by part of their name in any folder, ignoring case', async () => {
    const folder = await api(alice, 'post', '/api/folders').send({ name: 'Deep' });
    await upload(alice, 'Quarterly Report.docx', fixture('sample.docx'), folder.body.folder.id);
    await upload(alice, 'report_100%.txt', Buffer.from('x'));
    await upload(alice, 'other.txt', Buffer.from('x'));
    const found = await api(alice, 'get', '/api/files?q=REPORT');
    expect(found.body.items.map((item: { name: string }) => item.name).sort()).toEqual(['Quarterly Report.docx', 'report_100%.txt']);
    const literal = await api(alice, 'get', `/api/files?q=${encodeURIComponent('100%')}`);
    expect(literal.body.items.map((item: { name: string }) => item.name)).toEqual(['report_100%.txt']);
    const bob = await t.signedInUser('bob');
    expect((await api(bob, 'get', '/api/files?q=report')).body.items).toEqual([]);
  });

  it.each([['sort=owner'], ['order=up'], ['limit=0'], ['limit=500'], ['cursor=bm9wZQ']])('refuses the query %s with 400', async (query) => {
    const response = await api(alice, 'get', `/api/files?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error.message.length).toBeGreaterThan(5);
  });
});

describe('who may see what', () => {
  it('answers 401 to a caller without a session or token', async () => {
    expect((await t.request.get('/api/files')).status).toBe(401);
    const upload = await t.request.post('/api/files').attach('file', Buffer.from('x'), 'x.txt');
    expect(upload.status).toBe(401);
    expect(upload.body.error.code).toBe('unauthenticated');
  });

  it("answers 404, not 403, for another user's file or folder, for every action", async () => {
    const file = await upload(alice, 'secret.txt', Buffer.from('secret'));
    const folder = await api(alice, 'post', '/api/folders').send({ name: 'Private' });
    const bob = await t.signedInUser('bob');
    const id = file.body.file.id;
    const attempts = [
      api(bob, 'get', `/api/files/${id}`),
      api(bob, 'get', `/api/files/${id}/content`),
      api(bob, 'get', `/api/files/${id}/versions`),
      api(bob, 'get', `/api/files/${id}/versions/1/content`),
      api(bob, 'put', `/api/files/${id}/content`).set('Content-Type', 'text/plain').send('overwritten'),
      api(bob, 'patch', `/api/files/${id}`).send({ name: 'mine.txt' }),
      api(bob, 'delete', `/api/files/${id}`),
      api(bob, 'get', `/api/folders/${folder.body.folder.id}`),
      api(bob, 'get', `/api/files?folderId=${folder.body.folder.id}`),
      api(bob, 'post', '/api/folders').send({ name: 'x', parentId: folder.body.folder.id }),
      api(bob, 'delete', `/api/folders/${folder.body.folder.id}`),
    ];
    for (const response of await Promise.all(attempts)) expect(response.status).toBe(404);
    expect((await api(alice, 'get', `/api/files/${id}/content`)).text).toBe('secret');
    expect((await api(alice, 'get', `/api/files/${id}`)).body.file.name).toBe('secret.txt');
  });

  it('refuses a state change from a session without the CSRF token and changes nothing', async () => {
    const file = await upload(alice, 'a.txt', Buffer.from('a'));
    const noToken = await t.request.patch(`/api/files/${file.body.file.id}`).set('Cookie', alice.cookie).send({ name: 'b.txt' });
    const wrongToken = await t.request.delete(`/api/files/${file.body.file.id}`).set('Cookie', alice.cookie).set('X-CSRF-Token', 'nope');
    const noTokenUpload = await t.request.post('/api/files').set('Cookie', alice.cookie).attach('file', Buffer.from('x'), 'x.txt');
    expect([noToken.status, wrongToken.status, noTokenUpload.status]).toEqual([403, 403, 403]);
    expect(noToken.body.error.message).toContain('CSRF');
    const listing = await api(alice, 'get', '/api/files');
    expect(listing.body.items.map((item: { name: string }) => item.name)).toEqual(['a.txt']);
  });

  it('does not leave blobs behind when a request fails after the upload was read', async () => {
    await upload(alice, 'a.txt', Buffer.from('a'), 'no-such-folder');
    expect(t.listBlobFiles()).toEqual([]);
    expect(fs.readdirSync(t.dataDir)).toContain('blobs');
  });
});
