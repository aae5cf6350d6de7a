/**
 * The 200 MiB transfers, each beside its bare Node baseline in the same run: `/download` with the
 * Document Server's JWT, a status-2 save fetched from the Document Server, and an upload through the API.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import jwt from 'jsonwebtoken';
import { DocumentServerStandIn, type PageConfig } from '../test/helpers/document-server.js';
import { startAppServer, startBareServer, withMemoryGrowth, type Child } from './support/processes.js';

const fileSize = 200 * 1024 * 1024;
const rounds = 3;
const secret = 'bench-shared-secret';

/** One measured figure: the app's and the baseline's medians, and the app server's largest RSS growth. */
export interface TransferFigure {
  appMs: number;
  baselineMs: number;
  memoryGrowth: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Writes `size` random bytes to `file` in 1 MiB chunks. */
function generateFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < size; written += 1024 * 1024) fs.writeSync(fd, crypto.randomBytes(1024 * 1024));
  fs.closeSync(fd);
}

/** A GET whose body is read and dropped; resolves with the milliseconds and the byte count. */
function timedGet(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ ms: performance.now() - started, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** POSTs a body streamed from `parts` (strings or a file path marker), resolving with milliseconds and the answer. */
async function timedPost(url: string, headers: Record<string, string>, length: number, body: () => AsyncIterable<Buffer | string>) {
  const started = performance.now();
  let answer = '';
  let status = 0;
  const request = http.request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(length) } });
  const response = new Promise<void>((resolve, reject) => {
    request.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      res.on('end', resolve);
    });
    request.on('error', reject);
  });
  await pipeline(body(), request);
  await response;
  if (status >= 300) throw new Error(`${url} answered ${status}: ${answer}`);
  return { ms: performance.now() - started, answer };
}

async function* fileWithin(prefix: string, file: string, suffix: string): AsyncIterable<Buffer | string> {
  yield prefix;
  yield* fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  yield suffix;
}

