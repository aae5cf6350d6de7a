import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DocumentServerError,
  DocumentServerStandIn,
  type CallbackFields,
  type PageConfig,
  type StandInOptions,
} from './helpers/document-server.js';

const SECRET = 'stand-in-test-secret';
const DOCUMENT = Buffer.from('PK\u0003\u0004 original document bytes');

/** A request the local "connector" received. */
interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

interface Reply {
  status?: number;
  body?: string | Buffer;
  contentType?: string;
}

/** A small local receiver standing in for the connector: serves document downloads and answers callbacks. */
interface Receiver {
  url: string;
  requests: Received[];
  reply: (request: Received) => Reply;
  callbacks: () => Array<Received & { json: Record<string, unknown> }>;
  downloads: () => Received[];
  close: () => Promise<void>;
}

const defaultReply = (request: Received): Reply =>
  request.method === 'GET' ? { body: DOCUMENT, contentType: 'application/octet-stream' } : { body: '{"error":0}' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startReceiver(reply: (request: Received) => Reply = defaultReply): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    requests: [],
    reply,
    callbacks: () =>
      receiver.requests
        .filter((r) => r.method === 'POST')
        .map((r) => ({ ...r, json: JSON.parse(r.body) as Record<string, unknown> })),
    downloads: () => receiver.requests.filter((r) => r.method === 'GET'),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      receiver.requests.push(request);
      const out = receiver.reply(request);
      res.writeHead(out.status ?? 200, { 'Content-Type': out.contentType ?? 'application/json' });
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(receiver.close);
  return receiver;
}

async function startStandIn(options: StandInOptions = {}): Promise<DocumentServerStandIn> {
  const standIn = await DocumentServerStandIn.start({
    retryDelaysMs: [20, 40, 80],
    downloadRetryDelayMs: 10,
    ...options,
  });
  cleanups.push(() => standIn.close());
  return standIn;
}

function sign(claims: Record<string, unknown>, secret = SECRET, options: jwt.SignOptions = {}): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', ...options });
}

function verify(token: string): Record<string, unknown> {
  return jwt.verify(token, SECRET, { algorithms: ['HS256'] }) as Record<string, unknown>;
}

function bearer(value: string | string[] | undefined): string {
  expect(typeof value).toBe('string');
  expect(value as string).toMatch(/^Bearer /);
  return (value as string).slice('Bearer '.length);
}

/** The page config a connector would render, signed as `{document, documentType, editorConfig}`. */
function pageConfig(
  receiver: Receiver,
  options: { key?: string; user?: { id: string; name: string }; callbackUrl?: string; signed?: boolean } = {},
): PageConfig {
  const body = {
    document: {
      fileType: 'docx',
      key: options.key ?? 'f42-v7',
      title: 'Report.docx',
      url: `${receiver.url}/dl/42?v=7`,
      permissions: { edit: true, download: true },
    },
    documentType: 'word',
    editorConfig: {
      mode: 'edit',
      callbackUrl: options.callbackUrl ?? `${receiver.url}/track?file=42&sig=abc`,
      user: options.user ?? { id: 'u1', name: 'Ada' },
      lang: 'en',
    },
  };
  return options.signed === false ? body : { ...body, token: sign(body) };
}

