import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SortKey, SortOrder } from '../src/data/node-repository.js';
import { newId } from '../src/ids.js';
import { createTestApp, type BrowserSession, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let alice: BrowserSession;
let homeId: string;
const folderCount = 12;
const fileCount = 131;

beforeAll(async () => {
  t = createTestApp();
  alice = await t.signedInUser('alice');
  homeId = t.app.services.files.getHome(alice.user).id;
  const { nodes } = t.app.services.repositories;
  t.db.transaction(() => {
    for (let i = 0; i < folderCount; i += 1) {
      nodes.insert({ id: newId(), kind: 'folder', parentId: homeId, ownerId: alice.user.id, name: `Folder ${i}`, now: 1_000 + (i % 5) });
    }
    for (let i = 0; i < fileCount; i += 1) {
      // Repeated sizes and times make the id tie-breaker matter.
      nodes.insert({ id: newId(), kind: 'file', parentId: homeId, ownerId: alice.user.id, name: `file-${(i * 37) % fileCount}.txt`, size: i % 7, now: 2_000 + (i % 11) });
    }
  })();
});
afterAll(() => t.close());

async function page(query: Record<string, string | undefined>) {
  const response = await t.request.get('/api/files').query(query).set('Cookie', alice.cookie);
  expect(response.status).toBe(200);
  return response.body as { items: Array<{ id: string; type: string }>; next: string | null; previous: string | null; total: number };
}

describe('keyset pagination', () => {
  it.each<[SortKey, SortOrder]>([
    ['name', 'asc'],
    ['name', 'desc'],
    ['size', 'asc'],
    ['size', 'desc'],
    ['modified', 'asc'],
    ['modified', 'desc'],
  ])('walks every item exactly once by %s %s, forwards and back, folders first', async (sort, order) => {
    const all = await page({ sort, order, limit: '200' });
    expect(all.items).toHaveLength(folderCount + fileCount);
    expect(all.total).toBe(folderCount + fileCount);
    expect(all.items.slice(0, folderCount).every((item) => item.type === 'folder')).toBe(true);

    const forward: string[][] = [];
    let cursor: string | null = null;
    do {
      const current = await page({ sort, order, limit: '20', ...(cursor ? { cursor } : {}) });
      forward.push(current.items.map((item) => item.id));
      cursor = current.next;
    } while (cursor);
    expect(forward.flat()).toEqual(all.items.map((item) => item.id));
    expect(forward).toHaveLength(Math.ceil((folderCount + fileCount) / 20));

    // From the last page, "previous" walks back through the same pages.
    const lastPage = await page({ sort, order, limit: '20', cursor: (await walkTo(sort, order, forward.length - 1))! });
    const backward: string[][] = [lastPage.items.map((item) => item.id)];
    cursor = lastPage.previous;
    while (cursor) {
      const current = await page({ sort, order, limit: '20', cursor });
      backward.unshift(current.items.map((item) => item.id));
      cursor = current.previous;
    }
    expect(backward).toEqual(forward);
  });

  it('search results page the same way', async () => {
    const first = await page({ q: 'file-1', limit: '10' });
    const second = await page({ q: 'file-1', limit: '10', cursor: first.next! });
    const all = await page({ q: 'file-1', limit: '200' });
    expect([...first.items, ...second.items].map((item) => item.id)).toEqual(all.items.slice(0, 20).map((item) => item.id));
  });
});

/** The cursor that opens page `index` (0-based) going forward. */
async function walkTo(sort: string, order: string, index: number): Promise<string | null> {
  let cursor: string | null = null;
  for (let i = 0; i < index; i += 1) cursor = (await page({ sort, order, limit: '20', ...(cursor ? { cursor } : {}) })).next;
  return cursor;
}

describe('child counts', () => {
  it('follow inserts, moves and deletes, including a deleted subtree', async () => {
    const api = (method: 'post' | 'patch' | 'delete', url: string) => t.request[method](url).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken);
    const total = async (folderId: string) => (await t.request.get(`/api/files?folderId=${folderId}`).set('Cookie', alice.cookie)).body.total as number;
    const a = (await api('post', '/api/folders').send({ name: 'count-a' })).body.folder.id as string;
    const b = (await api('post', '/api/folders').send({ name: 'count-b' })).body.folder.id as string;
    const inner = (await api('post', '/api/folders').send({ name: 'inner', parentId: a })).body.folder.id as string;
    const file = (await api('post', '/api/files').field('folderId', inner).attach('file', Buffer.from('x'), 'x.txt')).body.file.id as string;
    expect([await total(a), await total(inner), await total(b)]).toEqual([1, 1, 0]);
    await api('patch', `/api/files/${file}`).send({ folderId: b });
    expect([await total(inner), await total(b)]).toEqual([0, 1]);
    const homeBefore = await total(homeId);
    await api('delete', `/api/folders/${a}`);
    expect(await total(homeId)).toBe(homeBefore - 1);
    const counted = t.db.prepare('SELECT child_count FROM nodes WHERE id = ?').pluck().get(homeId);
    const actual = t.db.prepare('SELECT count(*) FROM nodes WHERE parent_id = ?').pluck().get(homeId);
    expect(counted).toBe(actual);
  });
});
