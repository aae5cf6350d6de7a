import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CallbackFields } from './helpers/document-server.js';
import { listVersions, openInEditor, useEditingEnvironment } from './helpers/editing-environment.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const env = useEditingEnvironment('concurrency-shared-secret');
const openFile = (name: string) => openInEditor(env, name);
const versions = (id: string) => listVersions(env, id);

/** The fields the DS sends when it stores `bytes` (status 2 at the end of a session, 6 for a force save). */
function saveFields(key: string, status: 2 | 6, bytes: Buffer, lastsave: string): CallbackFields {
  return {
    key,
    status,
    url: env.ds.putCacheFile(key, bytes, 'docx'),
    users: [env.alice.user.id],
    actions: status === 2 ? [{ type: 0, userid: env.alice.user.id }] : undefined,
    lastsave,
    notmodified: status === 2 ? false : undefined,
    forcesavetype: status === 6 ? 0 : undefined,
    filetype: 'docx',
  };
}

describe('simultaneous callbacks for one file', () => {
  it('are applied one at a time: every force save becomes exactly one version, none lost, none doubled', async () => {
    const file = await openFile('Plan.docx');
    // Each cache file takes a moment to serve, so overlapping fetches would be seen.
    env.ds.cacheGate = () => new Promise((resolve) => setTimeout(resolve, 5));
    const saves = Array.from({ length: 6 }, (_, i) => ({
      bytes: Buffer.from(`checkpoint ${i}`),
      lastsave: new Date(Date.UTC(2026, 0, 1, 12, 0, i)).toISOString(),
    }));
    // Every save delivered twice, all at once (the DS redelivers; two nodes of a DS cluster may race).
    const deliveries = [...saves, ...saves].map(({ bytes, lastsave }) => env.ds.sendCallback(file.callbackUrl, saveFields(file.key, 6, bytes, lastsave)));

    const outcomes = await Promise.all(deliveries);

    expect(outcomes.every((outcome) => outcome.success)).toBe(true);
    expect(env.ds.cacheInFlight.max).toBe(1);
    const stored = await versions(file.id);
    expect(stored.map((v) => v.number)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const checkpoints = stored.filter((v) => v.kind === 'checkpoint').map((v) => v.sha256);
    expect(checkpoints.sort()).toEqual(saves.map(({ bytes }) => sha256(bytes)).sort());
  });

  it('the same final save delivered several times at once stores one version', async () => {
    const file = await openFile('Plan.docx');
    const bytes = Buffer.from('the one final save');
    const fields = saveFields(file.key, 2, bytes, new Date().toISOString());

    const outcomes = await Promise.all([1, 2, 3, 4].map(() => env.ds.sendCallback(file.callbackUrl, fields)));

    expect(outcomes.every((outcome) => outcome.success)).toBe(true);
    const stored = await versions(file.id);
    expect(stored.map((v) => [v.number, v.kind])).toEqual([
      [2, 'edit'],
      [1, 'upload'],
    ]);
    expect(stored[0]!.sha256).toBe(sha256(bytes));
  });
});

describe('saves to different files', () => {
  it('proceed in parallel: all their downloads are in flight at the same time', async () => {
    const files = await Promise.all(['A', 'B', 'C', 'D', 'E', 'F'].map((letter) => openFile(`${letter}.docx`)));
    // A barrier: no cache file is served until every save is fetching. Were saves of different files
    // queued behind one another, only one would arrive; the fallback release then lets the test fail
    // on the count below instead of hanging.
    const waiting: Array<() => void> = [];
    const releaseAll = () => waiting.splice(0).forEach((release) => release());
    const fallback = setTimeout(releaseAll, 10_000);
    env.ds.cacheGate = () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === files.length) releaseAll();
      });

    const outcomes = await Promise.all(
      files.map((file, i) => env.ds.sendCallback(file.callbackUrl, saveFields(file.key, 2, Buffer.from(`saved ${i}`), new Date().toISOString()))),
    );
    clearTimeout(fallback);

    expect(env.ds.cacheInFlight.max).toBe(files.length);
    expect(outcomes.every((outcome) => outcome.success)).toBe(true);
    for (const [i, file] of files.entries()) {
      const stored = await versions(file.id);
      expect(stored.map((v) => v.number)).toEqual([2, 1]);
      expect(stored[0]!.sha256).toBe(sha256(Buffer.from(`saved ${i}`)));
    }
  });
});
