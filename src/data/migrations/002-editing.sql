-- ONLYOFFICE editing: document keys the DMS issued, who is in each editing session, and what the
-- Document Server sent with each save (history JSON and the changes zip) for version history.
ALTER TABLE nodes ADD COLUMN document_key TEXT;

CREATE TABLE document_keys (
  key              TEXT PRIMARY KEY,
  file_id          TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  -- The stored version the key was issued for.
  version_id       TEXT NOT NULL,
  -- open: may be edited; saved: a session-ending save was stored; closed: the session ended otherwise.
  state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'saved', 'closed')),
  -- A force save stored bytes during the session, so the key must change when it ends.
  forcesaved       INTEGER NOT NULL DEFAULT 0,
  editors          TEXT NOT NULL DEFAULT '[]',
  editing_since    INTEGER,
  last_callback_at INTEGER,
  last_forcesave   TEXT,
  last_error       TEXT,
  created_at       INTEGER NOT NULL
);
CREATE INDEX document_keys_by_file ON document_keys (file_id);

ALTER TABLE versions ADD COLUMN document_key TEXT;
ALTER TABLE versions ADD COLUMN history TEXT;
ALTER TABLE versions ADD COLUMN changes_blob_id TEXT;
