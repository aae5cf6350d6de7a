import type { Logger } from 'pino';
import type { EditingSessions } from './editing-sessions.js';
import type { SettingsService } from './settings.js';

const tickMs = 60_000;

/**
 * Every minute: asks the Document Server about editing sessions that went silent (clearing the ones it
 * no longer knows), and re-runs the connection check every `recheckIntervalMinutes` (0 = never), reading the interval on
 * each tick so a change on the settings page takes effect without a restart. Started by the server
 * only, so tests never run it.
 */
export function startConnectionMonitor(settings: SettingsService, sessions: EditingSessions, logger: Logger): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (settings.documentServer()) {
      const cleared = await sessions.sweepStale().catch((error: unknown) => {
        logger.error({ err: error }, 'could not check silent editing sessions');
        return 0;
      });
      if (cleared > 0) logger.info({ cleared }, 'cleared editing sessions the Document Server no longer knows');
    }
    const minutes = settings.effective().values.recheckIntervalMinutes;
    if (running || minutes === 0 || !settings.documentServer()) return;
    const last = settings.lastCheck();
    if (last && Date.now() - Date.parse(last.at) < minutes * 60_000) return;
    running = true;
    try {
      await settings.runCheck('periodic');
    } catch (error) {
      logger.error({ err: error }, 'periodic connection check failed to run');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();
  // A first check soon after start, so the status is known (skipped when a recent one exists).
  const first = setTimeout(() => void tick(), 5_000);
  first.unref();
  return {
    stop() {
      clearInterval(timer);
      clearTimeout(first);
    },
  };
}