/** The DocumentServerError a promise rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<DocumentServerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DocumentServerError);
    return error as DocumentServerError;
  }
  throw new Error('expected a rejection');
}

/** The DS error code a promise rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<number | string> {
  return (await errorOf(promise)).code;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await post(url, body, headers);
  expect(res.status).toBe(200);
  expect(res.contentType).toMatch(/^application\/json/);
  return JSON.parse(res.text) as Record<string, unknown>;
}

function withoutToken(body: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, ...rest } = body;
  return rest;
}

describe('callbacks: wire format and tokens', () => {
  it('sends status 1 and status 2 in wire order, with a flat body token and a {payload} header token', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await standIn.openEditor(pageConfig(receiver));

    const joined = await session.connect({ id: 'u1', name: 'Ada' });
    expect(joined?.success).toBe(true);
    session.edit('u1', Buffer.from('edited by Ada'));
    const saved = await session.disconnect('u1');
    expect(saved?.success).toBe(true);
    expect(saved?.forgotten).toBe(false);

    const [status1, status2] = receiver.callbacks();
    expect(receiver.callbacks()).toHaveLength(2);
    for (const callback of [status1!, status2!]) {
      expect(callback.url).toBe('/track?file=42&sig=abc');
      expect(callback.headers['content-type']).toBe('application/json');
      expect(callback.headers.accept).toBe('application/json, text/plain, */*');
      expect(callback.headers['user-agent']).toBe('Node.js/6.13');
      expect(callback.headers.connection).toBe('Keep-Alive');
    }

    expect(Object.keys(status1!.json)).toEqual(['key', 'status', 'users', 'actions', 'token']);
    expect(withoutToken(status1!.json)).toEqual({
      key: 'f42-v7',
      status: 1,
      users: ['u1'],
      actions: [{ type: 1, userid: 'u1' }],
    });

    const body = status2!.json;
    expect(Object.keys(body)).toEqual([
      'key',
      'status',
      'url',
      'changesurl',
      'history',
      'users',
      'actions',
      'lastsave',
      'notmodified',
      'token',
      'filetype',
    ]);
    expect(body).toMatchObject({
      key: 'f42-v7',
      status: 2,
      users: ['u1'],
      actions: [{ type: 0, userid: 'u1' }],
      notmodified: false,
      filetype: 'docx',
    });
    expect(new Date(body.lastsave as string).toISOString()).toBe(body.lastsave);
    const history = body.history as { serverVersion: string; changes: Array<{ created: string; user: unknown }> };
    expect(history.serverVersion).toBe('9.3.0');
    expect(history.changes).toHaveLength(1);
    expect(history.changes[0]!.user).toEqual({ id: 'u1', name: 'Ada' });
    expect(history.changes[0]!.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    // Body token: the flat fields (without token) plus iat and exp = iat + 300.
    const bodyClaims = verify(body.token as string);
    expect(bodyClaims).not.toHaveProperty('token');
    const { iat, exp, ...flat } = bodyClaims;
    expect(flat).toEqual(withoutToken(body));
    expect(exp).toBe((iat as number) + 300);
    expect(jwt.decode(body.token as string, { complete: true })?.header).toEqual({ alg: 'HS256', typ: 'JWT' });

    // Header token: the same fields wrapped in payload.
    const headerToken = bearer(status2!.headers.authorization);
    const headerClaims = verify(headerToken);
    expect(headerClaims.payload).toEqual(withoutToken(body));
    expect(headerClaims.exp).toBe((headerClaims.iat as number) + 300);
    expect(jwt.decode(headerToken, { complete: true })?.header).toEqual({ alg: 'HS256', typ: 'JWT' });

    // The links point at the stand-in's cache, need no JWT, and hold the edited file and a changes zip.
    expect(body.url as string).toMatch(
      new RegExp(
        `^${standIn.url}/cache/files/data/f42-v7_\\d+/output\\.docx/output\\.docx\\?md5=[\\w-]+&expires=\\d+&filename=output\\.docx$`,
      ),
    );
    const file = await fetch(body.url as string);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).toString()).toBe('edited by Ada');
    const changes = Buffer.from(await (await fetch(body.changesurl as string)).arrayBuffer());
    expect(changes.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    expect(changes.toString('latin1')).toContain('changes.json');

    // A saved key is in "UpdateVersion": reopening it is refused.
    expect(session.state).toBe('updateVersion');
    expect(await codeOf(standIn.openEditor(pageConfig(receiver)))).toBe('versionChanged');
  });

  it('uses a custom JWT header name for callbacks and downloads', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET, header: 'AuthorizationJwt' });
    const session = await standIn.openEditor(pageConfig(receiver));
    await session.connect({ id: 'u1' });

    const [download] = receiver.downloads();
    const [callback] = receiver.callbacks();
    for (const request of [download!, callback!]) {
      expect(request.headers.authorization).toBeUndefined();
      verify(bearer(request.headers.authorizationjwt));
    }
  });

  it('without JWT sends no tokens, and status 4 carries actions but no users', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn();
    const session = await standIn.openEditor(pageConfig(receiver, { signed: false }));
    expect(receiver.downloads()[0]!.headers.authorization).toBeUndefined();

    await session.connect({ id: 'u1' });
    const closed = await session.disconnect('u1');
    expect(closed?.status).toBe(4);

    const [status1, status4] = receiver.callbacks();
    expect(status1!.headers.authorization).toBeUndefined();
    expect(status1!.json).toEqual({ key: 'f42-v7', status: 1, users: ['u1'], actions: [{ type: 1, userid: 'u1' }] });
    expect(Object.keys(status4!.json)).toEqual(['key', 'status', 'actions']);
    expect(status4!.json).toEqual({ key: 'f42-v7', status: 4, actions: [{ type: 0, userid: 'u1' }] });
    expect(session.state).toBe('open');
  });

  it('shares one session between co-editors and reports joins and leaves with status 1', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const first = await standIn.openEditor(pageConfig(receiver));
    const second = await standIn.openEditor(pageConfig(receiver, { user: { id: 'u2', name: 'Bob' } }));
    expect(second).toBe(first);
    expect(receiver.downloads()).toHaveLength(1);

    await first.connect({ id: 'u1' });
    await first.connect({ id: 'u2' });
    expect(first.editors).toEqual(['u1', 'u2']);
    await first.disconnect('u2');
    const bodies = receiver.callbacks().map((c) => withoutToken(c.json));
    expect(bodies).toEqual([
      { key: 'f42-v7', status: 1, users: ['u1'], actions: [{ type: 1, userid: 'u1' }] },
      { key: 'f42-v7', status: 1, users: ['u1', 'u2'], actions: [{ type: 1, userid: 'u2' }] },
      { key: 'f42-v7', status: 1, users: ['u1'], actions: [{ type: 0, userid: 'u2' }] },
    ]);
    expect(first.callbacks.map((c) => c.status)).toEqual([1, 1, 1]);
  });

  it('sends status 6 for the Save button, refuses a second one without changes, then closes with notmodified', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await standIn.openEditor(pageConfig(receiver));
    await session.connect({ id: 'u1', name: 'Ada' });
    session.edit('u1', Buffer.from('v2'));

    const forced = await session.forceSave({ type: 1, userId: 'u1' });
    expect(forced.success).toBe(true);
    const status6 = receiver.callbacks().at(-1)!.json;
    expect(Object.keys(status6)).toEqual([
      'key',
      'status',
      'url',
      'changesurl',
      'history',
      'users',
      'actions',
      'lastsave',
      'forcesavetype',
      'token',
      'filetype',
    ]);
    expect(status6).toMatchObject({ status: 6, users: ['u1'], actions: [{ type: 2, userid: 'u1' }], forcesavetype: 1 });
    expect(status6).not.toHaveProperty('notmodified');

    expect(await codeOf(session.forceSave())).toBe(4);
    const closed = await session.disconnect('u1');
    expect(closed?.status).toBe(2);
    expect(closed?.body.notmodified).toBe(true);
  });

  it("answers each user's callbackUrl: joins/leaves and the Save button to the user's, status 2 to the last author's", async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await standIn.openEditor(pageConfig(receiver, { callbackUrl: `${receiver.url}/track?for=u1` }));
    await standIn.openEditor(
      pageConfig(receiver, { user: { id: 'u2', name: 'Bob' }, callbackUrl: `${receiver.url}/track?for=u2` }),
    );
    await session.connect({ id: 'u1' });
    await session.connect({ id: 'u2' });
    session.edit('u1', Buffer.from('by Ada'));
    await session.forceSave({ type: 1, userId: 'u2' });
    await session.disconnect('u2');
    await session.disconnect('u1');

    const sent = receiver.callbacks().map((c) => ({ url: c.url, status: c.json.status, users: c.json.users }));
    expect(sent).toEqual([
      { url: '/track?for=u1', status: 1, users: ['u1'] },
      { url: '/track?for=u2', status: 1, users: ['u1', 'u2'] },
      { url: '/track?for=u2', status: 6, users: ['u1'] },
      { url: '/track?for=u2', status: 1, users: ['u1'] },
      { url: '/track?for=u1', status: 2, users: ['u1'] },
    ]);
    expect(receiver.callbacks()[2]!.json.actions).toEqual([{ type: 2, userid: 'u2' }]);
  });
});

