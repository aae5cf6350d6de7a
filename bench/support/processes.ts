/**
 * Child processes for the benchmarks: the real server (`src/server.ts`) and bare Node baselines, each
 * in its own process so its memory can be sampled from outside while the benchmark drives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/server-process.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A running child process with its base URL. */
export interface Child {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

// Whatever happens to the benchmark, its children go with it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});


async function waitForPort(url: string, child: ChildProcess): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${url} did not start`);
}

/** `PROFILE=<dir> npm run bench` writes a CPU profile of each child there (it is then stopped with SIGTERM). */
function profileFlags(): string[] {
  return process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : [];
}

/** Runs a TypeScript file with `node --import tsx` (one process, so its pid is the one to sample). */
async function startScript(script: string, args: string[], env: Record<string, string>, port: number): Promise<Child> {
  const child = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', script, ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    // Logs go nowhere, as in production to a log shipper; they are still formatted and written.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  await waitForPort(`${url}/healthz`, child);
  return {
    process: child,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(process.env.PROFILE ? 'SIGTERM' : 'SIGKILL');
      await exited;
    },
  };
}

/** The real server on a fresh data directory, with an admin "bench" and the given environment. */
export async function startAppServer(dataDir: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  return startScript(
    'src/server.ts',
    [],
    {
      DATA_DIR: dataDir,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ADMIN_USERNAME: 'bench',
      ADMIN_PASSWORD: 'bench password',
      LOG_LEVEL: 'info',
      ...env,
    },
    port,
  );
}

/** A bare Node server (bench/support/bare-server.ts) serving `file` and writing uploads into `dir`. */
export async function startBareServer(file: string, dir: string): Promise<Child> {
  const port = await freePort();
  return startScript('bench/support/bare-server.ts', [String(port), file, dir], {}, port);
}

/** The resident set size of a process in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * Runs `work` while sampling a process's RSS every 10 ms; returns the work's result and how far the
 * RSS rose above its level just before.
 */
export async function withMemoryGrowth<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = residentBytes(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, residentBytes(pid));
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, residentBytes(pid));
    return { result, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}