/** Uploads `file` to the app as multipart, returns the time and the new file's id. */
async function uploadToApp(app: Child, token: string, file: string): Promise<{ ms: number; id: string }> {
  const boundary = `bench${crypto.randomBytes(8).toString('hex')}`;
  const prefix = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.docx"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const suffix = `\r\n--${boundary}--\r\n`;
  const { ms, answer } = await timedPost(
    `${app.url}/api/files`,
    { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    Buffer.byteLength(prefix) + fs.statSync(file).size + Buffer.byteLength(suffix),
    () => fileWithin(prefix, file, suffix),
  );
  return { ms, id: (JSON.parse(answer) as { file: { id: string } }).file.id };
}

async function apiJson<T>(app: Child, token: string, route: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${app.url}${route}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
  if (!response.ok) throw new Error(`${route} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs the bare client child that streams `url` to `target`, returning the milliseconds it measured. */
async function bareClientMs(url: string, target: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/bare-client.ts', url, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the bare client failed (${code})`);
  return Number(output);
}

/** The three transfer figures. */
export interface TransferResults {
  download: TransferFigure;
  save: TransferFigure;
  upload: TransferFigure;
}

/**
 * Starts the app server (and the DS stand-in) and, when `measure`, runs the three transfer benchmarks;
 * `workDir` is a temporary directory the caller removes. The app stays up for the next benchmark.
 */
export async function benchTransfers(workDir: string, measure: boolean): Promise<TransferResults & { app: Child; ds: DocumentServerStandIn; token: string }> {
  const ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [] });
  const app = await startAppServer(path.join(workDir, 'app'), { DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret, MAX_UPLOAD_MB: '300' });
  const token = (await (await fetch(`${app.url}/api/auth/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench password' }) })).json()) as { token: string };
  const bearer = token.token;
  const none = { appMs: 0, baselineMs: 0, memoryGrowth: 0 };
  if (!measure) return { download: none, save: none, upload: none, app, ds, token: bearer };
  const source = path.join(workDir, 'source.bin');
  generateFile(source, fileSize);
  const bareDir = path.join(workDir, 'bare');
  fs.mkdirSync(bareDir);
  const bare = await startBareServer(source, bareDir);
  const pid = app.process.pid!;

  // Upload: the API (multipart, hashed, flushed, committed) against a bare streamed, flushed write.
  const upload = { app: [] as number[], bare: [] as number[], growth: 0 };
  let bigFileId = '';
  for (let round = 0; round < rounds; round += 1) {
    upload.bare.push((await timedPost(`${bare.url}/upload`, {}, fileSize, () => fileWithin('', source, ''))).ms);
    const measured = await withMemoryGrowth(pid, () => uploadToApp(app, bearer, source));
    upload.app.push(measured.result.ms);
    upload.growth = Math.max(upload.growth, measured.growth);
    bigFileId = measured.result.id;
    for (const name of fs.readdirSync(bareDir)) fs.rmSync(path.join(bareDir, name));
  }

  // Download: /download as the Document Server calls it (a JWT naming the URL) against a bare pipe.
  const { config } = await apiJson<{ config: PageConfig & { document: { url: string } } }>(app, bearer, `/api/files/${bigFileId}/editor-config`);
  const documentUrl = config.document.url;
  const download = { app: [] as number[], bare: [] as number[], growth: 0 };
  for (let round = 0; round < rounds; round += 1) {
    download.bare.push((await timedGet(`${bare.url}/file`)).ms);
    const dsToken = jwt.sign({ payload: { url: documentUrl } }, secret, { expiresIn: 300 });
    const measured = await withMemoryGrowth(pid, () => timedGet(documentUrl, { Authorization: `Bearer ${dsToken}` }));
    if (measured.result.bytes !== fileSize) throw new Error(`/download sent ${measured.result.bytes} bytes`);
    download.app.push(measured.result.ms);
    download.growth = Math.max(download.growth, measured.growth);
  }

  // Save: a status-2 callback whose 200 MiB result the app fetches from the DS, against a bare client.
  const big = fs.readFileSync(source);
  const sample = path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), 'test', 'fixtures', 'sample.docx');
  const save = { app: [] as number[], bare: [] as number[], growth: 0 };
  const me = await apiJson<{ user: { id: string } }>(app, bearer, '/api/account');
  for (let round = 0; round < rounds; round += 1) {
    // A fresh small file each round: the editor opens it (the DS refuses documents over 100 MiB).
    const small = await uploadToApp(app, bearer, sample);
    const editor = await apiJson<{ config: PageConfig & { document: { key: string }; editorConfig: { callbackUrl: string } } }>(app, bearer, `/api/files/${small.id}/editor-config`);
    const key = editor.config.document.key;
    await ds.openEditor(editor.config);
    const url = ds.putCacheFile(key, big, 'docx');
    save.bare.push(await bareClientMs(url, path.join(bareDir, 'saved.bin')));
    fs.rmSync(path.join(bareDir, 'saved.bin'));
    const fields = { key, status: 2, url, users: [me.user.id], actions: [{ type: 0, userid: me.user.id }], lastsave: new Date().toISOString(), notmodified: false, filetype: 'docx' };
    const measured = await withMemoryGrowth(pid, async () => {
      const started = performance.now();
      const outcome = await ds.sendCallback(editor.config.editorConfig.callbackUrl, fields);
      if (!outcome.success) throw new Error(`the save failed: ${JSON.stringify(outcome.attempts)}`);
      return performance.now() - started;
    });
    save.app.push(measured.result);
    save.growth = Math.max(save.growth, measured.growth);
  }
  await bare.stop();

  const figure = (m: { app: number[]; bare: number[]; growth: number }): TransferFigure => ({ appMs: median(m.app), baselineMs: median(m.bare), memoryGrowth: m.growth });
  return { download: figure(download), save: figure(save), upload: figure(upload), app, ds, token: bearer };
}