describe('callbacks: success test and retries', () => {
  const fields: CallbackFields = { key: 'k1', status: 1, users: ['u1'], actions: [{ type: 1, userid: 'u1' }] };

  it.each([
    { name: '200 {"error":0}', reply: { body: '{"error":0}' }, success: true },
    { name: '200 {"error":"0"}', reply: { body: '{"error":"0"}' }, success: true },
    { name: '204 empty', reply: { status: 204 }, success: false },
    { name: '200 "OK"', reply: { body: 'OK', contentType: 'text/plain' }, success: false },
    { name: '201 {"error":0}', reply: { status: 201, body: '{"error":0}' }, success: false },
    { name: '200 {"error":1}', reply: { body: '{"error":1}' }, success: false },
  ])('judges $name as success=$success, without retrying status 1', async ({ reply, success }) => {
    const receiver = await startReceiver(() => reply);
    const standIn = await startStandIn({ secret: SECRET });
    const outcome = await standIn.sendCallback(`${receiver.url}/track`, fields);
    expect(outcome.success).toBe(success);
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.forgotten).toBe(false);
  });

  it('retries status 2 on HTTP 500 after the configured delays with fresh tokens, then forgets it', async () => {
    const receiver = await startReceiver(() => ({ status: 500, body: 'boom' }));
    const standIn = await startStandIn({ secret: SECRET });
    const outcome = await standIn.sendCallback(`${receiver.url}/track`, { key: 'k2', status: 2, users: ['u1'] });

    expect(outcome.success).toBe(false);
    expect(outcome.forgotten).toBe(true);
    expect(outcome.attempts).toEqual(Array(4).fill({ httpStatus: 500, body: 'boom' }));
    const times = receiver.requests.map((r) => r.at);
    expect(times).toHaveLength(4);
    [20, 40, 80].forEach((delay, i) => expect(times[i + 1]! - times[i]!).toBeGreaterThanOrEqual(delay - 2));
    for (const request of receiver.requests) {
      const claims = verify(bearer(request.headers.authorization));
      expect(claims.payload).toEqual({ key: 'k2', status: 2, users: ['u1'] });
      expect(claims.exp).toBe((claims.iat as number) + 300);
    }
  });

  it('retries status 2 on 429/5xx until it succeeds', async () => {
    const answers: Reply[] = [{ status: 429 }, { status: 503 }, { body: '{"error":0}' }];
    const receiver = await startReceiver(() => answers.shift()!);
    const standIn = await startStandIn({ secret: SECRET });
    const outcome = await standIn.sendCallback(`${receiver.url}/track`, { key: 'k3', status: 2 });
    expect(outcome.success).toBe(true);
    expect(outcome.forgotten).toBe(false);
    expect(outcome.attempts.map((a) => a.httpStatus)).toEqual([429, 503, 200]);
  });

  it('retries status 3 on a refused connection', async () => {
    const receiver = await startReceiver();
    const deadUrl = `${receiver.url}/track`;
    await receiver.close();
    const standIn = await startStandIn();
    const outcome = await standIn.sendCallback(deadUrl, { key: 'k4', status: 3 });
    expect(outcome.attempts).toHaveLength(4);
    for (const attempt of outcome.attempts) expect(attempt.error).toMatch(/ECONNREFUSED/);
    expect(outcome.forgotten).toBe(true);
  });

  it('never retries status 1 or 6, nor status 2 on a 403', async () => {
    const receiver = await startReceiver((r) => (r.url === '/forbidden' ? { status: 403 } : { status: 500 }));
    const standIn = await startStandIn({ secret: SECRET });
    const status1 = await standIn.sendCallback(`${receiver.url}/track`, fields);
    const status6 = await standIn.sendCallback(`${receiver.url}/track`, { key: 'k5', status: 6, forcesavetype: 0 });
    const status2 = await standIn.sendCallback(`${receiver.url}/forbidden`, { key: 'k5', status: 2 });
    expect([status1, status6, status2].map((o) => o.attempts.length)).toEqual([1, 1, 1]);
    expect([status1.forgotten, status6.forgotten, status2.forgotten]).toEqual([false, false, true]);
    expect(receiver.requests).toHaveLength(3);
  });

  it('keeps a session whose final save failed in the forgotten store and reopens from it', async () => {
    const receiver = await startReceiver((r) => (r.method === 'GET' ? defaultReply(r) : { status: 502 }));
    const standIn = await startStandIn({ secret: SECRET });
    const session = await standIn.openEditor(pageConfig(receiver));
    await session.connect({ id: 'u1' });
    session.edit('u1', Buffer.from('unsaved work'));
    const outcome = await session.disconnect('u1');
    expect(outcome?.attempts).toHaveLength(4);
    expect(outcome?.forgotten).toBe(true);
    expect(session.state).toBe('forgotten');
    expect(standIn.forgotten.get('f42-v7')?.toString()).toBe('unsaved work');

    const reopened = await standIn.openEditor(pageConfig(receiver));
    expect(reopened).not.toBe(session);
    expect(reopened.content.toString()).toBe('unsaved work');
    expect(receiver.downloads()).toHaveLength(1);
  });
});

