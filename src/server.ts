import http, { type Server } from 'node:http';
import { pino } from 'pino';
import { createApp } from './app.js';
import { loadAppSecret } from './app-secret.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { prepareResources } from './resources.js';
import { startConnectionMonitor } from './domain/connection-monitor.js';

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
  const monitor = startConnectionMonitor(app.services.settings, app.services.sessions, logger);

  const server: Server = http.createServer(app.requestListener).listen(config.port, config.host, () => {
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
    monitor.stop();
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
