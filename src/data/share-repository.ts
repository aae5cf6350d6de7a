import type { Database } from './database.js';

/** What a share lets its user do, weakest first (see `src/domain/access.ts`). */
export const shareRoles = ['viewer', 'form_filler', 'commenter', 'reviewer', 'editor'] as const;
export type ShareRole = (typeof shareRoles)[number];

/** A file or folder shared with one user. */
export interface ShareRecord {
  id: string;
  nodeId: string;
  userId: string;
  role: ShareRole;
  noDownload: boolean;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A share with the names a share list shows. */
export interface ListedShare extends ShareRecord {
  username: string;
  displayName: string;
  nodeName: string;
}

/** A public link to a file; its token is kept only as a hash. */
export interface ShareLinkRecord {
  id: string;
  nodeId: string;
  tokenHash: string;
  role: ShareRole;
  noDownload: boolean;
  passwordHash: string | null;
  expiresAt: number | null;
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
}

interface ShareRow {
  id: string;
  node_id: string;
  user_id: string;
  role: ShareRole;
  no_download: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  username?: string;
  display_name?: string;
  node_name?: string;
}

interface LinkRow {
  id: string;
  node_id: string;
  token_hash: string;
  role: ShareRole;
  no_download: number;
  password_hash: string | null;
  expires_at: number | null;
  created_by: string | null;
  created_at: number;
  revoked_at: number | null;
}

function toShare(row: ShareRow): ShareRecord {
  return {
    id: row.id,
    nodeId: row.node_id,
    userId: row.user_id,
    role: row.role,
    noDownload: row.no_download === 1,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toListedShare(row: ShareRow): ListedShare {
  return { ...toShare(row), username: row.username ?? '', displayName: row.display_name ?? '', nodeName: row.node_name ?? '' };
}

function toLink(row: LinkRow): ShareLinkRecord {
  return {
    id: row.id,
    nodeId: row.node_id,
    tokenHash: row.token_hash,
    role: row.role,
    noDownload: row.no_download === 1,
    passwordHash: row.password_hash,
    expiresAt: row.expires_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** The node and its ancestors, as a recursive CTE named `chain` over the parameter `@nodeId`. */
const chainCte = `WITH RECURSIVE chain(id, depth) AS (
    SELECT @nodeId, 0
    UNION ALL
    SELECT n.parent_id, chain.depth + 1 FROM nodes n JOIN chain ON n.id = chain.id WHERE n.parent_id IS NOT NULL)`;

const listedColumns = `s.*, u.username, u.display_name, n.name AS node_name
  FROM shares s JOIN users u ON u.id = s.user_id JOIN nodes n ON n.id = s.node_id`;

/** Prepared statements over shares and public links. */
export function createShareRepository(db: Database) {
  const upsert = db.prepare(`INSERT INTO shares (id, node_id, user_id, role, no_download, created_by, created_at, updated_at)
    VALUES (@id, @nodeId, @userId, @role, @noDownload, @createdBy, @now, @now)
    ON CONFLICT (node_id, user_id) DO UPDATE SET role = excluded.role, no_download = excluded.no_download, updated_at = excluded.updated_at`);
  const byNodeAndUser = db.prepare('SELECT * FROM shares WHERE node_id = ? AND user_id = ?');
  const byId = db.prepare('SELECT * FROM shares WHERE id = ?');
  const remove = db.prepare('DELETE FROM shares WHERE id = ?');
  const forUserOnChain = db.prepare(`${chainCte}
    SELECT s.* FROM shares s JOIN chain ON s.node_id = chain.id WHERE s.user_id = @userId`);
  const onChain = db.prepare(`${chainCte}
    SELECT ${listedColumns} JOIN chain ON s.node_id = chain.id ORDER BY chain.depth DESC, u.display_name`);
  const sharedWith = db.prepare(`SELECT ${listedColumns}
    WHERE s.user_id = ? AND n.owner_id <> s.user_id ORDER BY s.created_at DESC, s.id`);
  const insertLink = db.prepare(`INSERT INTO share_links
    (id, node_id, token_hash, role, no_download, password_hash, expires_at, created_by, created_at)
    VALUES (@id, @nodeId, @tokenHash, @role, @noDownload, @passwordHash, @expiresAt, @createdBy, @now)`);
  const linkByHash = db.prepare('SELECT * FROM share_links WHERE token_hash = ?');
  const linkById = db.prepare('SELECT * FROM share_links WHERE id = ?');
  const linksOfNode = db.prepare('SELECT * FROM share_links WHERE node_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id');
  const revokeLink = db.prepare('UPDATE share_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');

  return {
    /** Creates the share, or changes the role of the one this user already has on this node. */
    upsert(share: { id: string; nodeId: string; userId: string; role: ShareRole; noDownload: boolean; createdBy: string; now: number }): ShareRecord {
      upsert.run({ ...share, noDownload: share.noDownload ? 1 : 0 });
      return toShare(byNodeAndUser.get(share.nodeId, share.userId) as ShareRow);
    },
    findById(id: string): ShareRecord | undefined {
      const row = byId.get(id) as ShareRow | undefined;
      return row && toShare(row);
    },
    delete(id: string): void {
      remove.run(id);
    },
    /** The shares that give this user access to the node: on it or on any folder above it. */
    listForUserOnPath(userId: string, nodeId: string): ShareRecord[] {
      return (forUserOnChain.all({ nodeId, userId }) as ShareRow[]).map(toShare);
    },
    /** Every share on the node or a folder above it, the highest folder first. */
    listOnPath(nodeId: string): ListedShare[] {
      return (onChain.all({ nodeId }) as ShareRow[]).map(toListedShare);
    },
    /** What other people shared with this user directly, newest first. */
    listSharedWith(userId: string): ListedShare[] {
      return (sharedWith.all(userId) as ShareRow[]).map(toListedShare);
    },
    insertLink(link: Omit<ShareLinkRecord, 'createdAt' | 'revokedAt'> & { now: number }): void {
      insertLink.run({ ...link, noDownload: link.noDownload ? 1 : 0 });
    },
    findLinkByTokenHash(tokenHash: string): ShareLinkRecord | undefined {
      const row = linkByHash.get(tokenHash) as LinkRow | undefined;
      return row && toLink(row);
    },
    findLinkById(id: string): ShareLinkRecord | undefined {
      const row = linkById.get(id) as LinkRow | undefined;
      return row && toLink(row);
    },
    /** The links of a node that have not been revoked (expired ones included, so they can be seen and revoked). */
    listLinks(nodeId: string): ShareLinkRecord[] {
      return (linksOfNode.all(nodeId) as LinkRow[]).map(toLink);
    },
    /** Revokes a link; false when it was already revoked. */
    revokeLink(id: string, now: number): boolean {
      return revokeLink.run(now, id).changes === 1;
    },
  };
}

export type ShareRepository = ReturnType<typeof createShareRepository>;
