-- What users must be told about conversions that ran without them: a save of a lossy format (report.odt)
-- that could not be converted back, so the result was kept as a new file beside the original.
CREATE TABLE conversion_notices (
  id         TEXT PRIMARY KEY,
  file_id    TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  message    TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX conversion_notices_by_file ON conversion_notices (file_id, created_at);
