import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentServerStandIn, type EditorSession } from './helpers/document-server.js';
import { createServedTestApp, fixture, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

const secret = 'sharing-sessions-secret';

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let alice: BrowserSession;
let bob: BrowserSession;

beforeEach(async () => {
  ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [20, 40, 80] });
  t = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }));
  alice = await t.signedInUser('alice');
  bob = await t.signedInUser('bob');
});
afterEach(async () => {
  await ds.close();
  await t.close();
});

function as(who: BrowserSession, method: 'get' | 'post' | 'delete', url: string) {
  return t.request[method](url).set('Cookie', who.cookie).set('X-CSRF-Token', who.csrfToken);
}

async function upload(): Promise<string> {
  return (await as(alice, 'post', '/api/files').attach('file', fixture('sample.docx'), 'Plan.docx')).body.file.id as string;
}

/** Opens the editor as a user the way the browser would: the page's config, handed to the Document Server. */
async function join(who: BrowserSession, fileId: string, session?: EditorSession): Promise<EditorSession> {
  const { config } = (await as(who, 'get', `/api/files/${fileId}/editor-config`)).body;
  const opened = session ?? (await ds.openEditor(config));
  if (session) await ds.openEditor(config);
  await opened.connect({ id: who.user.id, name: who.user.displayName });
  return opened;
}

const drops = () => ds.commands.filter((command) => command.claims.c === 'drop').map((command) => command.claims);

