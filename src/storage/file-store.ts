import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newId } from '../ids.js';
import { PayloadTooLargeError } from '../errors.js';

/**
 * Bytes written to a temporary file beside their final place and flushed to disk, waiting for the
 * caller to commit its metadata: then `commit()` renames them into place, or `discard()` removes them.
 */
export interface StagedBlob {
  blobId: string;
  size: number;
  sha256: string;
  commit(): void;
  discard(): void;
}

export interface StageOptions {
  /** Refuse (PayloadTooLargeError) once more than this many bytes arrive. */
  maxBytes?: number;
  tooLargeMessage?: string;
}

/** What the start-up check found and did. */
export interface RecoveryReport {
  /** Temp files whose metadata had committed: renamed into place. */
  completed: string[];
  /** Temp files of writes that never committed: removed. */
  removedTemps: string[];
  /** Blobs on disk that no version refers to (left in place for an admin to inspect). */
  unreferencedBlobs: string[];
  /** Versions whose blob is missing from disk. */
  missingBlobs: string[];
}

const tempSuffix = '.tmp';
const blobIdPattern = /^[A-Za-z0-9_-]{22}$/;
/** How much a write to the store may buffer in memory. */
const stagingBufferBytes = 1024 * 1024;

/** Blobs on local disk under server-generated IDs: `<root>/<first two chars>/<id>`. */
export class FileStore {
  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  /** The path of a committed blob; the ID is checked so no caller can escape the root. */
  pathOf(blobId: string): string {
    if (!blobIdPattern.test(blobId)) throw new Error(`not a blob id: ${blobId}`);
    return path.join(this.root, blobId.slice(0, 2), blobId);
  }

  /** Streams `source` to a flushed temp file, hashing and counting on the way. */
  async stage(source: Readable, options: StageOptions = {}): Promise<StagedBlob> {
    const blobId = newId();
    const finalPath = this.pathOf(blobId);
    const tempPath = finalPath + tempSuffix;
    await fs.promises.mkdir(path.dirname(finalPath), { recursive: true });
    const hash = crypto.createHash('sha256');
    let size = 0;
    const meter = new Transform({
      highWaterMark: stagingBufferBytes,
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          callback(new PayloadTooLargeError(options.tooLargeMessage ?? 'The content is too large.'));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    // `flush` fsyncs the file before it is closed, so the bytes are on disk before any metadata.
    // A 1 MiB buffer lets the network keep flowing while the disk catches up, and lets queued chunks go
    // out in one writev instead of a write each (the default buffer is 16 KiB).
    const writer = fs.createWriteStream(tempPath, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: stagingBufferBytes });
    try {
      await pipeline(source, meter, writer);
    } catch (error) {
      // The pipeline rejects on the first error, which can come before the temp file is even opened:
      // removing it then would race the open and leave the file behind. Wait for the writer to close.
      if (!writer.closed) await new Promise<void>((resolve) => writer.once('close', () => resolve()));
      await fs.promises.rm(tempPath, { force: true });
      throw error;
    }
    const directory = path.dirname(finalPath);
    return {
      blobId,
      size,
      sha256: hash.digest('hex'),
      commit() {
        fs.renameSync(tempPath, finalPath);
        syncDirectory(directory);
      },
      discard() {
        fs.rmSync(tempPath, { force: true });
      },
    };
  }

  /** Stages bytes already in memory (small generated documents). */
  async stageBuffer(data: Buffer): Promise<StagedBlob> {
    return this.stage(Readable.from([data]));
  }

  /** Reads a committed blob, optionally a byte range (inclusive end). */
  createReadStream(blobId: string, range?: { start: number; end: number }): fs.ReadStream {
    return fs.createReadStream(this.pathOf(blobId), range);
  }

  has(blobId: string): boolean {
    return fs.existsSync(this.pathOf(blobId));
  }

  /** Removes a blob whose metadata is gone; a missing blob is not an error. */
  remove(blobId: string): void {
    fs.rmSync(this.pathOf(blobId), { force: true });
  }

  /** Whether the store's directory can be written and read back (for health checks). */
  async probe(): Promise<void> {
    const probePath = path.join(this.root, `.probe-${process.pid}`);
    await fs.promises.writeFile(probePath, 'ok');
    await fs.promises.rm(probePath, { force: true });
  }

  /**
   * Start-up consistency check: finishes commits interrupted between the metadata and the rename,
   * removes temp files of writes that never committed, and reports blobs without rows and rows
   * without blobs.
   */
  recover(referencedBlobIds: Iterable<string>): RecoveryReport {
    const referenced = new Set(referencedBlobIds);
    const report: RecoveryReport = {
      completed: [],
      removedTemps: [],
      unreferencedBlobs: [],
      missingBlobs: [],
    };
    const onDisk = new Set<string>();
    for (const shard of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue;
      const shardPath = path.join(this.root, shard.name);
      for (const entry of fs.readdirSync(shardPath)) {
        const entryPath = path.join(shardPath, entry);
        if (entry.endsWith(tempSuffix)) {
          const blobId = entry.slice(0, -tempSuffix.length);
          if (referenced.has(blobId) && !fs.existsSync(path.join(shardPath, blobId))) {
            fs.renameSync(entryPath, path.join(shardPath, blobId));
            report.completed.push(blobId);
            onDisk.add(blobId);
          } else {
            fs.rmSync(entryPath, { force: true });
            report.removedTemps.push(entry);
          }
        } else if (blobIdPattern.test(entry)) {
          onDisk.add(entry);
        }
      }
    }
    for (const blobId of onDisk) if (!referenced.has(blobId)) report.unreferencedBlobs.push(blobId);
    for (const blobId of referenced) if (!onDisk.has(blobId)) report.missingBlobs.push(blobId);
    return report;
  }
}

/** Flushes a directory entry change (a rename) to disk. */
function syncDirectory(directory: string): void {
  const fd = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
