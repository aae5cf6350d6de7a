import { createHash } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentServerStandIn, type PageConfig } from './helpers/document-server.js';
import { binary, createServedTestApp, fixture, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

const secret = 'editing-session-shared-secret';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let alice: BrowserSession;
let bob: BrowserSession;

beforeEach(async () => {
  ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [50, 100, 200] });
  t = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }), { callbackLimits: { fetchTimeoutMs: 2000 } });
  alice = await t.signedInUser('alice');
  bob = await t.signedInUser('bob');
});
afterEach(async () => {
  await ds.close();
  await t.close();
});

async function upload(name: string, data: Buffer): Promise<string> {
  const response = await t.request.post('/api/files').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).attach('file', data, name);
  expect(response.status).toBe(201);
  return response.body.file.id as string;
}

async function editorConfig(fileId: string): Promise<PageConfig & { document: { key: string; url: string }; editorConfig: { callbackUrl: string } }> {
  const response = await t.request.get(`/api/files/${fileId}/editor-config`).set('Cookie', alice.cookie);
  expect(response.status).toBe(200);
  return response.body.config;
}

async function metadata(fileId: string) {
  return (await t.request.get(`/api/files/${fileId}`).set('Cookie', alice.cookie)).body.file;
}

async function versions(fileId: string): Promise<Array<{ number: number; kind: string; sha256: string; author: { id: string } | null }>> {
  return (await t.request.get(`/api/files/${fileId}/versions`).set('Cookie', alice.cookie)).body.versions;
}

async function content(fileId: string): Promise<Buffer> {
  return (await t.request.get(`/api/files/${fileId}/content`).set('Cookie', alice.cookie).buffer(true).parse(binary)).body as Buffer;
}

