import type { Database } from './database.js';

/** One line of the settings audit list. */
export interface SettingsAuditEntry {
  at: number;
  userId: string | null;
  userName: string | null;
  name: string;
  oldValue: string | null;
  newValue: string | null;
}

/** A stored connection check. */
export interface StoredCheck {
  at: number;
  ok: boolean;
  trigger: string;
  result: string;
}

/** Prepared statements over settings, settings_audit and connection_checks. */
export function createSettingsRepository(db: Database) {
  const all = db.prepare('SELECT name, value FROM settings');
  const upsert = db.prepare(`INSERT INTO settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`);
  const audit = db.prepare('INSERT INTO settings_audit (at, user_id, name, old_value, new_value) VALUES (?, ?, ?, ?, ?)');
  const auditList = db.prepare(`SELECT a.at, a.user_id, u.display_name AS user_name, a.name, a.old_value, a.new_value
    FROM settings_audit a LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT ?`);
  const insertCheck = db.prepare('INSERT INTO connection_checks (at, ok, trigger, result) VALUES (?, ?, ?, ?)');
  const lastCheck = db.prepare('SELECT at, ok, trigger, result FROM connection_checks ORDER BY id DESC LIMIT 1');
  const pruneChecks = db.prepare('DELETE FROM connection_checks WHERE id <= (SELECT max(id) FROM connection_checks) - 100');

  return {
    /** Every stored setting, values parsed from JSON. */
    readAll(): Record<string, unknown> {
      const result: Record<string, unknown> = {};
      for (const row of all.all() as Array<{ name: string; value: string }>) result[row.name] = JSON.parse(row.value);
      return result;
    },
    upsert(name: string, value: unknown, userId: string | null, now: number): void {
      upsert.run(name, JSON.stringify(value), now, userId);
    },
    insertAudit(entry: { at: number; userId: string | null; name: string; oldValue: string | null; newValue: string | null }): void {
      audit.run(entry.at, entry.userId, entry.name, entry.oldValue, entry.newValue);
    },
    listAudit(limit: number): SettingsAuditEntry[] {
      return (auditList.all(limit) as Array<{ at: number; user_id: string | null; user_name: string | null; name: string; old_value: string | null; new_value: string | null }>).map((row) => ({
        at: row.at,
        userId: row.user_id,
        userName: row.user_name,
        name: row.name,
        oldValue: row.old_value,
        newValue: row.new_value,
      }));
    },
    insertCheck(check: StoredCheck): void {
      insertCheck.run(check.at, check.ok ? 1 : 0, check.trigger, check.result);
      pruneChecks.run();
    },
    findLastCheck(): StoredCheck | undefined {
      const row = lastCheck.get() as { at: number; ok: number; trigger: string; result: string } | undefined;
      return row && { at: row.at, ok: row.ok === 1, trigger: row.trigger, result: row.result };
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
