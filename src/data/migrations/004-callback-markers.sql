-- Which callback delivery stored a version ("<status>:<lastsave>"), so a repeated delivery stores nothing.
ALTER TABLE versions ADD COLUMN callback_marker TEXT;
CREATE INDEX versions_by_callback ON versions (document_key, callback_marker);