describe('a whole co-editing session through the Document Server', () => {
  it('open → two editors → force save → final save: new current version, new key, history kept', async () => {
    const original = fixture('sample.docx');
    const id = await upload('Plan.docx', original);
    const config = await editorConfig(id);
    const session = await ds.openEditor(config);
    expect(sha256(session.original)).toBe(sha256(original));

    expect((await session.connect({ id: alice.user.id, name: 'Alice' }))?.success).toBe(true);
    expect((await session.connect({ id: bob.user.id, name: 'Bob' }))?.success).toBe(true);
    expect((await metadata(id)).editing.users.map((u: { name: string }) => u.name)).toEqual(['Alice', 'Bob']);
    const page = await t.request.get(`/folders/${(await metadata(id)).parentId}`).set('Cookie', alice.cookie);
    expect(page.text).toContain('Being edited by Alice, Bob');

    const checkpointBytes = Buffer.concat([original, Buffer.from('checkpoint')]);
    session.edit(bob.user.id, checkpointBytes);
    const forced = await session.forceSave({ type: 0 });
    expect(forced.success).toBe(true);
    expect((await versions(id))[0]).toMatchObject({ number: 2, kind: 'checkpoint', sha256: sha256(checkpointBytes), author: { id: bob.user.id } });
    // A force save keeps the key: someone joining now lands in the same session.
    expect((await editorConfig(id)).document.key).toBe(config.document.key);

    const finalBytes = Buffer.concat([checkpointBytes, Buffer.from(' and the final edit')]);
    session.edit(alice.user.id, finalBytes);
    expect((await session.disconnect(bob.user.id))?.success).toBe(true);
    const closing = await session.disconnect(alice.user.id);
    expect(closing).toMatchObject({ status: 2, success: true, forgotten: false });
    expect(closing!.attempts).toHaveLength(1);

    expect(sha256(await content(id))).toBe(sha256(finalBytes));
    const list = await versions(id);
    expect(list.map((v) => [v.number, v.kind])).toEqual([[3, 'edit'], [2, 'checkpoint'], [1, 'upload']]);
    expect(list[0]!.author?.id).toBe(alice.user.id);
    const stored = t.db.prepare('SELECT history, changes_blob_id FROM versions WHERE file_id = ? AND number = 3').get(id) as { history: string; changes_blob_id: string };
    expect(JSON.parse(stored.history).changes.length).toBeGreaterThan(0);
    expect(t.store.has(stored.changes_blob_id)).toBe(true);
    expect((await metadata(id)).editing).toBeNull();
    expect((await editorConfig(id)).document.key).not.toBe(config.document.key);
  });

  it('a session closed without changes (status 4) keeps the key and clears the editors', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const config = await editorConfig(id);
    const session = await ds.openEditor(config);
    await session.connect({ id: alice.user.id, name: 'Alice' });
    const closed = await session.disconnect(alice.user.id);
    expect(closed).toMatchObject({ status: 4, success: true });
    expect(closed!.body.users).toBeUndefined();
    expect((await metadata(id)).editing).toBeNull();
    expect(await versions(id)).toHaveLength(1);
    expect((await editorConfig(id)).document.key).toBe(config.document.key);
  });

  it('a session that force-saved and then closed (status 4) gets a new key', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const config = await editorConfig(id);
    const session = await ds.openEditor(config);
    await session.connect({ id: alice.user.id, name: 'Alice' });
    session.edit(alice.user.id, Buffer.from('changed'));
    await session.forceSave({ type: 1, userId: alice.user.id });
    const closed = await session.disconnect(alice.user.id);
    // Everything was already stored by the force save: the DS sends status 2 with notmodified.
    expect(closed?.body.notmodified).toBe(true);
    expect(closed?.success).toBe(true);
    expect((await versions(id)).map((v) => v.kind)).toEqual(['checkpoint', 'upload']);
    expect((await editorConfig(id)).document.key).not.toBe(config.document.key);
  });

  it('keeps the bytes of a failed save (status 3) as a recovered version beside the current one', async () => {
    const original = fixture('sample.docx');
    const id = await upload('Plan.docx', original);
    const session = await ds.openEditor(await editorConfig(id));
    await session.connect({ id: alice.user.id, name: 'Alice' });
    session.edit(alice.user.id, Buffer.from('half-built'));
    const failed = await session.failSave({ withFile: true });
    expect(failed.success).toBe(true);
    expect((await versions(id)).map((v) => v.kind)).toEqual(['recovered', 'upload']);
    expect(sha256(await content(id))).toBe(sha256(original));
  });

  it('stores a save in another format as a new file beside the original', async () => {
    const id = await upload('Notes.docx', fixture('sample.docx'));
    const config = await editorConfig(id);
    const session = await ds.openEditor(config);
    await session.connect({ id: alice.user.id });
    // The DS reports a format other than the stored one.
    const url = ds.putCacheFile(config.document.key, Buffer.from('odt bytes'), 'odt');
    const outcome = await ds.sendCallback(config.editorConfig.callbackUrl, {
      key: config.document.key, status: 2, url, users: [alice.user.id], actions: [{ type: 0, userid: alice.user.id }],
      lastsave: new Date().toISOString(), notmodified: false, filetype: 'odt',
    });
    expect(outcome.success).toBe(true);
    const listing = await t.request.get('/api/files').set('Cookie', alice.cookie);
    expect(listing.body.items.map((item: { name: string }) => item.name).sort()).toEqual(['Notes (edited).odt', 'Notes.docx']);
    expect(await versions(id)).toHaveLength(1);
  });
});

