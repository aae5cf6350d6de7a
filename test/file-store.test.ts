import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../src/errors.js';
import { FileStore } from '../src/storage/file-store.js';

let root: string;
let store: FileStore;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-store-'));
  store = new FileStore(root);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const filesUnder = (dir: string) =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);

describe('FileStore', () => {
  it('keeps staged bytes in a temp file until commit, then at the blob path', async () => {
    const staged = await store.stage(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(staged.size).toBe(11);
    expect(staged.sha256).toBe('b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
    expect(filesUnder(root)).toEqual([`${staged.blobId}.tmp`]);
    expect(store.has(staged.blobId)).toBe(false);
    staged.commit();
    expect(filesUnder(root)).toEqual([staged.blobId]);
    expect(fs.readFileSync(store.pathOf(staged.blobId), 'utf8')).toBe('hello world');
  });

  it('removes the temp file when the content is over the limit or the source fails', async () => {
    await expect(store.stage(Readable.from([Buffer.alloc(10)]), { maxBytes: 5 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(store.stage(failing)).rejects.toThrow('connection reset');
    expect(filesUnder(root)).toEqual([]);
  });

  it('discard() drops staged bytes', async () => {
    const staged = await store.stageBuffer(Buffer.from('x'));
    staged.discard();
    expect(filesUnder(root)).toEqual([]);
  });

  it('refuses blob ids that could escape the root', () => {
    expect(() => store.pathOf('../../etc/passwd')).toThrow('not a blob id');
  });

  it('recovers after a crash: finishes committed writes, drops uncommitted ones, reports the rest', async () => {
    const committedButNotRenamed = await store.stageBuffer(Buffer.from('committed'));
    const neverCommitted = await store.stageBuffer(Buffer.from('abandoned'));
    const orphan = await store.stageBuffer(Buffer.from('orphan'));
    orphan.commit();
    const report = store.recover([committedButNotRenamed.blobId, 'AAAAAAAAAAAAAAAAAAAAAA']);
    expect(report.completed).toEqual([committedButNotRenamed.blobId]);
    expect(report.removedTemps).toEqual([`${neverCommitted.blobId}.tmp`]);
    expect(report.unreferencedBlobs).toEqual([orphan.blobId]);
    expect(report.missingBlobs).toEqual(['AAAAAAAAAAAAAAAAAAAAAA']);
    expect(fs.readFileSync(store.pathOf(committedButNotRenamed.blobId), 'utf8')).toBe('committed');
    expect(filesUnder(root).sort()).toEqual([committedButNotRenamed.blobId, orphan.blobId].sort());
  });
});