describe('callbacks: oversize Authorization header', () => {
  const bigHistory = {
    serverVersion: '9.3.0',
    changes: Array.from({ length: 120 }, (_, i) => ({ created: '2026-01-01 00:00:00', user: { id: `user-${i}` } })),
  };

  it('drops changesurl and empties history in the body and header token, but keeps the body token full', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const full = {
      key: 'big',
      status: 2,
      url: 'http://ds/cache/files/data/big_1/output.docx/output.docx',
      changesurl: 'http://ds/cache/files/data/big_2/output.zip/output.zip',
      history: bigHistory,
      users: ['u1'],
      filetype: 'docx',
    };
    await standIn.sendCallback(`${receiver.url}/track`, full);

    const [callback] = receiver.callbacks();
    const body = callback!.json;
    expect(Object.keys(body)).toEqual(['key', 'status', 'url', 'history', 'users', 'token', 'filetype']);
    expect(body.history).toEqual({});
    const { history: _h, changesurl: _c, ...rest } = full;
    expect(verify(bearer(callback!.headers.authorization)).payload).toEqual({ ...rest, history: {} });
    const { iat: _iat, exp: _exp, ...bodyClaims } = verify(body.token as string);
    expect(bodyClaims).toEqual({
      key: 'big',
      status: 2,
      url: full.url,
      changesurl: full.changesurl,
      history: bigHistory,
      users: ['u1'],
      filetype: 'docx',
    });
  });

  it('keeps small bodies intact and never reduces status 1', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    await standIn.sendCallback(`${receiver.url}/track`, {
      key: 's',
      status: 2,
      changesurl: 'http://x/c.zip',
      history: {},
    });
    const users = Array.from({ length: 200 }, (_, i) => `user-${String(i).padStart(40, '0')}`);
    await standIn.sendCallback(`${receiver.url}/track`, { key: 's', status: 1, users });

    const [small, status1] = receiver.callbacks();
    expect(small!.json.changesurl).toBe('http://x/c.zip');
    expect(bearer(status1!.headers.authorization).length).toBeGreaterThanOrEqual(7168);
    expect(Object.keys(status1!.json)).toEqual(['key', 'status', 'users', 'token']);
    expect(status1!.json.users).toEqual(users);
  });
});

