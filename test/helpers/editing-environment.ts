import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type { AppDeps } from '../../src/app.js';
import { DocumentServerStandIn, type EditorSession, type PageConfig } from './document-server.js';
import { binary, createServedTestApp, fixture, type BrowserSession, type ServedTestApp } from './test-app.js';

/** What each test of an editing suite gets: the DS stand-in, the served app that trusts it, and Alice. */
export interface EditingEnvironment {
  ds: DocumentServerStandIn;
  t: ServedTestApp;
  alice: BrowserSession;
}

/** A file open in the editor with Alice connected. */
export interface OpenFile {
  id: string;
  key: string;
  callbackUrl: string;
  session: EditorSession;
}

/**
 * Registers hooks that give every test a fresh stand-in (short retry delays) and app sharing `secret`
 * (with `options.env` added to its environment), and returns the object they fill in. With
 * `sharedByAllTests` the suite shares one of each instead.
 */
export function useEditingEnvironment(
  secret: string,
  options: Partial<Pick<AppDeps, 'callbackLimits'>> & { env?: Record<string, string>; sharedByAllTests?: boolean } = {},
): EditingEnvironment {
  const env = {} as EditingEnvironment;
  const [before, after] = options.sharedByAllTests ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    env.ds = await DocumentServerStandIn.start({ secret, retryDelaysMs: [20, 40, 80] });
    env.t = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: env.ds.url, JWT_SECRET: secret, ...options.env }), {
      callbackLimits: options.callbackLimits,
    });
    env.alice = await env.t.signedInUser('alice');
  });
  after(async () => {
    await env.ds.close();
    await env.t.close();
  });
  return env;
}

/** Uploads a file as Alice and opens it in the editor with her connected. */
export async function openInEditor(env: EditingEnvironment, name: string, bytes = fixture('sample.docx')): Promise<OpenFile> {
  const { t, alice, ds } = env;
  const upload = await t.request.post('/api/files').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).attach('file', bytes, name);
  expect(upload.status).toBe(201);
  const id = upload.body.file.id as string;
  const config = (await t.request.get(`/api/files/${id}/editor-config`).set('Cookie', alice.cookie)).body.config as PageConfig & {
    document: { key: string };
    editorConfig: { callbackUrl: string };
  };
  const session = await ds.openEditor(config);
  await session.connect({ id: alice.user.id, name: 'Alice' });
  return { id, key: config.document.key, callbackUrl: config.editorConfig.callbackUrl, session };
}

/** A file's versions as the API lists them, newest first. */
export async function listVersions(env: EditingEnvironment, id: string): Promise<Array<{ number: number; kind: string; sha256: string }>> {
  return (await env.t.request.get(`/api/files/${id}/versions`).set('Cookie', env.alice.cookie)).body.versions;
}

/** A file's current bytes. */
export async function currentContent(env: EditingEnvironment, id: string): Promise<Buffer> {
  return (await env.t.request.get(`/api/files/${id}/content`).set('Cookie', env.alice.cookie).buffer(true).parse(binary)).body as Buffer;
}
