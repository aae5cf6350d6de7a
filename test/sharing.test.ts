import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary, createTestApp, fixture, type BrowserSession, type TestApp } from './helpers/test-app.js';

/**
 * Every role against every action, over HTTP. Alice owns the folder "Team" and shares it (so the
 * files inside inherit the share) with one user per role; Sam has no share; Ada is an admin.
 */
const people = ['owner', 'admin', 'editor', 'reviewer', 'commenter', 'filler', 'viewer', 'viewerNoDownload', 'stranger'] as const;
type Who = (typeof people)[number];
const shareOf: Partial<Record<Who, { role: string; noDownload?: boolean }>> = {
  editor: { role: 'editor' },
  reviewer: { role: 'reviewer' },
  commenter: { role: 'commenter' },
  filler: { role: 'form_filler' },
  viewer: { role: 'viewer' },
  viewerNoDownload: { role: 'viewer', noDownload: true },
};

let t: TestApp;
const as = {} as Record<Who, BrowserSession>;
let team: string;
let sub: string;
let docx: string;
const files: Record<'docx' | 'xlsx' | 'pptx' | 'pdf', string> = { docx: '', xlsx: '', pptx: '', pdf: '' };

function call(who: Who, method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string) {
  return t.request[method](url).set('Cookie', as[who].cookie).set('X-CSRF-Token', as[who].csrfToken);
}

async function upload(folderId: string, name: string, data: Buffer): Promise<string> {
  const response = await call('owner', 'post', '/api/files').field('folderId', folderId).attach('file', data, name);
  expect(response.status).toBe(201);
  return response.body.file.id as string;
}

/** A new file in Team for an action that changes or removes it, so every row starts from the same state. */
async function freshFile(): Promise<string> {
  return upload(team, `fresh-${Math.random().toString(36).slice(2)}.docx`, fixture('sample.docx'));
}

beforeAll(async () => {
  t = createTestApp({ DOCUMENT_SERVER_URL: 'https://docs.example', JWT_SECRET: 'sharing-test-secret' });
  const names: Record<Who, string> = {
    owner: 'alice',
    admin: 'ada',
    editor: 'eddie',
    reviewer: 'rita',
    commenter: 'carl',
    filler: 'fay',
    viewer: 'vic',
    viewerNoDownload: 'nina',
    stranger: 'sam',
  };
  for (const who of people) as[who] = await t.signedInUser(names[who], who === 'admin' ? 'admin' : 'user');
  team = (await call('owner', 'post', '/api/folders').send({ name: 'Team' })).body.folder.id;
  sub = (await call('owner', 'post', '/api/folders').send({ name: 'Sub', parentId: team })).body.folder.id;
  docx = await upload(team, 'Plan.docx', fixture('sample.docx'));
  files.docx = docx;
  files.xlsx = await upload(team, 'Budget.xlsx', fixture('sample.xlsx'));
  files.pptx = await upload(team, 'Deck.pptx', fixture('sample.pptx'));
  files.pdf = await upload(team, 'Form.pdf', fixture('sample.pdf'));
  for (const [who, share] of Object.entries(shareOf)) {
    const response = await call('owner', 'post', `/api/folders/${team}/shares`).send({ username: as[who as Who].user.username, ...share });
    expect(response.status).toBe(201);
  }
});
afterAll(() => t.close());

// Who may do what: everyone with a share reads; editors, owners and admins write; owners and admins
// manage sharing; "no download" forbids downloads. Whoever may not see a thing gets 404, not 403.
const readers: Who[] = people.filter((who) => who !== 'stranger');
const writers: Who[] = ['owner', 'admin', 'editor'];
const managers: Who[] = ['owner', 'admin'];
const expectRead = (ok: number) => (who: Who) => (readers.includes(who) ? ok : 404);
const expectWrite = (ok: number) => (who: Who) => (writers.includes(who) ? ok : readers.includes(who) ? 403 : 404);
const expectManage = (ok: number) => (who: Who) => (managers.includes(who) ? ok : readers.includes(who) ? 403 : 404);
const expectDownload = (who: Who) => (!readers.includes(who) ? 404 : who === 'viewerNoDownload' ? 403 : 200);