describe('openEditor: the editor config token and the document download', () => {
  it('refuses tampered, malformed, mismatched and expired tokens with the DS close codes', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const page = pageConfig(receiver);
    const { token: _token, ...claims } = page;

    const [head, , signature] = page.token!.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...claims, editorConfig: { ...claims.editorConfig, mode: 'edit', user: { id: 'admin' } } }),
    );
    const cases: Array<[string, PageConfig, number]> = [
      ['no token', { ...page, token: undefined }, 4006],
      ['wrong secret', { ...page, token: sign(claims, 'other-secret') }, 4006],
      ['edited payload', { ...page, token: `${head}.${forged.toString('base64url')}.${signature}` }, 4006],
      ['top-level payload', { ...page, token: sign({ ...claims, payload: claims }) }, 4004],
      ['top-level url', { ...page, token: sign({ ...claims, url: page.document.url }) }, 4004],
      [
        'permissions of another JSON type',
        {
          ...page,
          token: sign({ ...claims, document: { ...claims.document, permissions: { edit: true, download: 'true' } } }),
        },
        4004,
      ],
      [
        'permissions with an extra key',
        {
          ...page,
          token: sign({
            ...claims,
            document: { ...claims.document, permissions: { edit: true, download: true, print: true } },
          }),
        },
        4004,
      ],
      [
        'permissions missing',
        { ...page, token: sign({ ...claims, document: { ...claims.document, permissions: undefined } }) },
        4006,
      ],
      [
        'mode missing',
        { ...page, token: sign({ ...claims, editorConfig: { ...claims.editorConfig, mode: undefined } }) },
        4006,
      ],
      [
        'callbackUrl missing',
        { ...page, token: sign({ ...claims, editorConfig: { ...claims.editorConfig, callbackUrl: undefined } }) },
        4006,
      ],
      ['expired', { ...page, token: sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 120 }) }, 4005],
    ];
    for (const [name, config, code] of cases) {
      expect({ name, code: await codeOf(standIn.openEditor(config)) }).toEqual({ name, code });
    }
    expect(receiver.downloads()).toHaveLength(0);

    // Within the 60 s clock tolerance, and with HS512, the token is accepted.
    await standIn.openEditor({
      ...page,
      token: sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 30 }, SECRET, { algorithm: 'HS512' }),
    });
    expect(receiver.downloads()).toHaveLength(1);
  });

  it('takes key, url, callbackUrl and user from the token, and lets the page only narrow the mode to view', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const signed = pageConfig(receiver);
    const page: PageConfig = {
      ...signed,
      document: { ...signed.document, key: 'tampered-key', url: `${receiver.url}/elsewhere` },
      editorConfig: {
        ...signed.editorConfig,
        mode: 'view',
        callbackUrl: `${receiver.url}/evil`,
        user: { id: 'mallory' },
      },
    };
    const session = await standIn.openEditor(page);
    expect(session.key).toBe('f42-v7');
    expect(standIn.opened[0]).toMatchObject({
      key: 'f42-v7',
      url: `${receiver.url}/dl/42?v=7`,
      callbackUrl: `${receiver.url}/track?file=42&sig=abc`,
      mode: 'view',
      user: { id: 'u1', name: 'Ada' },
      verified: true,
    });
    expect(receiver.downloads().map((r) => r.url)).toEqual(['/dl/42?v=7']);
    expect(await session.connect({ id: 'u1' })).toBeUndefined();
    expect(session.viewers).toEqual(['u1']);
    expect(receiver.callbacks()).toHaveLength(0);
  });

  it('downloads document.url with the {payload:{url}} JWT and the DS request headers', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await standIn.openEditor(pageConfig(receiver));
    expect(session.original).toEqual(DOCUMENT);

    const [download] = receiver.downloads();
    expect(download!.url).toBe('/dl/42?v=7');
    expect(download!.headers['user-agent']).toBe('Node.js/6.13');
    expect(download!.headers.connection).toBe('Keep-Alive');
    expect(download!.headers.accept).toBe('application/json, text/plain, */*');
    const claims = verify(bearer(download!.headers.authorization));
    expect(claims.payload).toEqual({ url: `${receiver.url}/dl/42?v=7` });
    expect(claims.exp).toBe((claims.iat as number) + 300);
  });

  it('tries a failing download three times, 200/206 only, then fails with -4 naming the status', async () => {
    const receiver = await startReceiver((r) =>
      r.method === 'GET' ? { status: 404, body: 'gone' } : { body: '{"error":0}' },
    );
    const standIn = await startStandIn({ secret: SECRET, downloadRetryDelayMs: 15 });
    const error = await errorOf(standIn.openEditor(pageConfig(receiver)));
    expect(error.code).toBe(-4);
    expect(error.message).toContain('404');
    const times = receiver.downloads().map((r) => r.at);
    expect(times).toHaveLength(3);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(28);
    expect(standIn.getSession('f42-v7')).toBeUndefined();
  });

  it('refuses a document above the size cap with -10 and no retry', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET, maxDownloadBytes: 10 });
    expect(await codeOf(standIn.openEditor(pageConfig(receiver)))).toBe(-10);
    expect(receiver.downloads()).toHaveLength(1);
  });
});

