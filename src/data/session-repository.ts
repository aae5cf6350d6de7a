import type { Database } from './database.js';

/** A signed-in browser session; only the hash of its cookie value is stored. */
export interface SessionRecord {
  tokenHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

interface SessionRow {
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** Prepared statements over the sessions table. */
export function createSessionRepository(db: Database) {
  const insert = db.prepare(`INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
    VALUES (@tokenHash, @userId, @csrfToken, @createdAt, @expiresAt)`);
  const byHash = db.prepare('SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?');
  const extend = db.prepare('UPDATE sessions SET expires_at = ? WHERE token_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE token_hash = ?');
  const removeForUser = db.prepare('DELETE FROM sessions WHERE user_id = ?');
  const removeOthers = db.prepare('DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?');
  const removeExpired = db.prepare('DELETE FROM sessions WHERE expires_at <= ?');

  return {
    insert(session: SessionRecord): void {
      insert.run(session);
    },
    findLive(tokenHash: string, now: number): SessionRecord | undefined {
      const row = byHash.get(tokenHash, now) as SessionRow | undefined;
      return (
        row && {
          tokenHash: row.token_hash,
          userId: row.user_id,
          csrfToken: row.csrf_token,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      );
    },
    updateExpiry(tokenHash: string, expiresAt: number): void {
      extend.run(expiresAt, tokenHash);
    },
    delete(tokenHash: string): void {
      remove.run(tokenHash);
    },
    deleteForUser(userId: string): void {
      removeForUser.run(userId);
    },
    deleteForUserExcept(userId: string, keepTokenHash: string): void {
      removeOthers.run(userId, keepTokenHash);
    },
    deleteExpired(now: number): number {
      return removeExpired.run(now).changes;
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