const actions: Array<{ name: string; expected: (who: Who) => number; run: (who: Who) => Promise<Response> }> = [
  { name: 'list the shared folder', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files?folderId=${team}`) },
  { name: 'list a folder inside it', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files?folderId=${sub}`) },
  { name: 'folder page', expected: expectRead(200), run: (who) => call(who, 'get', `/folders/${team}`) },
  { name: 'file metadata', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}`) },
  { name: 'file page', expected: expectRead(200), run: (who) => call(who, 'get', `/files/${docx}`) },
  { name: 'download', expected: expectDownload, run: (who) => call(who, 'get', `/api/files/${docx}/content`) },
  { name: 'list versions', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}/versions`) },
  { name: 'download a version', expected: expectDownload, run: (who) => call(who, 'get', `/api/files/${docx}/versions/1/content`) },
  { name: 'editor page', expected: expectRead(200), run: (who) => call(who, 'get', `/editor/${docx}`) },
  { name: 'editor config', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}/editor-config`) },
  { name: 'version history for the editor', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}/history`) },
  { name: 'who is editing', expected: () => 200, run: (who) => call(who, 'get', `/api/editing?ids=${docx}`) },
  { name: 'see the shares', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}/shares`) },
  { name: 'people for mentions', expected: expectRead(200), run: (who) => call(who, 'get', `/api/files/${docx}/people`) },
  {
    name: 'upload into the folder',
    expected: expectWrite(201),
    run: (who) => call(who, 'post', '/api/files').field('folderId', team).attach('file', Buffer.from('hello'), `${who}.txt`),
  },
  { name: 'create a blank document there', expected: expectWrite(201), run: (who) => call(who, 'post', '/api/files/new').send({ name: `new-${who}`, type: 'docx', folderId: team }) },
  { name: 'create a folder there', expected: expectWrite(201), run: (who) => call(who, 'post', '/api/folders').send({ name: `folder-${who}`, parentId: team }) },
  {
    name: 'replace the content',
    expected: expectWrite(200),
    run: async (who) => call(who, 'put', `/api/files/${await freshFile()}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('new')),
  },
  {
    name: 'restore a version',
    expected: expectWrite(201),
    run: async (who) => {
      const id = await freshFile();
      await call('owner', 'put', `/api/files/${id}/content`).set('Content-Type', 'application/octet-stream').send(Buffer.from('v2'));
      return call(who, 'post', `/api/files/${id}/versions/1/restore`);
    },
  },
  { name: 'rename', expected: expectWrite(200), run: async (who) => call(who, 'patch', `/api/files/${await freshFile()}`).send({ name: `renamed-${who}.docx` }) },
  { name: 'move within the shared folder', expected: expectWrite(200), run: async (who) => call(who, 'patch', `/api/files/${await freshFile()}`).send({ folderId: sub }) },
  { name: 'delete', expected: expectWrite(204), run: async (who) => call(who, 'delete', `/api/files/${await freshFile()}`) },
  { name: 'force save', expected: expectWrite(409), run: (who) => call(who, 'post', `/api/files/${docx}/forcesave`) },
  {
    name: 'share the file',
    expected: expectManage(201),
    run: async (who) => call(who, 'post', `/api/files/${await freshFile()}/shares`).send({ username: 'ada', role: 'viewer' }),
  },
  { name: 'list the links', expected: expectManage(200), run: (who) => call(who, 'get', `/api/files/${docx}/links`) },
  { name: 'make a public link', expected: expectManage(201), run: (who) => call(who, 'post', `/api/files/${docx}/links`).send({ role: 'viewer' }) },
];

