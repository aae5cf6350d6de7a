import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentServerStandIn, type PageConfig } from './helpers/document-server.js';
import { freePort, startServer, type ServerProcess } from './helpers/server-process.js';
import { fixture } from './helpers/test-app.js';

// The real server as a child process, killed with SIGKILL in the middle of a save and started again.

const secret = 'crash-recovery-shared-secret';
const sha256 = (data: Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');

let dataDir: string;
let ds: DocumentServerStandIn;
let running: ServerProcess | undefined;
let env: Record<string, string>;
let base: string;


beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-crash-'));
  ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [20, 20, 20] });
  // A fixed port: the callback URL the DS holds must reach the restarted server.
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    PUBLIC_URL: base,
    DOCUMENT_SERVER_URL: ds.url,
    JWT_SECRET: secret,
    ADMIN_USERNAME: 'alice',
    ADMIN_PASSWORD: 'correct horse battery',
  };
  running = await startServer(env);
});
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  await ds.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function crash(): Promise<void> {
  running!.child.kill('SIGKILL');
  await running!.exited;
}

async function apiToken(): Promise<string> {
  const response = await fetch(`${base}/api/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'correct horse battery' }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

async function upload(token: string, name: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${base}/api/files`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  expect(response.status).toBe(201);
  return ((await response.json()) as { file: { id: string } }).file.id;
}

async function getJson<T>(token: string, route: string): Promise<T> {
  const response = await fetch(`${base}${route}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function content(token: string, id: string): Promise<Buffer> {
  const response = await fetch(`${base}/api/files/${id}/content`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** Every file under blobs/, relative, temp files included. */
function blobFiles(): string[] {
  const root = path.join(dataDir, 'blobs');
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The blob ids the database refers to (versions and their changes zips). */
function referencedBlobs(): string[] {
  const db = new BetterSqlite3(path.join(dataDir, 'dms.sqlite'), { readonly: true });
  try {
    const ids = db.prepare('SELECT blob_id FROM versions UNION ALL SELECT changes_blob_id FROM versions WHERE changes_blob_id IS NOT NULL').pluck().all() as string[];
    return ids.map((id) => path.join(id.slice(0, 2), id)).sort();
  } finally {
    db.close();
  }
}

/** Resolves once `check` is true, polling; fails after a generous bound so a broken run cannot hang. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 20_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a crash during a save', () => {
  it('SIGKILL mid-stream: after a restart the file is whole, the database matches the disk, and the redelivered save succeeds', async () => {
    const token = await apiToken();
    const original = fixture('sample.docx');
    const id = await upload(token, 'Plan.docx', original);
    const { config } = await getJson<{ config: PageConfig }>(token, `/api/files/${id}/editor-config`);
    const session = await ds.openEditor(config);
    const userId = (await getJson<{ user: { id: string } }>(token, '/api/account')).user.id;
    await session.connect({ id: userId, name: 'Alice' });
    const edited = Buffer.alloc(1024 * 1024, 'saved by alice ');
    session.edit(userId, edited);

    // The DS sends half the saved file, then stalls; its retry waits until the server is back.
    ds.injectCacheFault({ kind: 'stall', afterBytes: 512 * 1024 }, 1);
    let restarted!: () => void;
    const serverBack = new Promise<void>((resolve) => (restarted = resolve));
    ds.retryGate = () => serverBack;
    const saving = session.disconnect(userId);
    const tempFile = () => blobFiles().find((file) => file.endsWith('.tmp'));
    await until(() => {
      const temp = tempFile();
      return temp !== undefined && fs.statSync(path.join(dataDir, 'blobs', temp)).size >= 512 * 1024;
    }, 'the save to be half-written');

    await crash();
    expect(tempFile()).toBeDefined();

    running = await startServer(env);
    expect(running.output()).toContain('removed temp files of unfinished writes');
    const afterCrash = await getJson<{ versions: Array<{ number: number }> }>(token, `/api/files/${id}/versions`);
    expect(afterCrash.versions.map((v) => v.number)).toEqual([1]);
    expect(sha256(await content(token, id))).toBe(sha256(original));
    expect(blobFiles()).toEqual(referencedBlobs());

    restarted();
    const outcome = (await saving)!;
    expect(outcome.attempts[0]!.error).toBeDefined();
    expect(outcome.attempts.at(-1)!.httpStatus).toBe(200);
    expect(outcome.success).toBe(true);
    const afterSave = await getJson<{ versions: Array<{ number: number; kind: string }> }>(token, `/api/files/${id}/versions`);
    expect(afterSave.versions.map((v) => [v.number, v.kind])).toEqual([
      [2, 'edit'],
      [1, 'upload'],
    ]);
    expect(sha256(await content(token, id))).toBe(sha256(edited));
    expect(blobFiles()).toEqual(referencedBlobs());
  });

  it('the start-up check reports blobs without rows and rows without blobs', async () => {
    const token = await apiToken();
    await upload(token, 'Kept.txt', Buffer.from('kept'));
    const lostId = await upload(token, 'Lost.txt', Buffer.from('lost'));
    expect((await getJson<{ versions: unknown[] }>(token, `/api/files/${lostId}/versions`)).versions).toHaveLength(1);
    await crash();

    const [lostBlob] = referencedBlobs().filter((file) => fs.readFileSync(path.join(dataDir, 'blobs', file), 'utf8') === 'lost');
    fs.rmSync(path.join(dataDir, 'blobs', lostBlob!));
    const strayId = 'zzStrayBlobWithoutRow0';
    fs.mkdirSync(path.join(dataDir, 'blobs', 'zz'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'blobs', 'zz', strayId), 'nobody refers to me');

    running = await startServer(env);
    const lines = running.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; blobs?: string[] });
    expect(lines.find((line) => line.msg.includes('no version refers to'))?.blobs).toEqual([strayId]);
    expect(lines.find((line) => line.msg.includes('missing from disk'))?.blobs).toEqual([path.basename(lostBlob!)]);
    // Reported, not "repaired": nothing is deleted on a guess, and the server keeps serving.
    expect(fs.existsSync(path.join(dataDir, 'blobs', 'zz', strayId))).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
