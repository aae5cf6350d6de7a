import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';

/** The better-sqlite3 handle the repositories share. */
export type Database = BetterSqlite3.Database;

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Opens (creating if needed) the SQLite database with WAL and foreign keys on. */
export function openDatabase(file: string): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Runs `write` with commits that do not wait for the disk (synchronous = NORMAL under WAL: the
 * database stays consistent, but a power cut may drop the last such commits). Only for state that is
 * cheap to lose, such as who is editing; file metadata always commits with a full sync. The next full
 * commit makes these durable too.
 */
export function withoutDiskWait<T>(db: Database, write: () => T): T {
  const pragmas = syncPragmas(db);
  pragmas.normal.run();
  try {
    return write();
  } finally {
    pragmas.full.run();
  }
}

const pragmaStatements = new WeakMap<Database, { normal: BetterSqlite3.Statement; full: BetterSqlite3.Statement }>();

/** The two synchronous pragmas, prepared once per database (db.pragma compiles on every call). */
function syncPragmas(db: Database) {
  let statements = pragmaStatements.get(db);
  if (!statements) {
    statements = { normal: db.prepare('PRAGMA synchronous = NORMAL'), full: db.prepare('PRAGMA synchronous = FULL') };
    pragmaStatements.set(db, statements);
  }
  return statements;
}

/** Applies the numbered, forward-only migrations that have not run yet; returns their names. */
export function migrate(db: Database): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const applied = new Set(
    db.prepare('SELECT name FROM schema_migrations').pluck().all() as string[],
  );
  const pending = fs
    .readdirSync(migrationsDir)
    .filter((name) => /^\d{3}-[\w-]+\.sql$/.test(name) && !applied.has(name))
    .sort();
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  for (const name of pending) {
    const sql = fs.readFileSync(path.join(migrationsDir, name), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      record.run(name, Date.now());
    })();
  }
  return pending;
}
