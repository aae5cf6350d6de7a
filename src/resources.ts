import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { migrate, openDatabase, type Database } from './data/database.js';
import { createVersionRepository } from './data/version-repository.js';
import { FileStore } from './storage/file-store.js';

/** Opens the database (applying migrations) and the file store, without touching the blobs. */
export function openResources(config: Config, logger: Logger): { db: Database; store: FileStore } {
  const db = openDatabase(path.join(config.dataDir, 'dms.sqlite'));
  const applied = migrate(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  return { db, store: new FileStore(path.join(config.dataDir, 'blobs')) };
}

/**
 * Opens the resources and repairs what a crash left behind. Only the server may do this: the repair
 * removes temp files, which would break another process's uploads in flight.
 */
export async function prepareResources(config: Config, logger: Logger): Promise<{ db: Database; store: FileStore }> {
  const { db, store } = openResources(config, logger);
  const report = store.recover(createVersionRepository(db).listAllBlobIds());
  if (report.completed.length > 0) logger.warn({ blobs: report.completed }, 'finished writes interrupted by a crash');
  if (report.removedTemps.length > 0) logger.info({ files: report.removedTemps }, 'removed temp files of unfinished writes');
  if (report.unreferencedBlobs.length > 0) {
    logger.warn({ blobs: report.unreferencedBlobs }, 'blobs on disk that no version refers to (left in place)');
  }
  if (report.missingBlobs.length > 0) {
    logger.error({ blobs: report.missingBlobs }, 'versions whose content is missing from disk');
  }
  return { db, store };
}

