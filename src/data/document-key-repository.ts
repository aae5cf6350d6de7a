import { withoutDiskWait, type Database } from './database.js';

export type KeyState = 'open' | 'saved' | 'closed';

/** A document key this DMS handed to the Document Server, and the editing session behind it. */
export interface DocumentKeyRecord {
  key: string;
  fileId: string;
  versionId: string;
  state: KeyState;
  forcesaved: boolean;
  editors: string[];
  editingSince: number | null;
  lastCallbackAt: number | null;
  lastForcesave: string | null;
  lastError: string | null;
  createdAt: number;
}

interface KeyRow {
  key: string;
  file_id: string;
  version_id: string;
  state: KeyState;
  forcesaved: number;
  editors: string;
  editing_since: number | null;
  last_callback_at: number | null;
  last_forcesave: string | null;
  last_error: string | null;
  created_at: number;
}

function toRecord(row: KeyRow): DocumentKeyRecord {
  return {
    key: row.key,
    fileId: row.file_id,
    versionId: row.version_id,
    state: row.state,
    forcesaved: row.forcesaved === 1,
    editors: JSON.parse(row.editors) as string[],
    editingSince: row.editing_since,
    lastCallbackAt: row.last_callback_at,
    lastForcesave: row.last_forcesave,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

/** Prepared statements over document_keys and nodes.document_key. */
export function createDocumentKeyRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO document_keys (key, file_id, version_id, created_at)
    VALUES (?, ?, ?, ?)`);
  const setCurrent = db.prepare('UPDATE nodes SET document_key = ? WHERE id = ?');
  const byKey = db.prepare('SELECT * FROM document_keys WHERE key = ?');
  const current = db.prepare(`SELECT k.* FROM nodes n JOIN document_keys k ON k.key = n.document_key
    WHERE n.id = ?`);
  const setEditors = db.prepare(`UPDATE document_keys
    SET editors = @editors, editing_since = @editingSince, last_callback_at = @now WHERE key = @key`);
  const setState = db.prepare('UPDATE document_keys SET state = ?, editors = \'[]\', editing_since = NULL, last_callback_at = ? WHERE key = ?');
  const markForcesaved = db.prepare('UPDATE document_keys SET forcesaved = 1, last_forcesave = ?, last_callback_at = ? WHERE key = ?');
  const setError = db.prepare('UPDATE document_keys SET last_error = ?, last_callback_at = ? WHERE key = ?');
  const silent = db.prepare(`SELECT * FROM document_keys
    WHERE state = 'open' AND editors <> '[]' AND coalesce(last_callback_at, created_at) < ?`);
  const editingForFiles = db.prepare(`SELECT n.id AS file_id, k.editors, k.editing_since FROM nodes n
    JOIN document_keys k ON k.key = n.document_key
    WHERE n.id IN (SELECT value FROM json_each(?)) AND k.editors <> '[]'`);

  return {
    /** Records a new key for a file version and makes it the file's current key. */
    insertCurrent(key: string, fileId: string, versionId: string, now: number): void {
      insert.run(key, fileId, versionId, now);
      setCurrent.run(key, fileId);
    },
    /** Forgets the file's current key, so the next editor session gets a new one. */
    clearCurrent(fileId: string): void {
      setCurrent.run(null, fileId);
    },
    /** Ends the file's current key for good: its session can no longer change the file. */
    retireCurrent(fileId: string, now: number): void {
      const row = current.get(fileId) as KeyRow | undefined;
      if (row) setState.run('closed', now, row.key);
      setCurrent.run(null, fileId);
    },
    findByKey(key: string): DocumentKeyRecord | undefined {
      const row = byKey.get(key) as KeyRow | undefined;
      return row && toRecord(row);
    },
    findCurrent(fileId: string): DocumentKeyRecord | undefined {
      const row = current.get(fileId) as KeyRow | undefined;
      return row && toRecord(row);
    },
    updateEditors(key: string, editors: string[], editingSince: number | null, now: number): void {
      // Status-1 callbacks arrive often and only say who is editing: not worth an fsync each.
      withoutDiskWait(db, () => setEditors.run({ key, editors: JSON.stringify(editors), editingSince, now }));
    },
    updateState(key: string, state: KeyState, now: number): void {
      setState.run(state, now, key);
    },
    markForcesaved(key: string, lastsave: string, now: number): void {
      markForcesaved.run(lastsave, now, key);
    },
    updateError(key: string, message: string, now: number): void {
      setError.run(message, now, key);
    },
    /** Open sessions with editors that have sent no callback since `cutoff`. */
    listOpenSessionsSilentSince(cutoff: number): DocumentKeyRecord[] {
      return (silent.all(cutoff) as KeyRow[]).map(toRecord);
    },
    /** Who is editing each listed file that has an open session, and since when. */
    listEditorsByFile(fileIds: string[]): Map<string, { editors: string[]; since: number | null }> {
      const rows = editingForFiles.all(JSON.stringify(fileIds)) as Array<{ file_id: string; editors: string; editing_since: number | null }>;
      return new Map(rows.map((row) => [row.file_id, { editors: JSON.parse(row.editors) as string[], since: row.editing_since }]));
    },
  };
}

export type DocumentKeyRepository = ReturnType<typeof createDocumentKeyRepository>;
