import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runServerToExit, startServer, type ServerProcess } from './helpers/server-process.js';

let dataDir: string;
let running: ServerProcess | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function freshDataDir(): string {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-server-'));
  return dataDir;
}

describe('the server process', () => {
  it('starts on an empty data directory, creates the first admin from ADMIN_*, answers /healthz, and stops cleanly on SIGTERM', async () => {
    const dir = freshDataDir();
    running = await startServer({ DATA_DIR: dir, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'first admin pw' });
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const token = await fetch(`${running.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'first admin pw' }),
    });
    expect(token.status).toBe(201);
    const { user } = (await token.json()) as { user: { role: string } };
    expect(user.role).toBe('admin');
    expect(fs.existsSync(path.join(dir, 'dms.sqlite'))).toBe(true);
    expect(fs.statSync(path.join(dir, 'session-secret')).mode & 0o777).toBe(0o600);

    // Signed links are capabilities: the log names the route but not the reference.
    await fetch(`${running.url}/download?ref=capability-value.signature`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running.output()).toContain('/download?ref=[redacted]');
    expect(running.output()).not.toContain('capability-value');

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('stopped');
  });

  it('keeps sessions and API tokens across a restart', async () => {
    const dir = freshDataDir();
    running = await startServer({ DATA_DIR: dir, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'first admin pw' });
    const issued = await fetch(`${running.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'first admin pw' }),
    });
    const { token } = (await issued.json()) as { token: string };
    running.child.kill('SIGTERM');
    await running.exited;

    running = await startServer({ DATA_DIR: dir });
    const listing = await fetch(`${running.url}/api/files`, { headers: { Authorization: `Bearer ${token}` } });
    expect(listing.status).toBe(200);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PUBLIC_URL: 'localhost:3000' }, 'PUBLIC_URL'],
    [{ MAX_UPLOAD_MB: 'lots' }, 'MAX_UPLOAD_MB'],
  ])('refuses to start with %j and prints one line naming %s', async (env, variable) => {
    const { code, output } = await runServerToExit({ DATA_DIR: freshDataDir(), ...env });
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Configuration error: ${variable} `));
  });

  it('removes temp files of writes interrupted by a crash when it starts', async () => {
    const dir = freshDataDir();
    const shard = path.join(dir, 'blobs', 'ab');
    fs.mkdirSync(shard, { recursive: true });
    fs.writeFileSync(path.join(shard, 'abcdefghijklmnopqrstuv.tmp'), 'half a file');
    running = await startServer({ DATA_DIR: dir });
    expect(fs.readdirSync(shard)).toEqual([]);
    expect(running.output()).toContain('removed temp files of unfinished writes');
  });
});
