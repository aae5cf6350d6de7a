-- Accounts, sessions, personal API tokens, the folder tree and file versions.
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL COLLATE NOCASE UNIQUE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Folders and files in one tree; kind_rank (0 folder, 1 file) keeps folders first in every listing.
CREATE TABLE nodes (
  id                 TEXT PRIMARY KEY,
  kind_rank          INTEGER NOT NULL CHECK (kind_rank IN (0, 1)),
  parent_id          TEXT REFERENCES nodes (id) ON DELETE CASCADE,
  owner_id           TEXT NOT NULL REFERENCES users (id),
  name               TEXT NOT NULL COLLATE NOCASE,
  size               INTEGER NOT NULL DEFAULT 0,
  current_version_id TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX nodes_unique_name ON nodes (parent_id, name);
CREATE UNIQUE INDEX nodes_one_home ON nodes (owner_id) WHERE parent_id IS NULL;
CREATE INDEX nodes_by_name ON nodes (parent_id, kind_rank, name, id);
CREATE INDEX nodes_by_modified ON nodes (parent_id, kind_rank, updated_at, id);
CREATE INDEX nodes_by_size ON nodes (parent_id, kind_rank, size, id);
CREATE INDEX nodes_search ON nodes (owner_id, kind_rank, name, id);

CREATE TABLE versions (
  id         TEXT PRIMARY KEY,
  file_id    TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  number     INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  author_id  TEXT REFERENCES users (id),
  size       INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  blob_id    TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  UNIQUE (file_id, number)
);