describe('command service', () => {
  async function editingSession(receiver: Receiver, standIn: DocumentServerStandIn) {
    const session = await standIn.openEditor(pageConfig(receiver));
    await session.connect({ id: 'u1', name: 'Ada' });
    return session;
  }

  it('answers version with a body or header token, and refuses missing, bad and expired tokens', async () => {
    const standIn = await startStandIn({ secret: SECRET });
    const command = `${standIn.url}/command`;
    expect(await postJson(command, { token: sign({ c: 'version' }) })).toEqual({ error: 0, version: '9.3.0.1' });
    expect(await postJson(command, {}, { Authorization: `Bearer ${sign({ payload: { c: 'version' } })}` })).toEqual({
      error: 0,
      version: '9.3.0.1',
    });
    expect(await postJson(`${standIn.url}/coauthoring/CommandService.ashx`, { token: sign({ c: 'version' }) })).toEqual(
      {
        error: 0,
        version: '9.3.0.1',
      },
    );
    // Only the token's claims count: the unsigned `c` and `key` are ignored.
    expect(await postJson(command, { c: 'drop', key: 'k', token: sign({ c: 'version' }) })).toEqual({
      error: 0,
      version: '9.3.0.1',
    });

    expect(await postJson(command, { c: 'version' })).toEqual({ error: 6 });
    expect(await postJson(command, { c: 'info', key: 'k', token: sign({ c: 'info', key: 'k' }, 'wrong') })).toEqual({
      key: 'k',
      error: 6,
    });
    const expired = sign({ c: 'version', exp: Math.floor(Date.now() / 1000) - 120 });
    expect(await postJson(command, { token: expired })).toEqual({ error: 7 });
    expect(standIn.commands.map((c) => c.answer.error)).toEqual([0, 0, 0, 0, 6, 6, 7]);
    expect(standIn.commands[0]!.claims).toMatchObject({ c: 'version' });
  });

  it('validates keys and commands', async () => {
    const standIn = await startStandIn({ secret: SECRET });
    const command = (claims: Record<string, unknown>) => postJson(`${standIn.url}/command`, { token: sign(claims) });
    expect(await command({ c: 'forcesave' })).toEqual({ error: 1 });
    expect(await command({ c: 'info', key: 42 })).toEqual({ key: 42, error: 1 });
    expect(await command({ c: 'forcesave', key: 'nobody-has-this' })).toEqual({ key: 'nobody-has-this', error: 1 });
    expect(await command({ c: 'meta', key: 'k' })).toEqual({ key: 'k', error: 5 });
    expect(await command({ c: 'reboot', key: 'k' })).toEqual({ key: 'k', error: 5 });
  });

  it('forcesave: 4 without changes, else 0 and a status-6 callback with forcesavetype 0 and the userdata', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await editingSession(receiver, standIn);
    const forcesave = () =>
      postJson(`${standIn.url}/command`, { token: sign({ c: 'forcesave', key: 'f42-v7', userdata: 'checkpoint-1' }) });

    expect(await forcesave()).toEqual({ key: 'f42-v7', error: 4 });
    session.edit('u1', Buffer.from('changed'));
    expect(await forcesave()).toEqual({ key: 'f42-v7', error: 0 });
    await standIn.settled();
    const status6 = receiver.callbacks().at(-1)!.json;
    expect(status6).toMatchObject({
      key: 'f42-v7',
      status: 6,
      forcesavetype: 0,
      userdata: 'checkpoint-1',
      users: ['u1'],
    });
    expect(status6).not.toHaveProperty('actions');
    expect(await forcesave()).toEqual({ key: 'f42-v7', error: 4 });
  });

  it('drop disconnects the listed users (array or JSON string) with the normal callbacks', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const session = await editingSession(receiver, standIn);
    await standIn.openEditor(pageConfig(receiver, { user: { id: 'u2', name: 'Bob' } }));
    await session.connect({ id: 'u2' });

    const answer = await postJson(`${standIn.url}/command`, {
      token: sign({ c: 'drop', key: 'f42-v7', users: '["u2"]' }),
    });
    expect(answer).toEqual({ key: 'f42-v7', error: 0 });
    await standIn.settled();
    expect(session.dropped).toEqual(['u2']);
    expect(session.editors).toEqual(['u1']);
    expect(withoutToken(receiver.callbacks().at(-1)!.json)).toEqual({
      key: 'f42-v7',
      status: 1,
      users: ['u1'],
      actions: [{ type: 0, userid: 'u2' }],
    });

    await postJson(`${standIn.url}/command`, { token: sign({ c: 'drop', key: 'f42-v7' }) });
    await standIn.settled();
    expect(session.dropped).toEqual(['u2', 'u1']);
    expect(receiver.callbacks().at(-1)!.json.status).toBe(4);
  });

  it('info answers 0 and then sends a status-1 callback with the current users and the userdata', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    await editingSession(receiver, standIn);
    const answer = await postJson(`${standIn.url}/command`, {
      token: sign({ c: 'info', key: 'f42-v7', userdata: 'ping-7' }),
    });
    expect(answer).toEqual({ key: 'f42-v7', error: 0 });
    await standIn.settled();
    expect(withoutToken(receiver.callbacks().at(-1)!.json)).toEqual({
      key: 'f42-v7',
      status: 1,
      users: ['u1'],
      userdata: 'ping-7',
    });
  });

  it('lets a test override an answer', async () => {
    const standIn = await startStandIn();
    standIn.onCommand = (claims) => (claims.c === 'forcesave' ? { key: claims.key, error: 3 } : undefined);
    expect(await postJson(`${standIn.url}/command`, { c: 'forcesave', key: 'k' })).toEqual({ key: 'k', error: 3 });
    expect(await postJson(`${standIn.url}/command`, { c: 'version' })).toEqual({ error: 0, version: '9.3.0.1' });
  });
});

