-- Settings an admin changes on the settings page, who changed what, and the connection checks.
CREATE TABLE settings (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT REFERENCES users (id)
);

CREATE TABLE settings_audit (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  user_id   TEXT REFERENCES users (id),
  name      TEXT NOT NULL,
  -- Secrets are never stored here: their change is recorded as "(set)", "(changed)" or "(removed)".
  old_value TEXT,
  new_value TEXT
);

CREATE TABLE connection_checks (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  ok      INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  result  TEXT NOT NULL
);
