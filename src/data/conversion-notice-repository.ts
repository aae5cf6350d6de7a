import type { Database } from './database.js';

/** A message about a conversion that concerned a file. */
export interface ConversionNotice {
  id: string;
  fileId: string;
  message: string;
  createdAt: number;
}

/** Prepared statements over conversion_notices. */
export function createConversionNoticeRepository(db: Database) {
  const insert = db.prepare('INSERT INTO conversion_notices (id, file_id, message, created_at) VALUES (?, ?, ?, ?)');
  const list = db.prepare('SELECT id, file_id, message, created_at FROM conversion_notices WHERE file_id = ? ORDER BY created_at DESC, id LIMIT 20');
  const clear = db.prepare('DELETE FROM conversion_notices WHERE file_id = ?');

  return {
    insert(notice: ConversionNotice): void {
      insert.run(notice.id, notice.fileId, notice.message, notice.createdAt);
    },
    /** The newest notices of a file first. */
    listForFile(fileId: string): ConversionNotice[] {
      return (list.all(fileId) as Array<{ id: string; file_id: string; message: string; created_at: number }>).map((row) => ({
        id: row.id,
        fileId: row.file_id,
        message: row.message,
        createdAt: row.created_at,
      }));
    },
    clearForFile(fileId: string): void {
      clear.run(fileId);
    },
  };
}

export type ConversionNoticeRepository = ReturnType<typeof createConversionNoticeRepository>;
