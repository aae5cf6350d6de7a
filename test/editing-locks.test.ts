import { createHash } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { unzipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DocumentServerStandIn, type EditorSession } from './helpers/document-server.js';
import { binary, createServedTestApp, fixture, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

const secret = 'locks-test-shared-secret';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let alice: BrowserSession;

beforeEach(async () => {
  ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [20, 40, 80] });
  t = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }));
  alice = await t.signedInUser('alice');
});
afterEach(async () => {
  await ds.close();
  await t.close();
});

function as(method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string) {
  return t.request[method](url).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken);
}

async function upload(name: string, data: Buffer): Promise<string> {
  return (await as('post', '/api/files').attach('file', data, name)).body.file.id as string;
}

async function openSession(fileId: string): Promise<{ session: EditorSession; key: string }> {
  const { config } = (await as('get', `/api/files/${fileId}/editor-config`)).body;
  const session = await ds.openEditor(config);
  await session.connect({ id: alice.user.id, name: 'Alice' });
  return { session, key: config.document.key };
}

async function versions(fileId: string) {
  return (await as('get', `/api/files/${fileId}/versions`)).body.versions as Array<{ number: number; kind: string; sha256: string }>;
}

async function content(fileId: string): Promise<Buffer> {
  return (await as('get', `/api/files/${fileId}/content`).buffer(true).parse(binary)).body as Buffer;
}

describe('who is editing', () => {
  it('appears on status 1 and clears on status 2, in the API the file browser polls', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    expect((await as('get', `/api/editing?ids=${id}`)).body.editing).toEqual({});
    const { session } = await openSession(id);
    const editing = (await as('get', `/api/editing?ids=${id},not-a-file`)).body.editing;
    expect(editing[id].users).toEqual([{ id: alice.user.id, name: 'Alice' }]);
    expect(Date.parse(editing[id].since)).toBeGreaterThan(0);
    session.edit(alice.user.id, Buffer.from('v2'));
    await session.disconnect(alice.user.id);
    expect((await as('get', `/api/editing?ids=${id}`)).body.editing).toEqual({});
  });

  it('clears a session the Document Server no longer knows when it has been silent too long', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { config } = (await as('get', `/api/files/${id}/editor-config`)).body;
    // The DS never opened this key, and its last callback was long ago.
    t.app.services.repositories.documentKeys.updateEditors(config.document.key, [alice.user.id], 1, 1);
    expect((await as('get', `/api/files/${id}`)).body.file.editing).not.toBeNull();
    expect(await t.app.services.sessions.sweepStale()).toBe(1);
    expect(ds.commands.at(-1)!.claims).toMatchObject({ c: 'info', key: config.document.key });
    expect((await as('get', `/api/files/${id}`)).body.file.editing).toBeNull();
  });
});