describe('every role × every action', () => {
  for (const action of actions) {
    it(action.name, async () => {
      const outcome: Partial<Record<Who, number>> = {};
      const expected: Partial<Record<Who, number>> = {};
      for (const who of people) {
        outcome[who] = (await action.run(who)).status;
        expected[who] = action.expected(who);
      }
      expect(outcome).toEqual(expected);
    });
  }

  it('removing a share made on a folder is for owners and admins, and only on that folder', async () => {
    const { shares } = (await call('owner', 'get', `/api/files/${docx}/shares`)).body;
    const inherited = shares.find((share: { user: { username: string } }) => share.user.username === 'vic');
    expect(inherited.inheritedFrom).toEqual({ id: team, name: 'Team' });
    // Not a share of the file itself: it is removed on the folder.
    expect((await call('owner', 'delete', `/api/files/${docx}/shares/${inherited.id}`)).status).toBe(404);
    expect((await call('editor', 'delete', `/api/folders/${team}/shares/${inherited.id}`)).status).toBe(403);
    expect((await call('stranger', 'delete', `/api/folders/${team}/shares/${inherited.id}`)).status).toBe(404);
    expect((await call('viewer', 'get', `/api/files/${docx}`)).status).toBe(200);
  });

  it('an editor cannot move or delete the shared folder itself, or move things out of it', async () => {
    expect((await call('editor', 'delete', `/api/folders/${team}`)).status).toBe(403);
    const own = (await call('editor', 'get', '/api/folders/home')).body.folder.id;
    const moved = await call('editor', 'patch', `/api/folders/${sub}`).send({ folderId: own });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toMatch(/belong to different people/);
    expect((await call('owner', 'get', `/api/folders/${sub}`)).body.folder.parentId).toBe(team);
  });

  it('converting needs write access and download-as needs download rights, checked before the Document Server is asked', async () => {
    const convert = (who: Who, asNewVersion: boolean) => call(who, 'post', `/api/files/${docx}/convert`).send({ to: 'docx', asNewVersion });
    expect((await convert('viewer', true)).status).toBe(403);
    expect((await convert('commenter', false)).status).toBe(403);
    expect((await convert('stranger', false)).status).toBe(404);
    expect((await call('viewerNoDownload', 'get', `/api/files/${docx}/download-as?format=pdf`)).status).toBe(403);
    expect((await call('stranger', 'get', `/api/files/${docx}/download-as?format=pdf`)).status).toBe(404);
    expect((await call('viewer', 'delete', `/api/files/${docx}/conversion-notices`)).status).toBe(403);
    expect((await call('viewer', 'get', `/api/files/${docx}/conversion-notices`)).status).toBe(200);
  });

  it('files an editor adds belong to the folder owner, with the editor as the author', async () => {
    const response = await call('editor', 'post', '/api/files').field('folderId', team).attach('file', Buffer.from('by eddie'), 'eddie-notes.txt');
    expect(response.body.file.ownerId).toBe(as.owner.user.id);
    const [version] = (await call('owner', 'get', `/api/files/${response.body.file.id}/versions`)).body.versions;
    expect(version.author.id).toBe(as.editor.user.id);
  });
});

/** [mode, edit, review, comment, fillForms, modifyFilter, protect] for each role and document type. */
const editorTable: Record<string, Record<'docx' | 'xlsx' | 'pptx' | 'pdf', [string, ...number[]]>> = {
  owner: { docx: ['edit', 1, 1, 1, 0, 0, 1], xlsx: ['edit', 1, 0, 1, 0, 1, 1], pptx: ['edit', 1, 0, 1, 0, 0, 1], pdf: ['edit', 1, 0, 1, 1, 0, 1] },
  admin: { docx: ['edit', 1, 1, 1, 0, 0, 1], xlsx: ['edit', 1, 0, 1, 0, 1, 1], pptx: ['edit', 1, 0, 1, 0, 0, 1], pdf: ['edit', 1, 0, 1, 1, 0, 1] },
  editor: { docx: ['edit', 1, 1, 1, 0, 0, 1], xlsx: ['edit', 1, 0, 1, 0, 1, 1], pptx: ['edit', 1, 0, 1, 0, 0, 1], pdf: ['edit', 1, 0, 1, 1, 0, 1] },
  reviewer: { docx: ['edit', 0, 1, 1, 0, 0, 0], xlsx: ['edit', 0, 0, 1, 0, 0, 0], pptx: ['edit', 0, 0, 1, 0, 0, 0], pdf: ['edit', 0, 0, 1, 0, 0, 0] },
  commenter: { docx: ['edit', 0, 0, 1, 0, 0, 0], xlsx: ['edit', 0, 0, 1, 0, 0, 0], pptx: ['edit', 0, 0, 1, 0, 0, 0], pdf: ['edit', 0, 0, 1, 0, 0, 0] },
  filler: { docx: ['view', 0, 0, 0, 0, 0, 0], xlsx: ['view', 0, 0, 0, 0, 0, 0], pptx: ['view', 0, 0, 0, 0, 0, 0], pdf: ['edit', 0, 0, 0, 1, 0, 0] },
  viewer: { docx: ['view', 0, 0, 0, 0, 0, 0], xlsx: ['view', 0, 0, 0, 0, 0, 0], pptx: ['view', 0, 0, 0, 0, 0, 0], pdf: ['view', 0, 0, 0, 0, 0, 0] },
  viewerNoDownload: { docx: ['view', 0, 0, 0, 0, 0, 0], xlsx: ['view', 0, 0, 0, 0, 0, 0], pptx: ['view', 0, 0, 0, 0, 0, 0], pdf: ['view', 0, 0, 0, 0, 0, 0] },
};

