/**
 * The file list (JSON API and HTML page, 50 rows) of a folder holding 1,000 and 100,000 files, over
 * real HTTP on loopback, in this process. Part of `npm run bench` (bench/run.ts).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate, openDatabase } from '../src/data/database.js';
import { newId } from '../src/ids.js';
import { FileStore } from '../src/storage/file-store.js';

const rounds = 200;

/** Median and 95th percentile of one listing, in milliseconds. */
export interface Figures {
  median: number;
  p95: number;
}

async function measure(url: string, cookie: string): Promise<Figures> {
  const samples: number[] = [];
  for (let i = 0; i < rounds + 20; i += 1) {
    const started = performance.now();
    const response = await fetch(url, { headers: { Cookie: cookie } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    if (i >= 20) samples.push(performance.now() - started); // the first 20 warm up
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, p95: samples[Math.floor(samples.length * 0.95)]! };
}

/** One folder size's figures for the API and the page. */
export interface FileListResult {
  size: number;
  api: Figures;
  page: Figures;
}

/** Fills two folders and measures their first page of 50 rows, `rounds` times each. */
export async function benchFileList(): Promise<FileListResult[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-bench-'));
  const db = openDatabase(path.join(dataDir, 'dms.sqlite'));
  migrate(db);
  const app = createApp({
    config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }),
    db,
    store: new FileStore(path.join(dataDir, 'blobs')),
    logger: pino({ level: 'silent' }),
    appSecret: 'bench-secret-'.padEnd(48, 'x'),
  });
  const server = http.createServer(app.requestListener);
  // Filling a folder blocks the loop for seconds; idle keep-alive sockets must survive it.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const user = await app.services.accounts.createUser({ username: 'bench', password: 'bench password' });
  const session = app.services.accounts.createSession(user.id);
  const cookie = `dms_session=${session.token}`;
  const home = app.services.files.getHome(user);
  const { nodes } = app.services.repositories;

  const results: FileListResult[] = [];
  for (const size of [1_000, 100_000]) {
    const folder = app.services.files.createFolder(user, home.id, `folder-${size}`);
    db.transaction(() => {
      for (let i = 0; i < size; i += 1) {
        nodes.insert({ id: newId(), kind: 'file', parentId: folder.id, ownerId: user.id, name: `report-${i}.docx`, size: i * 17, now: 1_700_000_000_000 + i });
      }
    })();
    results.push({
      size,
      api: await measure(`${base}/api/files?folderId=${folder.id}&limit=50`, cookie),
      page: await measure(`${base}/folders/${folder.id}`, cookie),
    });
  }

  server.close();
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return results;
}
