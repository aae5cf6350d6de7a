import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CacheFault } from './helpers/document-server.js';
import { currentContent, listVersions, openInEditor, useEditingEnvironment } from './helpers/editing-environment.js';

// Faults while the connector fetches a saved file from the Document Server (protocol §1.4, §9): the
// stored file never changes, no temp file stays behind, and the answer makes the DS retry exactly
// when a retry can help (HTTP 5xx); otherwise the DS keeps the file in its "forgotten" store.

const maxSaveBytes = 64 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const env = useEditingEnvironment('save-faults-shared-secret', { callbackLimits: { fetchTimeoutMs: 500, maxSaveBytes } });

/** A file open in the editor that Alice changed; `save()` ends the session (status 2). */
async function editedSession(newContent: Buffer) {
  const { id, session } = await openInEditor(env, 'Plan.docx');
  session.edit(env.alice.user.id, newContent);
  return { id, session, save: async () => (await session.disconnect(env.alice.user.id))! };
}

/** What must not change: the version list, the current bytes and every file in the blob store. */
async function snapshot(id: string) {
  return { versions: await listVersions(env, id), current: sha256(await currentContent(env, id)), blobs: env.t.listBlobFiles().sort() };
}

const edited = Buffer.alloc(40 * 1024, 'edited by alice ');

const persistentFaults: Array<{ name: string; fault?: CacheFault; content?: Buffer; answers: number[] }> = [
  { name: 'the DS file answers 500', fault: { kind: 'status', status: 500 }, answers: [503, 503, 503, 503] },
  { name: 'the connection is reset mid-body', fault: { kind: 'reset', afterBytes: 8 * 1024 }, answers: [503, 503, 503, 503] },
  { name: 'fewer bytes arrive than announced', fault: { kind: 'short', afterBytes: 8 * 1024 }, answers: [503, 503, 503, 503] },
  { name: 'the DS file stalls past the timeout', fault: { kind: 'stall', afterBytes: 8 * 1024 }, answers: [503, 503, 503, 503] },
  { name: 'the DS file redirects elsewhere', fault: { kind: 'redirect', location: 'http://127.0.0.1:9/elsewhere.docx' }, answers: [422] },
  { name: 'the saved file exceeds the size cap', content: Buffer.alloc(maxSaveBytes + 1, 'x'), answers: [422] },
];

describe('a save whose file cannot be fetched leaves the stored file as it was', () => {
  for (const { name, fault, content, answers } of persistentFaults) {
    it(`${name}: answers ${answers[0]} ${answers.length > 1 ? 'on every retry' : 'once, not retried'}, nothing stored`, async () => {
      const newContent = content ?? edited;
      const { id, session, save } = await editedSession(newContent);
      const before = await snapshot(id);
      if (fault) env.ds.injectCacheFault(fault);

      const outcome = await save();

      expect(outcome.attempts.map((attempt) => attempt.httpStatus)).toEqual(answers);
      expect(outcome.success).toBe(false);
      // The DS keeps the edited document, so the work is not lost even though the connector refused it.
      expect(outcome.forgotten).toBe(true);
      expect(sha256(env.ds.forgotten.get(session.key)!)).toBe(sha256(newContent));
      expect(await snapshot(id)).toEqual(before);
      expect(env.t.listBlobFiles().filter((file) => file.endsWith('.tmp'))).toEqual([]);
    });
  }
});

const transientFaults: Array<{ name: string; fault: CacheFault }> = [
  { name: 'a 500', fault: { kind: 'status', status: 500 } },
  { name: 'a reset connection', fault: { kind: 'reset', afterBytes: 8 * 1024 } },
  { name: 'a short body', fault: { kind: 'short', afterBytes: 8 * 1024 } },
  { name: 'a stall', fault: { kind: 'stall', afterBytes: 8 * 1024 } },
];

describe('a transient fault is overcome by the DS retry', () => {
  for (const { name, fault } of transientFaults) {
    it(`after ${name}, the retried save stores exactly one new version`, async () => {
      const { id, save } = await editedSession(edited);
      const before = await snapshot(id);
      env.ds.injectCacheFault(fault, 1);

      const outcome = await save();

      expect(outcome.attempts.map((attempt) => attempt.httpStatus)).toEqual([503, 200]);
      expect(outcome.success).toBe(true);
      const after = await snapshot(id);
      expect(after.versions.map((v) => v.number)).toEqual([2, 1]);
      expect(after.current).toBe(sha256(edited));
      // The document and its changes zip: two new blobs, no temp file of the failed attempt.
      expect(after.blobs).toHaveLength(before.blobs.length + 2);
      expect(after.blobs.filter((file) => file.endsWith('.tmp'))).toEqual([]);
    });
  }
});