describe('the editor configuration for each role and document type', () => {
  for (const [who, byType] of Object.entries(editorTable)) {
    it(`${who}`, async () => {
      for (const [type, [mode, ...flags]] of Object.entries(byType)) {
        const { config } = (await call(who as Who, 'get', `/api/files/${files[type as keyof typeof files]}/editor-config`)).body;
        const [edit, review, comment, fillForms, modifyFilter, protect] = flags.map(Boolean);
        const noDownload = who === 'viewerNoDownload';
        const context = `${who} on ${type}`;
        expect(config.editorConfig.mode, context).toBe(mode);
        expect(config.document.permissions, context).toEqual({
          edit,
          review,
          comment,
          fillForms,
          modifyFilter,
          protect,
          download: !noDownload,
          print: !noDownload,
          copy: !noDownload,
          chat: mode === 'edit',
        });
        // Only people who join the editing session get a callback URL; viewers never do.
        expect(config.editorConfig.callbackUrl !== undefined, context).toBe(mode === 'edit');
        expect(config.editorConfig.user.id).toBe(as[who as Who].user.id);
      }
    });
  }

  it('a viewer asking for edit mode still gets the viewer', async () => {
    const { config } = (await call('viewer', 'get', `/api/files/${docx}/editor-config?mode=edit`)).body;
    expect(config.editorConfig.mode).toBe('view');
    expect(config.editorConfig.callbackUrl).toBeUndefined();
  });

  it('lists the owner and the shares in the editor information panel', async () => {
    const { config } = (await call('viewer', 'get', `/api/files/${docx}/editor-config`)).body;
    expect(config.document.info.owner).toBe('Alice');
    expect(config.document.info.sharingSettings).toContainEqual({ user: 'Alice', permissions: 'Owner' });
    expect(config.document.info.sharingSettings).toContainEqual({ user: 'Rita', permissions: 'Reviewer' });
  });

  it('the file browser offers each role the matching button', async () => {
    const labels: Partial<Record<Who, string>> = {
      editor: 'Edit in ONLYOFFICE',
      reviewer: 'Review in ONLYOFFICE',
      commenter: 'Comment in ONLYOFFICE',
      filler: 'Open in ONLYOFFICE',
      viewer: 'Open in ONLYOFFICE',
    };
    for (const [who, label] of Object.entries(labels)) {
      const page = await call(who as Who, 'get', `/files/${docx}`);
      expect(page.text, who).toContain(`<span>${label}</span>`);
    }
    const pdfPage = await call('filler', 'get', `/files/${files.pdf}`);
    expect(pdfPage.text).toContain('<span>Fill in in ONLYOFFICE</span>');
  });
});

