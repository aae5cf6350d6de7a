-- Sharing: shares with users (a folder share covers its subtree), public links, and notifications.
CREATE TABLE shares (
  id          TEXT PRIMARY KEY,
  node_id     TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('viewer', 'form_filler', 'commenter', 'reviewer', 'editor')),
  no_download INTEGER NOT NULL DEFAULT 0,
  created_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (node_id, user_id)
);
CREATE INDEX shares_by_user ON shares (user_id, node_id);

-- Only a hash of a link's token is kept: the link itself is shown once, when it is made.
CREATE TABLE share_links (
  id            TEXT PRIMARY KEY,
  node_id       TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  token_hash    TEXT NOT NULL UNIQUE,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'form_filler', 'commenter', 'reviewer', 'editor')),
  no_download   INTEGER NOT NULL DEFAULT 0,
  password_hash TEXT,
  expires_at    INTEGER,
  created_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
  created_at    INTEGER NOT NULL,
  revoked_at    INTEGER
);
CREATE INDEX share_links_by_node ON share_links (node_id);

CREATE TABLE notifications (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('mention', 'share')),
  node_id    TEXT REFERENCES nodes (id) ON DELETE CASCADE,
  actor_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
  message    TEXT NOT NULL,
  link       TEXT,
  created_at INTEGER NOT NULL,
  read_at    INTEGER
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);
