-- Each folder keeps how many children it has, so a listing's total does not scan a 100,000-entry index.
ALTER TABLE nodes ADD COLUMN child_count INTEGER NOT NULL DEFAULT 0;

UPDATE nodes SET child_count = (SELECT count(*) FROM nodes AS child WHERE child.parent_id = nodes.id)
  WHERE kind_rank = 0;

CREATE TRIGGER nodes_count_insert AFTER INSERT ON nodes WHEN NEW.parent_id IS NOT NULL
BEGIN
  UPDATE nodes SET child_count = child_count + 1 WHERE id = NEW.parent_id;
END;

CREATE TRIGGER nodes_count_delete AFTER DELETE ON nodes WHEN OLD.parent_id IS NOT NULL
BEGIN
  UPDATE nodes SET child_count = child_count - 1 WHERE id = OLD.parent_id;
END;

CREATE TRIGGER nodes_count_move AFTER UPDATE OF parent_id ON nodes
  WHEN OLD.parent_id IS NOT NEW.parent_id
BEGIN
  UPDATE nodes SET child_count = child_count - 1 WHERE id = OLD.parent_id;
  UPDATE nodes SET child_count = child_count + 1 WHERE id = NEW.parent_id;
END;