describe('shared with me, search and breadcrumbs', () => {
  it('lists what others shared, with its owner and role', async () => {
    const { items } = (await call('reviewer', 'get', '/api/shared-with-me')).body;
    expect(items).toEqual([expect.objectContaining({ id: team, name: 'Team', type: 'folder', ownerName: 'Alice', role: 'reviewer', noDownload: false })]);
    expect((await call('stranger', 'get', '/api/shared-with-me')).body.items).toEqual([]);
    const page = await call('reviewer', 'get', '/shared');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Team');
    expect(page.text).toContain('Reviewer');
  });

  it('search finds shared files for people with access and for nobody else', async () => {
    const names = async (who: Who) => ((await call(who, 'get', '/api/files?q=Budget')).body.items as Array<{ name: string }>).map((item) => item.name);
    expect(await names('viewer')).toEqual(['Budget.xlsx']);
    expect(await names('stranger')).toEqual([]);
  });

  it('a shared folder’s trail starts at "Shared with me", never at the owner’s home', async () => {
    const { path } = (await call('viewer', 'get', `/api/files?folderId=${sub}`)).body;
    expect(path.map((entry: { name: string }) => entry.name)).toEqual(['Team', 'Sub']);
    const page = await call('viewer', 'get', `/folders/${sub}`);
    expect(page.text).toContain('Shared with me');
    expect(page.text).not.toContain(`/folders/${(await call('owner', 'get', '/api/folders/home')).body.folder.id}"`);
  });
});

describe('sharing input', () => {
  const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
    ['an unknown user', () => call('owner', 'post', `/api/files/${docx}/shares`).send({ username: 'nobody', role: 'viewer' }), 400, /no user named "nobody"/],
    ['the owner', () => call('owner', 'post', `/api/files/${docx}/shares`).send({ username: 'alice', role: 'viewer' }), 400, /owns "Plan.docx" already/],
    ['an unknown role', () => call('owner', 'post', `/api/files/${docx}/shares`).send({ username: 'sam', role: 'boss' }), 400, /role must be one of/],
    ['a missing username', () => call('owner', 'post', `/api/files/${docx}/shares`).send({ role: 'viewer' }), 400, /username/],
    ['an extra field', () => call('owner', 'post', `/api/files/${docx}/shares`).send({ username: 'sam', role: 'viewer', admin: true }), 400, /admin/],
    ['the home folder', async () => call('owner', 'post', `/api/folders/${(await call('owner', 'get', '/api/folders/home')).body.folder.id}/shares`).send({ username: 'sam', role: 'viewer' }), 400, /home folder cannot be shared/],
    ['a link that expired already', () => call('owner', 'post', `/api/files/${docx}/links`).send({ role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }), 400, /expiresAt must be in the future/],
    ['a link date that is not a date', () => call('owner', 'post', `/api/files/${docx}/links`).send({ role: 'viewer', expiresAt: 'tomorrow' }), 400, /expiresAt/],
    ['a too-short link password', () => call('owner', 'post', `/api/files/${docx}/links`).send({ role: 'viewer', password: 'abc' }), 400, /password: at least 4/],
    ['a mention without people', () => call('owner', 'post', `/api/files/${docx}/mentions`).send({ emails: [], message: 'hi' }), 400, /mention someone/],
  ];
  for (const [name, run, status, message] of cases) {
    it(`refuses ${name}, naming the problem, and changes nothing`, async () => {
      const before = t.db.prepare('SELECT (SELECT count(*) FROM shares) + (SELECT count(*) FROM share_links) + (SELECT count(*) FROM notifications)').pluck().get();
      const response = await run();
      expect(response.status).toBe(status);
      expect(response.body.error.message).toMatch(message);
      expect(t.db.prepare('SELECT (SELECT count(*) FROM shares) + (SELECT count(*) FROM share_links) + (SELECT count(*) FROM notifications)').pluck().get()).toBe(before);
    });
  }

  it('sharing again changes the role instead of adding a second share', async () => {
    const id = await freshFile();
    expect((await call('owner', 'post', `/api/files/${id}/shares`).send({ username: 'sam', role: 'viewer' })).status).toBe(201);
    const again = await call('owner', 'post', `/api/files/${id}/shares`).send({ username: 'sam', role: 'editor' });
    expect(again.status).toBe(200);
    expect(again.body.share.role).toBe('editor');
    const own = (await call('owner', 'get', `/api/files/${id}/shares`)).body.shares.filter((share: { inheritedFrom: unknown }) => share.inheritedFrom === null);
    expect(own).toHaveLength(1);
    expect((await call('stranger', 'patch', `/api/files/${id}`).send({ name: 'sam-renamed.docx' })).status).toBe(200);
  });
});

