import type { Database } from './database.js';

/** A personal API token; the secret itself is shown once and only its hash is kept. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

interface ApiTokenRow {
  id: string;
  user_id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

function toApiToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Prepared statements over the api_tokens table. */
export function createApiTokenRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)
    VALUES (@id, @userId, @name, @tokenHash, @createdAt)`);
  const byHash = db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?');
  const forUser = db.prepare('SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC');
  const touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM api_tokens WHERE id = ? AND user_id = ?');
  const removeAll = db.prepare('DELETE FROM api_tokens WHERE user_id = ?');

  return {
    insert(token: { id: string; userId: string; name: string; tokenHash: string; createdAt: number }): void {
      insert.run(token);
    },
    findByHash(tokenHash: string): ApiToken | undefined {
      const row = byHash.get(tokenHash) as ApiTokenRow | undefined;
      return row && toApiToken(row);
    },
    listForUser(userId: string): ApiToken[] {
      return (forUser.all(userId) as ApiTokenRow[]).map(toApiToken);
    },
    updateLastUsed(id: string, at: number): void {
      touch.run(at, id);
    },
    deleteAllForUser(userId: string): void {
      removeAll.run(userId);
    },
    /** Deletes the token if it belongs to the user; returns whether one was deleted. */
    deleteForUser(id: string, userId: string): boolean {
      return remove.run(id, userId).changes > 0;
    },
  };
}

export type ApiTokenRepository = ReturnType<typeof createApiTokenRepository>;
