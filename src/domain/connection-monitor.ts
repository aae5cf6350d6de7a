import type { Logger } from 'pino';
import type { SettingsService } from './settings.js';

const tickMs = 60_000;

/**
 * Re-runs the connection check every `recheckIntervalMinutes` (0 = never), reading the interval on
 * each tick so a change on the settings page takes effect without a restart. Started by the server
 * only, so tests never run it.
 */
export function startConnectionMonitor(settings: SettingsService, logger: Logger): { stop(): void } {
  let running = false;
  const tick = async () => {
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
