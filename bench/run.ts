/**
 * `npm run bench`: every benchmark, each figure beside its baseline from the same run, printed as one
 * table with the machine's description. Large files are generated into a temporary directory and
 * removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchCallbacks } from './callbacks.js';
import { benchFileList } from './file-list.js';
import { benchTransfers, type TransferResults } from './transfer.js';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const ms = (value: number) => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
const rate = (elapsedMs: number) => `${(200 / (elapsedMs / 1000)).toFixed(0)} MiB/s`;

interface Row {
  name: string;
  figure: string;
  baseline: string;
  ratio: string;
  memory: string;
  goal: string;
  met: boolean;
}

// `npm run bench -- callbacks` (or transfers, file-list) runs only those.
const only = process.argv[2];
const wanted = (name: string) => only === undefined || only === name;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-bench-'));
const rows: Row[] = [];
try {
  if (wanted('transfers') || wanted('callbacks')) await runServerBenchmarks();
  if (wanted('file-list')) await runFileList();
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}

async function runServerBenchmarks(): Promise<void> {
  const transfers = await benchTransfers(workDir, wanted('transfers'));
  if (wanted('transfers')) addTransferRows(transfers);
  if (wanted('callbacks')) {
    const callbacks = await benchCallbacks(transfers.app, transfers.token, 'bench-shared-secret');
    rows.push({
      name: 'status-1 callbacks, 32 connections',
      figure: `${callbacks.perSecond.toFixed(0)}/s, p99 ${ms(callbacks.p99)}`,
      baseline: `p50 ${ms(callbacks.p50)}`,
      ratio: '',
      memory: '',
      goal: '≥ 3,000/s, p99 < 50 ms',
      met: callbacks.perSecond >= 3000 && callbacks.p99 < 50,
    });
  }
  await transfers.app.stop();
  await transfers.ds.close();
}

function addTransferRows({ download, save, upload }: TransferResults): void {
  const downloadRatio = download.baselineMs / download.appMs;
  rows.push({
    name: '/download 200 MiB, DS JWT',
    figure: rate(download.appMs),
    baseline: `${rate(download.baselineMs)} bare pipe`,
    ratio: `${downloadRatio.toFixed(2)}× throughput`,
    memory: mib(download.memoryGrowth),
    goal: '≥ 0.8×, < 64 MiB',
    met: downloadRatio >= 0.8 && download.memoryGrowth < 64 * MiB,
  });
  const saveRatio = save.appMs / save.baselineMs;
  rows.push({
    name: 'status-2 save 200 MiB',
    figure: ms(save.appMs),
    baseline: `${ms(save.baselineMs)} bare client`,
    ratio: `${saveRatio.toFixed(2)}× time`,
    memory: mib(save.memoryGrowth),
    goal: '≤ 1.25×, < 64 MiB',
    met: saveRatio <= 1.25 && save.memoryGrowth < 64 * MiB,
  });
  const uploadRatio = upload.baselineMs / upload.appMs;
  rows.push({
    name: 'upload 200 MiB via API',
    figure: rate(upload.appMs),
    baseline: `${rate(upload.baselineMs)} bare write`,
    ratio: `${uploadRatio.toFixed(2)}× throughput`,
    memory: mib(upload.memoryGrowth),
    goal: '≥ 0.7×, < 64 MiB',
    met: uploadRatio >= 0.7 && upload.memoryGrowth < 64 * MiB,
  });

}

async function runFileList(): Promise<void> {
  const [small, large] = (await benchFileList()) as [Awaited<ReturnType<typeof benchFileList>>[0], Awaited<ReturnType<typeof benchFileList>>[0]];
  for (const kind of ['api', 'page'] as const) {
    const ratio = large[kind].median / small[kind].median;
    rows.push({
      name: `file list ${kind === 'api' ? 'API' : 'page'}, 50 rows, 100,000 files`,
      figure: `median ${ms(large[kind].median)}, p95 ${ms(large[kind].p95)}`,
      baseline: `median ${ms(small[kind].median)} at 1,000`,
      ratio: `${ratio.toFixed(2)}× (100k / 1k)`,
      memory: '',
      goal: '< 25 ms, ratio < 2',
      met: large[kind].median < 25 && ratio < 2,
    });
  }
}

const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
console.log(`\n${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}\n`);
const header = ['benchmark', 'this app', 'baseline (same run)', 'ratio', 'server memory growth', 'goal', 'met'];
const table = rows.map((row) => [row.name, row.figure, row.baseline, row.ratio, row.memory, row.goal, row.met ? 'yes' : 'NO']);
const widths = header.map((title, i) => Math.max(title.length, ...table.map((cells) => cells[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
for (const cells of table) console.log(line(cells));