describe('locks while a session is open', () => {
  it('refuses delete and replace with 409 naming the editor, and changes nothing', async () => {
    const original = fixture('sample.docx');
    const id = await upload('Plan.docx', original);
    await openSession(id);
    const deleted = await as('delete', `/api/files/${id}`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.error).toMatchObject({ code: 'file_locked' });
    expect(deleted.body.error.message).toContain('being edited by Alice');
    const replaced = await as('put', `/api/files/${id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('new'));
    expect(replaced.status).toBe(409);
    const folder = (await as('get', `/api/files/${id}`)).body.file.parentId;
    expect((await as('delete', `/api/folders/${folder}`)).status).toBe(400); // the home folder is never deletable
    expect(await versions(id)).toHaveLength(1);
    expect(sha256(await content(id))).toBe(sha256(original));
    expect(ds.commands.filter((c) => c.claims.c === 'drop')).toEqual([]);
  });

  it('a folder with an open file inside is locked too', async () => {
    const folder = (await as('post', '/api/folders').send({ name: 'Projects' })).body.folder.id;
    const id = (await as('post', '/api/files').field('folderId', folder).attach('file', fixture('sample.docx'), 'Plan.docx')).body.file.id;
    await openSession(id);
    expect((await as('delete', `/api/folders/${folder}`)).status).toBe(409);
    expect((await as('delete', `/api/folders/${folder}?force=true`)).status).toBe(204);
    expect(ds.commands.some((c) => c.claims.c === 'drop')).toBe(true);
  });

  it('forced replace drops the editors, rotates the key, and a late save from the old session cannot overwrite', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { session, key } = await openSession(id);
    session.edit(alice.user.id, Buffer.from('edits made before the drop'));
    const replaced = await as('put', `/api/files/${id}/content?force=true`).set('Content-Type', 'application/octet-stream').send(Buffer.from('uploaded over it'));
    expect(replaced.status).toBe(200);
    const drop = ds.commands.find((c) => c.claims.c === 'drop')!;
    expect(drop.claims.key).toBe(key);
    await ds.settled();
    expect((await content(id)).toString()).toBe('uploaded over it');
    expect((await as('get', `/api/files/${id}/editor-config`)).body.config.document.key).not.toBe(key);
    // Whatever the dropped session saved is kept, but beside the current content.
    const kinds = (await versions(id)).map((v) => v.kind);
    expect(kinds[0] === 'recovered' ? kinds.slice(1) : kinds).toEqual(['upload', 'upload']);
    expect((await content(id)).toString()).toBe('uploaded over it');
  });

  it('forced delete drops the editors first', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { key } = await openSession(id);
    expect((await as('delete', `/api/files/${id}`).send({ force: true })).status).toBe(204);
    expect(ds.commands.find((c) => c.claims.c === 'drop')!.claims.key).toBe(key);
    expect((await as('get', `/api/files/${id}`)).status).toBe(404);
  });
});

describe('force save', () => {
  it('"Save now" sends forcesave and the following status 6 stores a checkpoint', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { session, key } = await openSession(id);
    const nothing = await as('post', `/api/files/${id}/forcesave`);
    expect(nothing.status).toBe(200);
    expect(nothing.body).toMatchObject({ started: false });
    session.edit(alice.user.id, Buffer.from('checkpointed'));
    const started = await as('post', `/api/files/${id}/forcesave`);
    expect(started.status).toBe(202);
    expect(ds.commands.at(-1)!.claims).toMatchObject({ c: 'forcesave', key });
    await ds.settled();
    expect((await versions(id))[0]).toMatchObject({ number: 2, kind: 'checkpoint' });
    expect((await content(id)).toString()).toBe('checkpointed');
    expect((await as('get', `/api/files/${id}/editor-config`)).body.config.document.key).toBe(key);
  });

  it('answers 409 when nobody is editing', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const response = await as('post', `/api/files/${id}/forcesave`);
    expect(response.status).toBe(409);
    expect(response.body.error.message).toContain('not open in the editor');
  });

  it('keeps only the configured number of checkpoints, never the current version or uploads', async () => {
    const admin = await t.signedInUser('root', 'admin');
    await t.request.put('/api/settings').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).send({ checkpointRetention: 2 });
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { session } = await openSession(id);
    for (let round = 1; round <= 4; round += 1) {
      session.edit(alice.user.id, Buffer.from(`round ${round}`));
      await session.forceSave({ type: 1, userId: alice.user.id });
    }
    const list = await versions(id);
    expect(list.map((v) => [v.number, v.kind])).toEqual([[5, 'checkpoint'], [4, 'checkpoint'], [1, 'upload']]);
    expect((await content(id)).toString()).toBe('round 4');
  });
});

describe('restore', () => {
  it('makes a new version with the old bytes and a new key; refused during a session unless forced', async () => {
    const first = fixture('sample.docx');
    const id = await upload('Plan.docx', first);
    await as('put', `/api/files/${id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('second'));
    const { key } = await openSession(id);
    const refused = await as('post', `/api/files/${id}/versions/1/restore`).send({});
    expect(refused.status).toBe(409);
    const restored = await as('post', `/api/files/${id}/versions/1/restore`).send({ force: true });
    expect(restored.status).toBe(201);
    expect(restored.body.version).toMatchObject({ number: 3, kind: 'restore', sha256: sha256(first) });
    expect(sha256(await content(id))).toBe(sha256(first));
    expect((await as('get', `/api/files/${id}/editor-config`)).body.config.document.key).not.toBe(key);
    expect((await as('post', `/api/files/${id}/versions/9/restore`).send({})).status).toBe(404);
  });
});

describe('version history in the editor', () => {
  it('hands the editor signed URLs for each version, its predecessor and its changes', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { session } = await openSession(id);
    session.edit(alice.user.id, Buffer.from('second version'));
    await session.disconnect(alice.user.id);

    const history = (await as('get', `/api/files/${id}/history`)).body;
    expect(history.currentVersion).toBe(2);
    expect(history.history.map((entry: { version: number }) => entry.version)).toEqual([1, 2]);
    expect(history.history[1]).toMatchObject({ user: { id: alice.user.id, name: 'Alice' } });
    expect(history.history[1].changes.length).toBeGreaterThan(0);
    expect(history.history[0].key).not.toBe(history.history[1].key);

    const data = (await as('get', `/api/files/${id}/history/2`)).body;
    expect(data).toMatchObject({ version: 2, fileType: 'docx', previous: { fileType: 'docx' } });
    const { iat: _iat, exp: _exp, ...claims } = jwt.verify(data.token, secret) as Record<string, unknown>;
    const { token: _token, ...unsigned } = data;
    expect(claims).toEqual(unsigned);

    const fetchAsDs = (url: string, withToken = true) => {
      const target = new URL(url);
      const request = t.request.get(target.pathname + target.search).buffer(true).parse(binary);
      return withToken ? request.set('Authorization', `Bearer ${jwt.sign({ payload: { url } }, secret, { expiresIn: 300 })}`) : request;
    };
    expect(((await fetchAsDs(data.url)).body as Buffer).toString()).toBe('second version');
    expect(sha256((await fetchAsDs(data.previous.url)).body as Buffer)).toBe(sha256(fixture('sample.docx')));
    const changes = await fetchAsDs(data.changesUrl);
    expect(changes.status).toBe(200);
    expect(Object.keys(unzipSync(new Uint8Array(changes.body as Buffer))).length).toBeGreaterThan(0);
    expect((await fetchAsDs(data.url, false)).status).toBe(403);
    const otherFile = await upload('Other.docx', fixture('sample.docx'));
    expect((await as('get', `/api/files/${otherFile}/history/5`)).status).toBe(404);
  });
});

