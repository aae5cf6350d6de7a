import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Response } from 'superagent';
import supertest from 'supertest';
import { createApp, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { cookieNames } from '../../src/http/auth.routes.js';
import { migrate, openDatabase } from '../../src/data/database.js';
import type { User } from '../../src/data/user-repository.js';
import { FileStore } from '../../src/storage/file-store.js';

/** The app secret every test app signs its links with (the CLI test passes it as SESSION_SECRET). */
export const testAppSecret = 'test-secret-'.padEnd(48, 'x');

export const fixturesDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures');

/** A fixture file's bytes. */
export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(fixturesDir, name));
}

/** A supertest parser that collects any response body as raw bytes. */
export function binary(res: Response, callback: (error: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
}

/** A signed-in browser session: the cookie to send and the CSRF token its pages carry. */
export interface BrowserSession {
  user: User;
  cookie: string;
  csrfToken: string;
}

/**
 * A real app on a temporary data directory with the real migrations, the real SQLite database and the
 * real file store. Call `close()` when done.
 */
export function createTestApp(env: Record<string, string> = {}, deps: Partial<Pick<AppDeps, 'callbackLimits' | 'clock' | 'checkTimeouts' | 'conversionLimits'>> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-test-'));
  const config: Config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
  const db = openDatabase(path.join(dataDir, 'dms.sqlite'));
  migrate(db);
  const store = new FileStore(path.join(dataDir, 'blobs'));
  const app = createApp({ config, db, store, logger: pino({ level: 'silent' }), appSecret: testAppSecret, ...deps });
  // The same entry point as the real server: POST /track is answered before Express.
  const request = supertest(app.requestListener);

  async function createUser(username: string, options: { role?: 'admin' | 'user'; password?: string } = {}): Promise<User> {
    return app.services.accounts.createUser({
      username,
      displayName: username[0]!.toUpperCase() + username.slice(1),
      password: options.password ?? 'correct horse battery',
      role: options.role ?? 'user',
    });
  }

  /** Opens a real session for a user, as signing in would. */
  function sessionFor(user: User): BrowserSession {
    const session = app.services.accounts.createSession(user.id);
    return { user, cookie: `${cookieNames(config).session}=${session.token}`, csrfToken: session.csrfToken };
  }

  async function signedInUser(username: string, role: 'admin' | 'user' = 'user'): Promise<BrowserSession> {
    return sessionFor(await createUser(username, { role }));
  }

  /** Every file under the data directory's blob store (temp files included). */
  function listBlobFiles(): string[] {
    const root = path.join(dataDir, 'blobs');
    return fs.readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name));
  }

  return {
    app,
    config,
    db,
    store,
    dataDir,
    request,
    createUser,
    sessionFor,
    signedInUser,
    listBlobFiles,
    close() {
      db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestApp = ReturnType<typeof createTestApp>;

/**
 * A test app that also listens on 127.0.0.1, so a Document Server stand-in can reach `/download`
 * and `/track` over real HTTP. `env` receives the app's own address.
 */
export async function createServedTestApp(
  env: (selfUrl: string) => Record<string, string>,
  deps: Partial<Pick<AppDeps, 'callbackLimits' | 'clock' | 'checkTimeouts' | 'conversionLimits'>> = {},
) {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = createTestApp({ PUBLIC_URL: url, ...env(url) }, deps);
  server.on('request', t.app.requestListener);
  return {
    ...t,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      t.close();
    },
  };
}

export type ServedTestApp = Awaited<ReturnType<typeof createServedTestApp>>;