describe('conversion service', () => {
  const request = (receiver: Receiver, extra: Record<string, unknown> = {}) => ({
    async: true,
    filetype: 'docx',
    key: 'f42-v7',
    outputtype: 'pdf',
    title: 'Report.docx',
    url: `${receiver.url}/dl/42?v=7`,
    ...extra,
  });

  it('answers in progress first, then the result on the next identical request, and caches it per key', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const converter = `${standIn.url}/converter`;
    const body = { token: sign(request(receiver)) };

    expect(await postJson(converter, body)).toEqual({ percent: 0, endConvert: false });
    const done = await postJson(converter, body);
    expect(done).toEqual({ fileUrl: expect.any(String), fileType: 'pdf', percent: 100, endConvert: true });
    expect(done.fileUrl as string).toMatch(
      new RegExp(`^${standIn.url}/cache/files/data/conv_f42-v7_pdf/output\\.pdf/Report\\.pdf\\?md5=`),
    );
    const file = Buffer.from(await (await fetch(done.fileUrl as string)).arrayBuffer());
    expect(file).toEqual(Buffer.concat([Buffer.from('CONVERTED:docx->pdf\n'), DOCUMENT]));

    const [download] = receiver.downloads();
    expect(verify(bearer(download!.headers.authorization)).payload).toEqual({ url: `${receiver.url}/dl/42?v=7` });

    // Same key, another url: the earlier result, no new download.
    const again = await postJson(converter, {
      token: sign(request(receiver, { async: false, url: `${receiver.url}/other` })),
    });
    expect(again.fileUrl).toBe(done.fileUrl);
    expect(receiver.downloads()).toHaveLength(1);

    // Same key, the source type as output: the same bytes.
    const same = await postJson(converter, { token: sign(request(receiver, { async: false, outputtype: 'docx' })) });
    expect(same.fileType).toBe('docx');
    expect(Buffer.from(await (await fetch(same.fileUrl as string)).arrayBuffer())).toEqual(DOCUMENT);
    expect(standIn.conversions).toHaveLength(4);
  });

  it('refuses bad tokens, keys and types, and reports download failures and injected errors', async () => {
    const receiver = await startReceiver((r) => (r.url === '/missing' ? { status: 404 } : defaultReply(r)));
    const standIn = await startStandIn({ secret: SECRET, downloadAttempts: 1 });
    const converter = `${standIn.url}/converter`;
    const convert = (extra: Record<string, unknown>) =>
      postJson(converter, { token: sign(request(receiver, { async: false, ...extra })) });

    expect(await postJson(converter, request(receiver))).toEqual({ error: -8 });
    expect(await convert({ key: 'bad key/1' })).toEqual({ error: -7 });
    expect(await convert({ filetype: 'do-cx' })).toEqual({ error: -7 });
    expect(await convert({ outputtype: 'exe' })).toEqual({ error: -7 });
    expect(await convert({ key: 'gone', url: `${receiver.url}/missing` })).toEqual({ error: -4 });
    standIn.conversionError = -3;
    expect(await convert({ key: 'broken' })).toEqual({ error: -3 });
  });

  it('keeps a finished job\'s error under its key, but lets a job that needed a password run again with one', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET });
    const converter = `${standIn.url}/converter`;
    const convert = (extra: Record<string, unknown>) =>
      postJson(converter, { token: sign(request(receiver, { async: false, ...extra })) });

    standIn.protectInput(DOCUMENT, 'pw');
    expect(await convert({ key: 'locked' })).toEqual({ error: -5 });
    expect(await convert({ key: 'locked', password: 'wrong' })).toEqual({ error: -5 });
    expect(await convert({ key: 'locked', password: 'pw' })).toMatchObject({ fileType: 'pdf', endConvert: true });
    // The finished job answers only a request with the same password.
    expect(await convert({ key: 'locked' })).toEqual({ error: -5 });
    standIn.protectedInputs.clear();

    // Without a type the content decides; bytes nothing recognises give -9, and the key keeps that answer.
    expect(await convert({ key: 'untyped', filetype: undefined })).toEqual({ error: -9 });
    expect(await convert({ key: 'untyped', filetype: 'docx' })).toEqual({ error: -9 });
    expect(await convert({ key: 'typed', filetype: 'docx' })).toMatchObject({ fileType: 'pdf' });
  });

  it('leaves a stalled async job at 0 % for as long as it stalls', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn({ secret: SECRET, conversionPolls: 1 });
    standIn.conversionStalls = true;
    const body = { token: sign(request(receiver)) };
    for (let i = 0; i < 3; i++) expect(await postJson(`${standIn.url}/converter`, body)).toEqual({ percent: 0, endConvert: false });
    standIn.conversionStalls = false;
    expect(await postJson(`${standIn.url}/converter`, body)).toMatchObject({ endConvert: true });
  });

  it('answers XML on the legacy route unless JSON is accepted', async () => {
    const receiver = await startReceiver();
    const standIn = await startStandIn();
    const legacy = `${standIn.url}/ConvertService.ashx`;
    const xml = await post(legacy, request(receiver));
    expect(xml.contentType).toMatch(/xml/);
    expect(xml.text).toContain(
      '<FileResult><FileUrl></FileUrl><FileType></FileType><Percent>0</Percent><EndConvert>False</EndConvert></FileResult>',
    );
    const json = await postJson(legacy, request(receiver), { Accept: 'application/json' });
    expect(json).toMatchObject({ fileType: 'pdf', percent: 100, endConvert: true });
    const error = await post(legacy, request(receiver, { outputtype: 'exe' }));
    expect(error.text).toContain('<FileResult><Error>-7</Error></FileResult>');
  });
});

