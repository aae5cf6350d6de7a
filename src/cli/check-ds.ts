/**
 * `npm run check-ds`: runs the Document Server connection check with the effective settings (the same
 * environment and data directory as the server) and exits non-zero when it fails, for deployment
 * scripts. The conversion step needs the DMS server running, since the Document Server downloads the
 * test file from it.
 */
import { pino } from 'pino';
import { loadAppSecret } from '../app-secret.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { openResources } from '../resources.js';
import { createServices } from '../services.js';

const marks = { passed: '✓', failed: '✗', skipped: '–' } as const;

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = pino({ level: 'warn' });
  const { db, store } = openResources(config, logger);
  try {
    const services = createServices({
      db,
      store,
      clock: systemClock,
      logger,
      config,
      appSecret: loadAppSecret(config.dataDir, config.sessionSecret),
    });
    const settings = services.settings.documentServer();
    if (!settings) {
      process.stdout.write('No Document Server address is set (DOCUMENT_SERVER_URL or the settings page).\n');
      return 1;
    }
    process.stdout.write(`Checking ${settings.internalUrl} (browsers: ${settings.publicUrl}; this DMS as the Document Server sees it: ${settings.connectorUrl})\n`);
    const result = await services.settings.runCheck('cli');
    for (const step of result.steps) process.stdout.write(`${marks[step.status]} ${step.title}: ${step.message}\n`);
    process.stdout.write(result.ok ? `Connection check passed${result.version ? ` (Document Server ${result.version})` : ''}.\n` : 'Connection check FAILED.\n');
    return result.ok ? 0 : 1;
  } finally {
    db.close();
  }
}

process.exitCode = await main();