describe('mentions and notifications', () => {
  it('offers the people with access, and notifies only those of the mentioned who can open the file', async () => {
    const { people: list } = (await call('commenter', 'get', `/api/files/${docx}/people`)).body;
    const usernames = list.map((person: { username: string }) => person.username);
    expect(usernames).toEqual(expect.arrayContaining(['alice', 'carl', 'vic', 'eddie']));
    expect(usernames).not.toContain('sam');
    expect(usernames).not.toContain('ada');

    const before = (await call('owner', 'get', '/api/notifications')).body.unread;
    const response = await call('commenter', 'post', `/api/files/${docx}/mentions`).send({
      emails: ['alice', 'sam', 'ghost'],
      message: '+alice please check the totals',
      actionLink: { action: { type: 'comment', data: 'c1' } },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ notified: ['alice'], skipped: ['sam', 'ghost'] });

    const inbox = (await call('owner', 'get', '/api/notifications')).body;
    expect(inbox.unread).toBe(before + 1);
    expect(inbox.notifications[0]).toMatchObject({
      kind: 'mention',
      message: '+alice please check the totals',
      from: { id: as.commenter.user.id, name: 'Carl' },
      file: { id: docx, name: 'Plan.docx' },
      read: false,
    });
    // The notification leads back into the editor at the comment.
    const link = inbox.notifications[0].link as string;
    expect(link.startsWith(`/editor/${docx}?action=`)).toBe(true);
    const { config } = (await call('owner', 'get', `/api/files/${docx}/editor-config?${link.split('?')[1]}`)).body;
    expect(config.editorConfig.actionLink).toEqual({ action: { type: 'comment', data: 'c1' } });
    const strangers = (await call('stranger', 'get', '/api/notifications')).body.notifications;
    expect(strangers.filter((entry: { kind: string }) => entry.kind === 'mention')).toEqual([]);

    const page = await call('owner', 'get', '/notifications');
    expect(page.text).toContain('please check the totals');
    expect(page.text).toMatch(/Notifications, \d+ unread/);
    expect((await call('owner', 'post', '/api/notifications/read')).body.marked).toBeGreaterThan(0);
    expect((await call('owner', 'get', '/api/notifications')).body.unread).toBe(0);
  });

  it('only people who may comment can mention others', async () => {
    const response = await call('viewer', 'post', `/api/files/${docx}/mentions`).send({ emails: ['alice'], message: 'hello' });
    expect(response.status).toBe(403);
    expect(response.body.error.message).toMatch(/only people who may comment can mention/);
  });

  it('a notification stops naming a file its reader can no longer open', async () => {
    const id = await upload(team, 'Private plan.docx', fixture('sample.docx'));
    const share = (await call('owner', 'post', `/api/files/${id}/shares`).send({ username: 'sam', role: 'viewer' })).body.share;
    const named = (await call('stranger', 'get', '/api/notifications')).body.notifications.find((entry: { file: { id: string } | null }) => entry.file?.id === id);
    expect(named).toMatchObject({ file: { name: 'Private plan.docx' }, link: `/files/${id}` });
    await call('owner', 'delete', `/api/files/${id}/shares/${share.id}`);
    await call('owner', 'patch', `/api/files/${id}`).send({ name: 'Layoffs 2027.docx' });
    const { notifications } = (await call('stranger', 'get', '/api/notifications')).body;
    expect(JSON.stringify(notifications)).not.toContain('Layoffs');
    expect(notifications.find((entry: { message: string }) => entry.message.includes('Private plan.docx'))).toMatchObject({ file: null, link: null });
  });

  it('a share list names a folder above only to those who may see it', async () => {
    const secretFolder = (await call('owner', 'post', '/api/folders').send({ name: 'Secret Acquisition Plans' })).body.folder.id;
    const id = await upload(secretFolder, 'Memo.docx', fixture('sample.docx'));
    await call('owner', 'post', `/api/folders/${secretFolder}/shares`).send({ username: 'carl', role: 'viewer' });
    await call('owner', 'post', `/api/files/${id}/shares`).send({ username: 'sam', role: 'viewer' });
    const seenBySam = (await call('stranger', 'get', `/api/files/${id}/shares`)).body.shares;
    expect(JSON.stringify(seenBySam)).not.toContain('Secret Acquisition');
    expect(seenBySam.find((share: { user: { username: string } }) => share.user.username === 'carl').inheritedFrom).toEqual({ id: null, name: null });
    const seenByCarl = (await call('commenter', 'get', `/api/files/${id}/shares`)).body.shares;
    expect(seenByCarl.find((share: { user: { username: string } }) => share.user.username === 'carl').inheritedFrom).toEqual({ id: secretFolder, name: 'Secret Acquisition Plans' });
    const page = await call('stranger', 'get', `/files/${id}`);
    expect(page.text).not.toContain('Secret Acquisition');
    expect(page.text).toContain('via a folder above');
  });

  it('a new share notifies the person it is shared with', async () => {
    const { notifications } = (await call('viewer', 'get', '/api/notifications')).body;
    expect(notifications.some((entry: { kind: string; message: string }) => entry.kind === 'share' && entry.message === 'Alice shared "Team" with you as viewer.')).toBe(true);
  });
});