describe('cache links and healthcheck', () => {
  it('serves cache files by signed link until they expire, and honours cacheFault', async () => {
    const standIn = await startStandIn();
    const link = standIn.putCacheFile('doc-1', Buffer.from('cached'), 'docx');
    expect(link).toMatch(
      /\/cache\/files\/data\/doc-1_\d+\/output\.docx\/output\.docx\?md5=[\w-]+&expires=\d+&filename=output\.docx$/,
    );
    const expires = Number(new URL(link).searchParams.get('expires'));
    expect(expires - Date.now() / 1000).toBeGreaterThan(890);

    const ok = await fetch(link);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''output.docx");
    expect(await ok.text()).toBe('cached');
    expect((await fetch(link.replace(/md5=[\w-]+/, 'md5=forged'))).status).toBe(403);
    expect((await fetch(`${standIn.url}/cache/files/data/nope_1/output.docx/output.docx`)).status).toBe(404);

    standIn.cacheFault = (req, res) => {
      if (!req.url?.includes('doc-1')) return false;
      res.writeHead(503).end();
      return true;
    };
    expect((await fetch(link)).status).toBe(503);
    standIn.cacheFault = undefined;
    standIn.expireCacheFiles();
    expect((await fetch(link)).status).toBe(404);
  });

  it('answers the healthcheck as text', async () => {
    const standIn = await startStandIn();
    const res = await fetch(`${standIn.url}/healthcheck`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('true');
    standIn.healthcheck = 'false';
    expect(await (await fetch(`${standIn.url}/healthcheck`)).text()).toBe('false');
  });
});