describe('taking access away closes the person out of the editor', () => {
  it('removing a share drops that user, and only that user, from the open session', async () => {
    const id = await upload();
    const share = (await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'editor' })).body.share;
    const session = await join(alice, id);
    await join(bob, id, session);
    expect(session.editors).toEqual([alice.user.id, bob.user.id]);

    expect((await as(alice, 'delete', `/api/files/${id}/shares/${share.id}`)).status).toBe(204);
    await ds.settled();
    expect(drops()).toEqual([expect.objectContaining({ key: session.key, users: [bob.user.id] })]);
    expect(session.dropped).toEqual([bob.user.id]);
    expect(session.editors).toEqual([alice.user.id]);
    // The DMS heard the status-1 callback: Bob is no longer listed as editing.
    const editing = (await as(alice, 'get', `/api/editing?ids=${id}`)).body.editing[id];
    expect(editing.users.map((user: { id: string }) => user.id)).toEqual([alice.user.id]);
    expect((await as(bob, 'get', `/api/files/${id}/editor-config`)).status).toBe(404);
  });

  it('removing a folder share drops the user from every open file below it', async () => {
    const folder = (await as(alice, 'post', '/api/folders').send({ name: 'Team' })).body.folder.id;
    const id = (await as(alice, 'post', '/api/files').field('folderId', folder).attach('file', fixture('sample.docx'), 'Plan.docx')).body.file.id;
    const share = (await as(alice, 'post', `/api/folders/${folder}/shares`).send({ username: 'bob', role: 'commenter' })).body.share;
    const session = await join(bob, id);
    await as(alice, 'delete', `/api/folders/${folder}/shares/${share.id}`);
    await ds.settled();
    expect(session.dropped).toEqual([bob.user.id]);
  });

  it('lowering a role drops the user so they reopen with the new rights; raising it does not', async () => {
    const id = await upload();
    await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'commenter' });
    const session = await join(bob, id);
    await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'editor' });
    await ds.settled();
    expect(drops()).toEqual([]);
    await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'viewer' });
    await ds.settled();
    expect(session.dropped).toEqual([bob.user.id]);
    const { config } = (await as(bob, 'get', `/api/files/${id}/editor-config`)).body;
    expect(config.editorConfig.mode).toBe('view');
  });

  it('an editor configuration handed out before the share was removed can no longer change the file', async () => {
    const id = await upload();
    const share = (await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'editor' })).body.share;
    const { config } = (await as(bob, 'get', `/api/files/${id}/editor-config`)).body;
    await as(alice, 'delete', `/api/files/${id}/shares/${share.id}`);
    // Bob kept the page and opens it later: the Document Server accepts the signed config...
    const session = await ds.openEditor(config);
    await session.connect({ id: bob.user.id, name: 'Bob' });
    session.edit(bob.user.id, Buffer.from('changed by someone without access'));
    await session.disconnect(bob.user.id);
    await ds.settled();
    // ...but its key was retired with the share, so the save is kept aside and the file is unchanged.
    const versions = (await as(alice, 'get', `/api/files/${id}/versions`)).body.versions;
    expect(versions.map((version: { kind: string }) => version.kind)).toEqual(['recovered', 'upload']);
    expect((await as(alice, 'get', `/api/files/${id}`)).body.file.version.number).toBe(1);
    // Alice's next session gets a new key.
    const next = (await as(alice, 'get', `/api/files/${id}/editor-config`)).body.config;
    expect(next.document.key).not.toBe(config.document.key);
  });

  it('moving a file out of a shared folder drops the sharees editing it', async () => {
    const folder = (await as(alice, 'post', '/api/folders').send({ name: 'Team' })).body.folder.id;
    const id = (await as(alice, 'post', '/api/files').field('folderId', folder).attach('file', fixture('sample.docx'), 'Plan.docx')).body.file.id;
    await as(alice, 'post', `/api/folders/${folder}/shares`).send({ username: 'bob', role: 'editor' });
    const session = await join(alice, id);
    await join(bob, id, session);
    const home = (await as(alice, 'get', '/api/folders/home')).body.folder.id;
    expect((await t.request.patch(`/api/files/${id}`).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).send({ folderId: home })).status).toBe(200);
    await ds.settled();
    expect(session.dropped).toEqual([bob.user.id]);
    expect(session.editors).toEqual([alice.user.id]);
  });

  it('when the Document Server cannot close someone out, the session ends: its later saves cannot change the file', async () => {
    const id = await upload();
    const share = (await as(alice, 'post', `/api/files/${id}/shares`).send({ username: 'bob', role: 'editor' })).body.share;
    const session = await join(bob, id);
    ds.onCommand = (claims) => (claims.c === 'drop' ? { key: claims.key, error: 6 } : undefined);
    expect((await as(alice, 'delete', `/api/files/${id}/shares/${share.id}`)).status).toBe(204);
    expect((await as(alice, 'get', `/api/editing?ids=${id}`)).body.editing).toEqual({});
    // Bob is still connected to the Document Server; what his session saves is kept aside, not as the file.
    session.edit(bob.user.id, Buffer.from('written after losing access'));
    await session.disconnect(bob.user.id);
    await ds.settled();
    const versions = (await as(alice, 'get', `/api/files/${id}/versions`)).body.versions;
    expect(versions.map((version: { kind: string }) => version.kind)).toEqual(['recovered', 'upload']);
    expect((await as(alice, 'get', `/api/files/${id}`)).body.file.version.number).toBe(1);
  });

  it('revoking a link drops the guests who came by it, not the signed-in editors', async () => {
    const id = await upload();
    const made = (await as(alice, 'post', `/api/files/${id}/links`).send({ role: 'editor' })).body.link;
    const session = await join(alice, id);
    const page = await t.request.get(`${new URL(made.url).pathname}/editor?name=Zoe`);
    const config = JSON.parse(/<script type="application\/json" id="editor-config">([\s\S]*?)<\/script>/.exec(page.text)![1]!);
    await ds.openEditor(config);
    await session.connect({ id: config.editorConfig.user.id, name: 'Zoe (guest)' });
    expect(session.editors).toHaveLength(2);

    expect((await as(alice, 'delete', `/api/files/${id}/links/${made.id}`)).status).toBe(204);
    await ds.settled();
    expect(drops()).toEqual([expect.objectContaining({ key: session.key, users: [config.editorConfig.user.id] })]);
    expect(session.editors).toEqual([alice.user.id]);
  });

  it('a guest with an edit link saves through the callback like anyone else', async () => {
    const id = await upload();
    const made = (await as(alice, 'post', `/api/files/${id}/links`).send({ role: 'editor' })).body.link;
    const page = await t.request.get(`${new URL(made.url).pathname}/editor?name=Zoe`);
    const config = JSON.parse(/<script type="application\/json" id="editor-config">([\s\S]*?)<\/script>/.exec(page.text)![1]!);
    const session = await ds.openEditor(config);
    const guest = config.editorConfig.user.id as string;
    await session.connect({ id: guest, name: 'Zoe (guest)' });
    session.edit(guest, Buffer.from('written by a guest'));
    await session.disconnect(guest);
    await ds.settled();
    const versions = (await as(alice, 'get', `/api/files/${id}/versions`)).body.versions;
    expect(versions[0]).toMatchObject({ number: 2, kind: 'edit', author: null, size: 'written by a guest'.length });
  });
});