describe('public links', () => {
  /** Makes a link as Alice and returns its path (/s/<token>) and id. */
  async function makeLink(body: Record<string, unknown>, fileId = docx): Promise<{ path: string; id: string }> {
    const response = await call('owner', 'post', `/api/files/${fileId}/links`).send(body);
    expect(response.status).toBe(201);
    expect(response.body.link.url).toMatch(/^http:\/\/localhost:\d+\/s\/[\w-]{43}$/);
    return { path: new URL(response.body.link.url).pathname, id: response.body.link.id };
  }

  /** The editor configuration an editor page embeds. */
  function embeddedConfig(html: string) {
    const json = /<script type="application\/json" id="editor-config">([\s\S]*?)<\/script>/.exec(html)![1]!;
    return JSON.parse(json);
  }

  it('a view link opens the viewer as a guest and downloads, with no account', async () => {
    const link = await makeLink({ role: 'viewer' });
    const landing = await t.request.get(link.path);
    expect(landing.status).toBe(200);
    expect(landing.text).toContain('Plan.docx');
    const editor = await t.request.get(`${link.path}/editor?name=Zoe`);
    expect(editor.status).toBe(200);
    const config = embeddedConfig(editor.text);
    expect(config.editorConfig.mode).toBe('view');
    expect(config.editorConfig.callbackUrl).toBeUndefined();
    expect(config.editorConfig.user.name).toBe('Zoe (guest)');
    expect(config.editorConfig.user.id).toMatch(new RegExp(`^g-${link.id}-[\\w-]{16}$`));
    expect(config.document.permissions.edit).toBe(false);
    const download = await t.request.get(`${link.path}/download`).buffer(true).parse(binary);
    expect(download.status).toBe(200);
    expect(Buffer.compare(download.body as Buffer, fixture('sample.docx'))).toBe(0);
  });

  it('an edit link opens the editor with a callback, and keeps the guest’s identity between visits', async () => {
    const link = await makeLink({ role: 'editor', noDownload: true });
    const first = await t.request.get(`${link.path}/editor?name=Zoe`);
    const config = embeddedConfig(first.text);
    expect(config.editorConfig.mode).toBe('edit');
    expect(config.editorConfig.callbackUrl).toMatch(/\/track\?ref=/);
    expect(config.document.permissions).toMatchObject({ edit: true, download: false, print: false, copy: false });
    const cookies = ([] as string[]).concat(first.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]).join('; ');
    const again = embeddedConfig((await t.request.get(`${link.path}/editor`).set('Cookie', cookies)).text);
    expect(again.editorConfig.user).toEqual(config.editorConfig.user);
    expect((await t.request.get(`${link.path}/download`)).status).toBe(403);
  });

  it('a password link asks for the password, refuses a wrong one, and opens with the right one', async () => {
    const link = await makeLink({ role: 'viewer', password: 'open sesame' });
    const landing = await t.request.get(link.path);
    expect(landing.text).toContain('This link is protected');
    // Without the password nothing else of the link works.
    expect((await t.request.get(`${link.path}/editor`)).status).toBe(303);
    expect((await t.request.get(`${link.path}/download`)).status).toBe(303);

    const csrfCookie = ([] as string[]).concat(landing.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(landing.text)![1]!;
    const wrong = await t.request.post(link.path).set('Cookie', csrfCookie).type('form').send({ _csrf: csrf, password: 'guess' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong password.');
    const right = await t.request.post(link.path).set('Cookie', csrfCookie).type('form').send({ _csrf: csrf, password: 'open sesame' });
    expect(right.status).toBe(303);
    const pass = ([] as string[]).concat(right.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]).join('; ');
    expect((await t.request.get(`${link.path}/editor`).set('Cookie', pass)).status).toBe(200);
    // The pass is worth nothing for another link with a password.
    const other = await makeLink({ role: 'viewer', password: 'open sesame' });
    expect((await t.request.get(`${other.path}/editor`).set('Cookie', pass)).status).toBe(303);
  });

  it('an expired link answers 410 and says so; a revoked or unknown one answers 404', async () => {
    let now = Date.parse('2026-11-25T12:00:00Z');
    const clockApp = createTestApp({ DOCUMENT_SERVER_URL: 'https://docs.example', JWT_SECRET: 'x-secret-x' }, { clock: { now: () => now } });
    try {
      const owner = await clockApp.signedInUser('olga');
      const id = (await clockApp.request.post('/api/files').set('Cookie', owner.cookie).set('X-CSRF-Token', owner.csrfToken).attach('file', fixture('sample.docx'), 'Plan.docx')).body.file.id;
      const made = await clockApp.request.post(`/api/files/${id}/links`).set('Cookie', owner.cookie).set('X-CSRF-Token', owner.csrfToken).send({ role: 'viewer', expiresAt: '2026-11-26T12:00:00Z' });
      const path = new URL(made.body.link.url).pathname;
      expect((await clockApp.request.get(path)).status).toBe(200);
      now = Date.parse('2026-11-27T00:00:00Z');
      const expired = await clockApp.request.get(path);
      expect(expired.status).toBe(410);
      expect(expired.text).toContain('This link expired on 2026-11-26 12:00 UTC');
      expect((await clockApp.request.get(`${path}/editor`)).status).toBe(410);
      const listed = (await clockApp.request.get(`/api/files/${id}/links`).set('Cookie', owner.cookie)).body.links;
      expect(listed[0]).toMatchObject({ expired: true });
    } finally {
      clockApp.close();
    }

    const link = await makeLink({ role: 'viewer' });
    expect((await call('owner', 'delete', `/api/files/${docx}/links/${link.id}`)).status).toBe(204);
    expect((await t.request.get(link.path)).status).toBe(404);
    expect((await t.request.get(`${link.path}/download`)).status).toBe(404);
    expect((await call('owner', 'delete', `/api/files/${docx}/links/${link.id}`)).status).toBe(404);
    expect((await t.request.get('/s/not-a-real-token')).status).toBe(404);
  });

  it('counts every password guess, even sent at once, and stops after ten', async () => {
    const link = await makeLink({ role: 'viewer', password: 'the right one' });
    const landing = await t.request.get(link.path);
    const csrfCookie = ([] as string[]).concat(landing.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(landing.text)![1]!;
    const guess = (password: string) => t.request.post(link.path).set('Cookie', csrfCookie).type('form').send({ _csrf: csrf, password });
    const answers = await Promise.all(Array.from({ length: 15 }, (_, index) => guess(`guess ${index}`)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    // Blocked means blocked, even for the right password.
    const right = await guess('the right one');
    expect(right.status).toBe(429);
    expect(right.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('a forged guest cookie is ignored: the guest gets an id of their own', async () => {
    const link = await makeLink({ role: 'viewer' });
    const page = await t.request.get(`${link.path}/editor`).set('Cookie', 'dms_guest=AAAAAAAAAAAAAAAA');
    const config = embeddedConfig(page.text);
    expect(config.editorConfig.user.id).toMatch(new RegExp(`^g-${link.id}-[\\w-]{16}$`));
    expect(config.editorConfig.user.id.endsWith('AAAAAAAAAAAAAAAA')).toBe(false);
  });

  it('a signed-in stranger opening a link is a guest too, and gains no access to the file itself', async () => {
    const link = await makeLink({ role: 'viewer' });
    expect((await call('stranger', 'get', link.path)).status).toBe(200);
    expect((await call('stranger', 'get', `/api/files/${docx}`)).status).toBe(404);
  });
});