describe('callbacks that must be refused, each leaving the file unchanged', () => {
  let id: string;
  let config: Awaited<ReturnType<typeof editorConfig>>;
  let original: Buffer;

  beforeEach(async () => {
    original = fixture('sample.docx');
    id = await upload('Plan.docx', original);
    config = await editorConfig(id);
    await ds.openEditor(config);
  });

  async function expectUnchanged() {
    expect(await versions(id)).toHaveLength(1);
    expect(sha256(await content(id))).toBe(sha256(original));
  }

  function saveFields(url: string) {
    return { key: config.document.key, status: 2, url, users: [alice.user.id], actions: [{ type: 0, userid: alice.user.id }], lastsave: new Date().toISOString(), notmodified: false, filetype: 'docx' };
  }

  async function postRaw(body: unknown, headers: Record<string, string> = {}) {
    const callback = new URL(config.editorConfig.callbackUrl);
    return t.request.post(callback.pathname + callback.search).set(headers).send(body as object);
  }

  it('a callback with no token', async () => {
    const response = await postRaw(saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx')));
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: 1 });
    await expectUnchanged();
  });

  it('a callback signed with another secret', async () => {
    const impostor = await DocumentServerStandIn.start({ secret: 'not-the-shared-secret', retryDelaysMs: [1, 1, 1] });
    try {
      const outcome = await impostor.sendCallback(config.editorConfig.callbackUrl, saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx')));
      expect(outcome.success).toBe(false);
      expect(outcome.attempts).toHaveLength(1);
      expect(outcome.attempts[0]!.httpStatus).toBe(403);
    } finally {
      await impostor.close();
    }
    await expectUnchanged();
  });

  it("a token with alg 'none'", async () => {
    const fields = saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx'));
    const unsigned = jwt.sign(fields, '', { algorithm: 'none' });
    const response = await postRaw({ ...fields, token: unsigned });
    expect(response.status).toBe(403);
    await expectUnchanged();
  });

  it('an expired token', async () => {
    const fields = saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx'));
    const iat = Math.floor(Date.now() / 1000) - 1000;
    const expired = jwt.sign({ ...fields, iat, exp: iat + 300 }, secret);
    const response = await postRaw({ ...fields, token: expired });
    expect(response.status).toBe(403);
    expect(response.body.message).toContain('expired');
    await expectUnchanged();
  });

  it("a valid token replayed against another file's callback link", async () => {
    const otherId = await upload('Other.docx', fixture('sample.docx'));
    const otherConfig = await editorConfig(otherId);
    const outcome = await ds.sendCallback(otherConfig.editorConfig.callbackUrl, saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx')));
    expect(outcome.success).toBe(false);
    expect(outcome.attempts[0]!.httpStatus).toBe(403);
    await expectUnchanged();
    expect(await versions(otherId)).toHaveLength(1);
  });

  it('a url on another host', async () => {
    const outcome = await ds.sendCallback(config.editorConfig.callbackUrl, saveFields('http://127.0.0.2:9/cache/files/data/x/output.docx'));
    expect(outcome.success).toBe(false);
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.forgotten).toBe(true);
    await expectUnchanged();
  });

  it('a Document Server file that redirects elsewhere', async () => {
    const url = ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx');
    ds.cacheFault = (req, res) => {
      if (!req.url?.startsWith('/cache/')) return false;
      res.writeHead(302, { Location: 'http://127.0.0.2:9/elsewhere' }).end();
      return true;
    };
    const outcome = await ds.sendCallback(config.editorConfig.callbackUrl, saveFields(url));
    expect(outcome.success).toBe(false);
    expect(outcome.attempts.map((a) => a.httpStatus)).toEqual([422]);
    await expectUnchanged();
  });

  it('a Document Server file that breaks off mid-stream: 503 so the DS retries, and nothing stored', async () => {
    const url = ds.putCacheFile(config.document.key, Buffer.alloc(64 * 1024, 1), 'docx');
    ds.cacheFault = (req, res) => {
      if (!req.url?.startsWith('/cache/')) return false;
      res.writeHead(200, { 'Content-Length': String(64 * 1024) });
      res.write(Buffer.alloc(1000, 1));
      setTimeout(() => res.destroy(), 20);
      return true;
    };
    const outcome = await ds.sendCallback(config.editorConfig.callbackUrl, saveFields(url));
    expect(outcome.attempts.map((a) => a.httpStatus)).toEqual([503, 503, 503, 503]);
    expect(outcome.forgotten).toBe(true);
    await expectUnchanged();
    expect(t.listBlobFiles()).toHaveLength(1);
  });

  it('a Document Server file that fails once is stored when the DS retries', async () => {
    const finalBytes = Buffer.from('saved after a retry');
    const url = ds.putCacheFile(config.document.key, finalBytes, 'docx');
    let failures = 1;
    ds.cacheFault = (req, res) => {
      if (!req.url?.startsWith('/cache/') || failures === 0) return false;
      failures -= 1;
      res.writeHead(500).end();
      return true;
    };
    const outcome = await ds.sendCallback(config.editorConfig.callbackUrl, saveFields(url));
    expect(outcome.attempts.map((a) => a.httpStatus)).toEqual([503, 200]);
    expect(sha256(await content(id))).toBe(sha256(finalBytes));
  });

  it('a duplicate delivery of a save already stored', async () => {
    const bytes = Buffer.from('the one save');
    const fields = saveFields(ds.putCacheFile(config.document.key, bytes, 'docx'));
    expect((await ds.sendCallback(config.editorConfig.callbackUrl, fields)).success).toBe(true);
    const again = await ds.sendCallback(config.editorConfig.callbackUrl, fields);
    expect(again.success).toBe(true);
    expect((await versions(id)).map((v) => v.number)).toEqual([2, 1]);
  });

  it('a key this DMS never issued for the link, and a malformed status', async () => {
    const fields = saveFields(ds.putCacheFile(config.document.key, Buffer.from('evil'), 'docx'));
    const wrongKey = await ds.sendCallback(config.editorConfig.callbackUrl, { ...fields, key: 'made-up-key' });
    expect(wrongKey.attempts[0]!.httpStatus).toBe(403);
    const unknownStatus = await ds.sendCallback(config.editorConfig.callbackUrl, { ...fields, status: 5 });
    expect(unknownStatus.attempts[0]!.httpStatus).toBe(400);
    const forged = new URL(config.editorConfig.callbackUrl);
    forged.searchParams.set('ref', `${forged.searchParams.get('ref')!.split('.')[0]}.AAAA`);
    expect((await ds.sendCallback(forged.toString(), fields)).attempts[0]!.httpStatus).toBe(403);
    await expectUnchanged();
  });
});