describe('rename while editing', () => {
  it('tells the editors the new title with the meta command', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { session, key } = await openSession(id);
    expect((await as('patch', `/api/files/${id}`).send({ name: 'Final plan.docx' })).status).toBe(200);
    expect(ds.commands.at(-1)!.claims).toMatchObject({ c: 'meta', key, meta: { title: 'Final plan.docx' } });
    expect(session.meta).toEqual({ title: 'Final plan.docx' });
  });
});

describe('sessions that ended or were retired can never change the file', () => {
  function saveFields(key: string, status: number, url: string, lastsave: string) {
    return { key, status, url, users: [alice.user.id], actions: [{ type: 0, userid: alice.user.id }], lastsave, notmodified: false, filetype: 'docx' };
  }

  it('after a forced replace, force saves and the final save of the old key become recovered versions', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { config } = (await as('get', `/api/files/${id}/editor-config`)).body;
    const key = config.document.key as string;
    const callbackUrl = config.editorConfig.callbackUrl as string;
    await ds.sendCallback(callbackUrl, { key, status: 1, users: [alice.user.id], actions: [{ type: 1, userid: alice.user.id }] });
    expect((await as('put', `/api/files/${id}/content?force=true`).set('Content-Type', 'application/octet-stream').send(Buffer.from('FORCED'))).status).toBe(200);

    for (const [status, text, at] of [[6, 'edit-1', '2026-01-01T00:00:01Z'], [6, 'edit-2', '2026-01-01T00:00:02Z'], [2, 'final', '2026-01-01T00:00:03Z']] as const) {
      const outcome = await ds.sendCallback(callbackUrl, saveFields(key, status, ds.putCacheFile(key, Buffer.from(text), 'docx'), at));
      expect(outcome.success).toBe(true);
    }
    expect((await content(id)).toString()).toBe('FORCED');
    expect((await versions(id)).map((v) => v.kind)).toEqual(['recovered', 'recovered', 'recovered', 'upload', 'upload']);
  });

  it('an upload while the DS has not yet reported the session retires the key too', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { config } = (await as('get', `/api/files/${id}/editor-config`)).body;
    expect((await as('put', `/api/files/${id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('UPLOADED'))).status).toBe(200);
    const late = await ds.sendCallback(config.editorConfig.callbackUrl, saveFields(config.document.key, 2, ds.putCacheFile(config.document.key, Buffer.from('STALE'), 'docx'), '2026-01-01T00:00:09Z'));
    expect(late.success).toBe(true);
    expect((await content(id)).toString()).toBe('UPLOADED');
    expect((await versions(id))[0]!.kind).toBe('recovered');
  });

  it('a repeated status 3 stores its bytes once', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const { config } = (await as('get', `/api/files/${id}/editor-config`)).body;
    const fields = { ...saveFields(config.document.key, 3, ds.putCacheFile(config.document.key, Buffer.from('broken'), 'docx'), '2026-01-01T00:00:05Z') };
    expect((await ds.sendCallback(config.editorConfig.callbackUrl, fields)).success).toBe(true);
    expect((await ds.sendCallback(config.editorConfig.callbackUrl, fields)).success).toBe(true);
    expect((await versions(id)).map((v) => v.kind)).toEqual(['recovered', 'upload']);
  });
});

describe('malformed requests answer 4xx and change nothing', () => {
  it('replacing content with a JSON body is refused, not stored as an empty version', async () => {
    const id = await upload('Plan.docx', fixture('sample.docx'));
    const response = await as('put', `/api/files/${id}/content`).send({ a: 2 });
    expect(response.status).toBe(415);
    expect(await versions(id)).toHaveLength(1);
  });

  it('a multipart body without a boundary, or cut short, is a 400', async () => {
    const noBoundary = await as('post', '/api/files').set('Content-Type', 'multipart/form-data').send('x');
    expect(noBoundary.status).toBe(400);
    const truncated = await as('post', '/api/files')
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a fi');
    expect(truncated.status).toBe(400);
    expect(truncated.body.error.message).toContain('malformed');
    // The part's temp file goes as soon as its stream notices the end of the body.
    await vi.waitFor(() => expect(t.listBlobFiles()).toEqual([]), { timeout: 2000 });
  });

  it('a bad percent-encoding in the path, or two folder ids, is a 400', async () => {
    expect((await as('get', '/api/files/%ZZ')).status).toBe(400);
    expect((await as('get', '/api/files?folderId=a&folderId=b')).status).toBe(400);
  });
});
