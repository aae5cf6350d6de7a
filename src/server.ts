import path from 'node:path';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { createApp } from './app.js';
import { loadAppSecret } from './app-secret.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrate, openDatabase, type Database } from './data/database.js';
import { createVersionRepository } from './data/version-repository.js';
import { FileStore } from './storage/file-store.js';

/** Opens the database and the file store, applies migrations and repairs what a crash left behind. */
export async function prepareResources(config: Config, logger: Logger): Promise<{ db: Database; store: FileStore }> {
  const db = openDatabase(path.join(config.dataDir, 'dms.sqlite'));
  const applied = migrate(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const store = new FileStore(path.join(config.dataDir, 'blobs'));
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

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel });
  const { db, store } = await prepareResources(config, logger);
  const app = createApp({ config, db, store, logger, appSecret: loadAppSecret(config.dataDir, config.sessionSecret) });

  if (config.initialAdmin && app.services.accounts.isSetupNeeded()) {
    await app.services.accounts.createUser({ ...config.initialAdmin, role: 'admin' });
    logger.info({ username: config.initialAdmin.username }, 'created the first admin from ADMIN_USERNAME');
  }
  app.services.repositories.sessions.deleteExpired(Date.now());

  const server: Server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ host: config.host, port, publicUrl: config.publicUrl }, `listening on http://${config.host}:${port}`);
    if (app.services.accounts.isSetupNeeded()) logger.info(`open ${config.publicUrl}/setup to create the first admin`);
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'could not listen');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight requests');
    server.close(() => {
      db.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    // Requests still running after 30 s (a stalled upload) are cut so the process can exit.
    setTimeout(() => {
      server.closeAllConnections();
    }, 30_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
