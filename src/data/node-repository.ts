import type { Database } from './database.js';

export type NodeKind = 'folder' | 'file';

/** A folder or a file in the tree. */
export interface NodeRecord {
  id: string;
  kind: NodeKind;
  parentId: string | null;
  ownerId: string;
  name: string;
  size: number;
  currentVersionId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A node as listed, with its owner's display name. */
export interface ListedNode extends NodeRecord {
  ownerName: string;
}

export type SortKey = 'name' | 'modified' | 'size';
export type SortOrder = 'asc' | 'desc';

/** Where a keyset page starts: the last (or, going back, the first) row seen. */
export interface PageCursor {
  rank: 0 | 1;
  value: string | number;
  id: string;
  back: boolean;
}

export type ListScope =
  | { parentId: string }
  /** A name search over what a user owns and what was shared with them (with everything inside). */
  | { visibleTo: string; nameContains: string };

export interface PageQuery {
  sort: SortKey;
  order: SortOrder;
  limit: number;
  cursor?: PageCursor;
}

export interface Page {
  items: ListedNode[];
  next?: PageCursor;
  previous?: PageCursor;
}

interface NodeRow {
  id: string;
  kind_rank: 0 | 1;
  parent_id: string | null;
  owner_id: string;
  name: string;
  size: number;
  current_version_id: string | null;
  created_at: number;
  updated_at: number;
  owner_name?: string;
}

const sortColumns: Record<SortKey, 'name' | 'updated_at' | 'size'> = {
  name: 'name',
  modified: 'updated_at',
  size: 'size',
};

function toNode(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    kind: row.kind_rank === 0 ? 'folder' : 'file',
    parentId: row.parent_id,
    ownerId: row.owner_id,
    name: row.name,
    size: row.size,
    currentVersionId: row.current_version_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Prepared statements over the nodes table, including keyset-paginated listings. */
export function createNodeRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO nodes
    (id, kind_rank, parent_id, owner_id, name, size, current_version_id, created_at, updated_at)
    VALUES (@id, @kindRank, @parentId, @ownerId, @name, @size, @currentVersionId, @now, @now)`);
  const byId = db.prepare('SELECT * FROM nodes WHERE id = ?');
  const home = db.prepare('SELECT * FROM nodes WHERE owner_id = ? AND parent_id IS NULL');
  const nameTaken = db.prepare('SELECT 1 FROM nodes WHERE parent_id = ? AND name = ?').pluck();
  const childCount = db.prepare('SELECT child_count FROM nodes WHERE id = ?').pluck();
  const rename = db.prepare('UPDATE nodes SET name = ?, updated_at = ? WHERE id = ?');
  const reparent = db.prepare('UPDATE nodes SET parent_id = ?, updated_at = ? WHERE id = ?');
  const setContent = db.prepare(
    'UPDATE nodes SET current_version_id = ?, size = ?, updated_at = ? WHERE id = ?',
  );
  const ancestors = db.prepare(`WITH RECURSIVE chain(id, depth) AS (
      SELECT ?, 0
      UNION ALL
      SELECT n.parent_id, chain.depth + 1 FROM nodes n JOIN chain ON n.id = chain.id
      WHERE n.parent_id IS NOT NULL)
    SELECT nodes.* FROM chain JOIN nodes ON nodes.id = chain.id ORDER BY chain.depth DESC`);
  const subtree = db.prepare(`WITH RECURSIVE tree(id) AS (
      SELECT ? UNION ALL SELECT n.id FROM nodes n JOIN tree ON n.parent_id = tree.id)
    SELECT nodes.* FROM tree JOIN nodes ON nodes.id = tree.id`);
  const foldersOf = db.prepare(
    'SELECT * FROM nodes WHERE owner_id = ? AND kind_rank = 0 ORDER BY name',
  );
  const remove = db.prepare('DELETE FROM nodes WHERE id = ?');
  const pageStatements = new Map<string, ReturnType<Database['prepare']>>();

  function pageStatement(scope: ListScope, column: string, ascending: boolean, after: boolean) {
    const scopeSql =
      'parentId' in scope
        ? 'n.parent_id = @parentId'
        : `n.parent_id IS NOT NULL AND n.name LIKE @pattern ESCAPE '\\'
           AND (n.owner_id = @userId OR n.id IN (
             WITH RECURSIVE shared(id) AS (
               SELECT node_id FROM shares WHERE user_id = @userId
               UNION SELECT c.id FROM nodes c JOIN shared ON c.parent_id = shared.id)
             SELECT id FROM shared))`;
    const cacheKey = `${scopeSql}|${column}|${ascending}|${after}`;
    let statement = pageStatements.get(cacheKey);
    if (!statement) {
      const direction = ascending ? 'ASC' : 'DESC';
      const comparison = after ? `AND (n.${column}, n.id) ${ascending ? '>' : '<'} (@value, @id)` : '';
      statement = db.prepare(`SELECT n.*, u.display_name AS owner_name
        FROM nodes n JOIN users u ON u.id = n.owner_id
        WHERE ${scopeSql} AND n.kind_rank = @rank ${comparison}
        ORDER BY n.${column} ${direction}, n.id ${direction}
        LIMIT @limit`);
      pageStatements.set(cacheKey, statement);
    }
    return statement;
  }

  function cursorOf(row: NodeRow, column: 'name' | 'updated_at' | 'size', back: boolean): PageCursor {
    return { rank: row.kind_rank, value: row[column], id: row.id, back };
  }

  return {
    insert(node: {
      id: string;
      kind: NodeKind;
      parentId: string | null;
      ownerId: string;
      name: string;
      size?: number;
      currentVersionId?: string | null;
      now: number;
    }): void {
      insert.run({
        id: node.id,
        kindRank: node.kind === 'folder' ? 0 : 1,
        parentId: node.parentId,
        ownerId: node.ownerId,
        name: node.name,
        size: node.size ?? 0,
        currentVersionId: node.currentVersionId ?? null,
        now: node.now,
      });
    },
    findById(id: string): NodeRecord | undefined {
      const row = byId.get(id) as NodeRow | undefined;
      return row && toNode(row);
    },
    findHome(ownerId: string): NodeRecord | undefined {
      const row = home.get(ownerId) as NodeRow | undefined;
      return row && toNode(row);
    },
    isNameTaken(parentId: string, name: string): boolean {
      return nameTaken.get(parentId, name) !== undefined;
    },
    /** How many children a folder has (kept by triggers, see migration 005). */
    countChildren(parentId: string): number {
      return (childCount.get(parentId) as number | undefined) ?? 0;
    },
    updateName(id: string, name: string, now: number): void {
      rename.run(name, now, id);
    },
    updateParent(id: string, parentId: string, now: number): void {
      reparent.run(parentId, now, id);
    },
    updateContent(id: string, versionId: string, size: number, now: number): void {
      setContent.run(versionId, size, now, id);
    },
    /** The node and its ancestors, root first. */
    listPath(id: string): NodeRecord[] {
      return (ancestors.all(id) as NodeRow[]).map(toNode);
    },
    /** The node and everything below it. */
    listSubtree(id: string): NodeRecord[] {
      return (subtree.all(id) as NodeRow[]).map(toNode);
    },
    listFoldersOf(ownerId: string): NodeRecord[] {
      return (foldersOf.all(ownerId) as NodeRow[]).map(toNode);
    },
    delete(id: string): void {
      remove.run(id);
    },
    /** One page of a folder's children or of a name search, folders first, by keyset. */
    listPage(scope: ListScope, query: PageQuery): Page {
      const column = sortColumns[query.sort];
      const back = query.cursor?.back ?? false;
      const ascending = (query.order === 'asc') !== back;
      const ranks: Array<0 | 1> = back ? [1, 0] : [0, 1];
      const startRank = query.cursor?.rank ?? ranks[0]!;
      const params =
        'parentId' in scope
          ? { parentId: scope.parentId }
          : { userId: scope.visibleTo, pattern: `%${escapeLike(scope.nameContains)}%` };
      const rows: NodeRow[] = [];
      for (const rank of ranks.slice(ranks.indexOf(startRank))) {
        const continuing = query.cursor !== undefined && rank === query.cursor.rank;
        const statement = pageStatement(scope, column, ascending, continuing);
        rows.push(
          ...(statement.all({
            ...params,
            rank,
            limit: query.limit + 1 - rows.length,
            ...(continuing ? { value: query.cursor!.value, id: query.cursor!.id } : {}),
          }) as NodeRow[]),
        );
        if (rows.length > query.limit) break;
      }
      const hasMore = rows.length > query.limit;
      const pageRows = rows.slice(0, query.limit);
      if (back) pageRows.reverse();
      const first = pageRows[0];
      const last = pageRows[pageRows.length - 1];
      const moreBefore = back ? hasMore : query.cursor !== undefined;
      const moreAfter = back ? true : hasMore;
      return {
        items: pageRows.map((row) => ({ ...toNode(row), ownerName: row.owner_name ?? '' })),
        next: moreAfter && last ? cursorOf(last, column, false) : undefined,
        previous: moreBefore && first ? cursorOf(first, column, true) : undefined,
      };
    },
  };
}

export type NodeRepository = ReturnType<typeof createNodeRepository>;
