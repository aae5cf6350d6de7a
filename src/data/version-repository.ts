import type { Database } from './database.js';

/** How a version came to be. */
export type VersionKind = 'upload' | 'create' | 'edit' | 'checkpoint' | 'restore' | 'recovered' | 'convert';

/** One stored content of a file; its blob is never changed or reused. */
export interface VersionRecord {
  id: string;
  fileId: string;
  number: number;
  kind: VersionKind;
  authorId: string | null;
  authorName: string | null;
  size: number;
  sha256: string;
  blobId: string;
  createdAt: number;
  /** The document key of the editing session that produced it (edits and checkpoints). */
  documentKey: string | null;
  /** The Document Server's `history` object for this save, as JSON text. */
  history: string | null;
  /** The blob holding the Document Server's changes zip for this save. */
  changesBlobId: string | null;
  /** The callback delivery that stored it ("<status>:<lastsave>"). */
  callbackMarker: string | null;
}

interface VersionRow {
  id: string;
  file_id: string;
  number: number;
  kind: VersionKind;
  author_id: string | null;
  author_name: string | null;
  size: number;
  sha256: string;
  blob_id: string;
  created_at: number;
  document_key: string | null;
  history: string | null;
  changes_blob_id: string | null;
  callback_marker: string | null;
}

function toVersion(row: VersionRow): VersionRecord {
  return {
    id: row.id,
    fileId: row.file_id,
    number: row.number,
    kind: row.kind,
    authorId: row.author_id,
    authorName: row.author_name,
    size: row.size,
    sha256: row.sha256,
    blobId: row.blob_id,
    createdAt: row.created_at,
    documentKey: row.document_key,
    history: row.history,
    changesBlobId: row.changes_blob_id,
    callbackMarker: row.callback_marker,
  };
}

const selectWithAuthor = `SELECT v.*, u.display_name AS author_name
  FROM versions v LEFT JOIN users u ON u.id = v.author_id`;

/** Prepared statements over the versions table. */
export function createVersionRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO versions
    (id, file_id, number, kind, author_id, size, sha256, blob_id, created_at, document_key, history, changes_blob_id, callback_marker)
    VALUES (@id, @fileId, @number, @kind, @authorId, @size, @sha256, @blobId, @createdAt, @documentKey, @history, @changesBlobId, @callbackMarker)`);
  const byId = db.prepare(`${selectWithAuthor} WHERE v.id = ?`);
  const byNumber = db.prepare(`${selectWithAuthor} WHERE v.file_id = ? AND v.number = ?`);
  const forFile = db.prepare(`${selectWithAuthor} WHERE v.file_id = ? ORDER BY v.number DESC`);
  const maxNumber = db
    .prepare('SELECT coalesce(max(number), 0) FROM versions WHERE file_id = ?')
    .pluck();
  const blobIds = db
    .prepare('SELECT blob_id FROM versions UNION ALL SELECT changes_blob_id FROM versions WHERE changes_blob_id IS NOT NULL')
    .pluck();
  const blobIdsForFile = db
    .prepare(`SELECT blob_id FROM versions WHERE file_id = @fileId
      UNION ALL SELECT changes_blob_id FROM versions WHERE file_id = @fileId AND changes_blob_id IS NOT NULL`)
    .pluck();
  const remove = db.prepare('DELETE FROM versions WHERE id = ?');
  const byCallback = db.prepare('SELECT 1 FROM versions WHERE document_key = ? AND callback_marker = ?').pluck();
  const blobExists = db.prepare('SELECT 1 FROM versions WHERE blob_id = ?').pluck();

  return {
    /** Inserts the next version of a file and returns its number. */
    insertNext(
      version: Omit<VersionRecord, 'number' | 'authorName' | 'documentKey' | 'history' | 'changesBlobId' | 'callbackMarker'> &
        Partial<Pick<VersionRecord, 'documentKey' | 'history' | 'changesBlobId' | 'callbackMarker'>>,
    ): number {
      const number = (maxNumber.get(version.fileId) as number) + 1;
      insert.run({ documentKey: null, history: null, changesBlobId: null, callbackMarker: null, ...version, number });
      return number;
    },
    findById(id: string): VersionRecord | undefined {
      const row = byId.get(id) as VersionRow | undefined;
      return row && toVersion(row);
    },
    findByNumber(fileId: string, number: number): VersionRecord | undefined {
      const row = byNumber.get(fileId, number) as VersionRow | undefined;
      return row && toVersion(row);
    },
    listForFile(fileId: string): VersionRecord[] {
      return (forFile.all(fileId) as VersionRow[]).map(toVersion);
    },
    listAllBlobIds(): string[] {
      return blobIds.all() as string[];
    },
    listBlobIdsForFile(fileId: string): string[] {
      return blobIdsForFile.all({ fileId }) as string[];
    },
    /** Whether a callback delivery ("<status>:<lastsave>" for a key) already stored a version. */
    existsForCallback(documentKey: string, marker: string): boolean {
      return byCallback.get(documentKey, marker) !== undefined;
    },
    delete(id: string): void {
      remove.run(id);
    },
    isBlobReferenced(blobId: string): boolean {
      return blobExists.get(blobId) !== undefined;
    },
  };
}

export type VersionRepository = ReturnType<typeof createVersionRepository>;