describe('/download', () => {
  it('serves the version to the Document Server only with a token for this very URL', async () => {
    const bytes = fixture('sample.docx');
    const id = await upload('Plan.docx', bytes);
    const other = await upload('Other.docx', fixture('sample.xlsx'));
    const url = new URL((await editorConfig(id)).document.url);
    const otherUrl = (await editorConfig(other)).document.url;
    const path = url.pathname + url.search;
    const tokenFor = (target: string) => `Bearer ${jwt.sign({ payload: { url: target } }, secret, { expiresIn: 300 })}`;

    const ok = await t.request.get(path).set('Authorization', tokenFor(url.toString())).buffer(true).parse(binary);
    expect(ok.status).toBe(200);
    expect(sha256(ok.body as Buffer)).toBe(sha256(bytes));
    const range = await t.request.get(path).set('Authorization', tokenFor(url.toString())).set('Range', 'bytes=0-9');
    expect(range.status).toBe(206);

    expect((await t.request.get(path)).status).toBe(403);
    expect((await t.request.get(path).set('Authorization', tokenFor(otherUrl))).status).toBe(403);
    const wrongSecret = `Bearer ${jwt.sign({ payload: { url: url.toString() } }, 'wrong')}`;
    expect((await t.request.get(path).set('Authorization', wrongSecret)).status).toBe(403);
    const tampered = path.replace(/ref=([^.]+)\./, 'ref=$1x.');
    expect((await t.request.get(tampered).set('Authorization', tokenFor(`${t.url}${tampered}`))).status).toBe(403);
    const trackRef = new URL((await editorConfig(id)).editorConfig.callbackUrl).search;
    expect((await t.request.get(`/download${trackRef}`).set('Authorization', tokenFor(`${t.url}/download${trackRef}`))).status).toBe(403);
  });
});

describe('without a JWT secret', () => {
  it('still opens and saves: the signed links alone protect /download and /track', async () => {
    const plainDs = await DocumentServerStandIn.start({ retryDelaysMs: [10, 10, 10] });
    const plain = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: plainDs.url }));
    try {
      const carol = await plain.signedInUser('carol');
      const uploaded = await plain.request.post('/api/files').set('Cookie', carol.cookie).set('X-CSRF-Token', carol.csrfToken).attach('file', fixture('sample.xlsx'), 'Budget.xlsx');
      const { config } = (await plain.request.get(`/api/files/${uploaded.body.file.id}/editor-config`).set('Cookie', carol.cookie)).body;
      expect(config.token).toBeUndefined();
      const session = await plainDs.openEditor(config);
      await session.connect({ id: carol.user.id });
      session.edit(carol.user.id, Buffer.from('new cells'));
      expect((await session.disconnect(carol.user.id))?.success).toBe(true);
      const current = await plain.request.get(`/api/files/${uploaded.body.file.id}/content`).set('Cookie', carol.cookie);
      expect(current.text).toBe('new cells');
      // A forged link is still refused.
      const forged = config.editorConfig.callbackUrl.replace(/ref=[^.]+/, 'ref=eyJwIjoidHJhY2sifQ');
      expect((await plainDs.sendCallback(forged, { key: config.document.key, status: 1, users: [carol.user.id] })).success).toBe(false);
    } finally {
      await plainDs.close();
      await plain.close();
    }
  });
});
