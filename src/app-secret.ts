import fs from 'node:fs';
import path from 'node:path';
import { newSecretToken } from './ids.js';

/**
 * The app's own signing secret: SESSION_SECRET when set, else one generated on first start and kept
 * (readable by the server's user only) in the data directory, so it survives restarts.
 */
export function loadAppSecret(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'session-secret');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = newSecretToken();
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
