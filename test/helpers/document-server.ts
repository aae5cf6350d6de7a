/**
 * A stand-in for ONLYOFFICE Docs (the "Document Server", DS) for the test suite.
 *
 * It is a real HTTP server on 127.0.0.1 that behaves like the DS on the wire, so the connector's tests exercise
 * the real protocol:
 * - callbacks ("track" requests) with the DS's field order, its body and header JWTs, its oversize-header rule,
 *   its success test and its retry policy for statuses 2 and 3;
 * - the editor-config token check the DS does when an editor opens, and the GET of `document.url`;
 * - the command service (`/command`, legacy `/coauthoring/CommandService.ashx`);
 * - the conversion service (`/converter`, legacy `/ConvertService.ashx`), with results (and errors) cached per key
 *   and output type, async progress, password-protected inputs (-5), format detection when no type is given (-9),
 *   injected error codes and jobs that never finish;
 * - the cache links (`/cache/files/data/...`) that callbacks and conversions point at, and `/healthcheck`;
 * - for browser tests, `api.js` (see `stand-in-editor-page.ts`): pages that load it open the document in the
 *   stand-in and join its session as the real editor would.
 *
 * Timings that the DS takes minutes for (save delay, link lifetime, "version changed" window) are options.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { zipSync } from 'fflate';
import jwt from 'jsonwebtoken';
import { editorApiScript, editorFrameHtml, type PageEditor, type PageEditorCall } from './stand-in-editor-page.js';

type Json = Record<string, unknown>;

/** Options of a stand-in; every timing has the DS's default. */
export interface StandInOptions {
  /** JWT secret used for inbox and outbox; undefined = JWT disabled (no tokens sent, none required). */
  secret?: string;
  /** JWT header name, default 'Authorization' (value prefix 'Bearer '). */
  header?: string;
  /** Delays before the callback retries for statuses 2/3, default [1000, 2000, 4000]. */
  retryDelaysMs?: number[];
  /** Timeout of one callback request, default 10 minutes. */
  callbackTimeoutMs?: number;
  /** Timeout of one `document.url` download attempt, default 2 minutes. */
  downloadTimeoutMs?: number;
  /** Download attempts, default 3; none after a timeout or the size cap. */
  downloadAttempts?: number;
  /** Delay between download attempts, default 1000 ms. */
  downloadRetryDelayMs?: number;
  /** Download size cap, default 100 MiB. */
  maxDownloadBytes?: number;
  /** Answered by the 'version' command, default '9.3.0.1'. */
  version?: string;
  /** Delay between the last editor leaving and the status-2 callback, default 0 (the DS waits 5000 ms). */
  saveDelayMs?: number;
  /** How long after a successful status 2 reopening the key is refused as "version changed", default 5 minutes. */
  updateVersionMs?: number;
  /** Lifetime of cache links, default 900 s. */
  cacheLinkLifetimeS?: number;
  /** Async conversions: the request number (per key and output type) that gets the result, default 2. */
  conversionPolls?: number;
  /**
   * `assemblyFormatAsOrigin` (default true): saves come back in the original format when the DS can write it.
   * False makes every save of a non-OOXML file come back as OOXML (docx/xlsx/pptx), with `filetype` saying so.
   */
  assemblyFormatAsOrigin?: boolean;
}

/** The object a page hands `new DocsAPI.DocEditor(id, config)`. */
export interface PageConfig {
  document: {
    fileType?: string;
    key?: string;
    title?: string;
    url?: string;
    permissions?: Record<string, unknown>;
    info?: Record<string, unknown>;
    referenceData?: Record<string, unknown>;
  };
  documentType?: string;
  editorConfig?: {
    mode?: string;
    callbackUrl?: string;
    user?: { id?: string | number; name?: string; group?: string; image?: string };
    lang?: string;
    region?: string;
    customization?: Record<string, unknown>;
    coEditing?: Record<string, unknown>;
    embedded?: Record<string, unknown>;
    createUrl?: string;
  };
  type?: string;
  width?: string;
  height?: string;
  events?: Record<string, unknown>;
  token?: string;
}

/** What the DS took from a page config (and its token) when an editor opened. */
export interface ResolvedEditorConfig {
  key: string;
  url: string;
  fileType: string;
  title: string;
  documentType: string | undefined;
  callbackUrl: string | undefined;
  mode: 'edit' | 'view';
  user: { id: string; name?: string } | undefined;
  lang: string | undefined;
  /** True when the config token was verified with the secret. */
  verified: boolean;
}

/** One entry of a callback's `actions`: type 0 out, 1 in, 2 Save button. */
export interface CallbackAction {
  type: number;
  userid: string;
}

/** One entry of `history.changes`. */
export interface HistoryChange {
  created: string;
  user: { id: string; name?: string };
}

/** The fields of a callback body (without `token`); undefined ones are omitted on the wire. */
export interface CallbackFields {
  key: string;
  status: number;
  url?: string;
  changesurl?: string;
  history?: unknown;
  users?: string[];
  actions?: CallbackAction[];
  mailMerge?: unknown;
  userdata?: string;
  lastsave?: string;
  notmodified?: boolean;
  forcesavetype?: number;
  encrypted?: boolean;
  filetype?: string;
  formsdataurl?: string;
}

/** One HTTP attempt of a callback. */
export interface CallbackAttempt {
  httpStatus?: number;
  body?: string;
  error?: string;
}

/** How a callback went, judged as the DS judges it. */
export interface CallbackOutcome {
  status: number;
  /** HTTP 200/204 and a JSON object body whose `error` loosely equals 0. */
  success: boolean;
  attempts: CallbackAttempt[];
  /** A status-2/3 callback that finally failed: the DS keeps the file in its "forgotten" store. */
  forgotten: boolean;
  /** The JSON body of the last attempt, as sent (with `token` when JWT is on). */
  body: Json;
}

/** A /command request as the DS saw it. */
export interface CommandRecord {
  path: string;
  claims: Json;
  answer: Json;
}

/** A /converter request as the DS saw it. */
export interface ConversionRecord {
  path: string;
  claims: Json;
  answer: unknown;
}

/**
 * A broken answer to a cache-file GET, as the DS (or the network between) can give one:
 * - `status`: an HTTP error status and no body;
 * - `reset`: the headers and the first `afterBytes` of the body, then a TCP reset;
 * - `short`: announces the full length, sends `afterBytes`, then closes the connection cleanly;
 * - `stall`: sends the headers and `afterBytes`, then nothing more until the client gives up;
 * - `redirect`: a 302 to `location`.
 */
export type CacheFault =
  | { kind: 'status'; status: number }
  | { kind: 'reset' | 'short' | 'stall'; afterBytes: number }
  | { kind: 'redirect'; location: string };

/** Where a session is: editing, or ended by a saved status 2, a failed status 2/3 ("forgotten"), or a status 3. */
export type SessionState = 'open' | 'updateVersion' | 'forgotten' | 'closed';

/** An error with the code the DS would report: 4004/4005/4006 (editor token), -4/-10 (download), or a string. */
export class DocumentServerError extends Error {
  /** Creates an error with a reason code. */
  constructor(
    readonly code: number | string,
    message: string,
  ) {
    super(message);
    this.name = 'DocumentServerError';
  }
}

const USER_AGENT = 'Node.js/6.13';
const ACCEPT = 'application/json, text/plain, */*';
const BEARER = 'Bearer ';
const OUTBOX_EXPIRES_S = 300;
const CLOCK_TOLERANCE_S = 60;
const MAX_AUTHORIZATION_LENGTH = 7 * 1024;
const INBOX_ALGORITHMS: jwt.Algorithm[] = ['HS256', 'HS384', 'HS512'];
const KEY_PATTERN = /^[0-9a-zA-Z\-._=]*$/;
const FIELDS_BEFORE_TOKEN = [
  'key',
  'status',
  'url',
  'changesurl',
  'history',
  'users',
  'actions',
  'mailMerge',
  'userdata',
  'lastsave',
  'notmodified',
  'forcesavetype',
  'encrypted',
] as const;
const FIELDS_AFTER_TOKEN = ['filetype', 'formsdataurl'] as const;
const COMMANDS_WITHOUT_KEY = ['version', 'license', 'getForgottenList'];
const DOCUMENT_TYPES = ['word', 'cell', 'slide', 'pdf', 'diagram', 'text', 'spreadsheet', 'presentation', 'text-pdf'];

interface Family {
  edit: string[];
  lossy: string[];
  view: string[];
  ooxml: string;
  odf: string;
}
const FAMILIES: Record<string, Family> = {
  word: {
    edit: ['docx', 'docm', 'dotx', 'dotm'],
    lossy: ['epub', 'fb2', 'html', 'odt', 'ott', 'rtf', 'txt'],
    view: [
      'doc',
      'dot',
      'fodt',
      'hml',
      'htm',
      'hwp',
      'hwpx',
      'md',
      'mht',
      'mhtml',
      'pages',
      'stw',
      'sxw',
      'wps',
      'wpt',
    ],
    ooxml: 'docx',
    odf: 'odt',
  },
  cell: {
    edit: ['xlsx', 'xlsm', 'xlsb', 'xltx', 'xltm'],
    lossy: ['csv', 'tsv', 'ods', 'ots'],
    view: ['xls', 'xlt', 'et', 'ett', 'fods', 'numbers', 'sxc'],
    ooxml: 'xlsx',
    odf: 'ods',
  },
  slide: {
    edit: ['pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm'],
    lossy: ['odp', 'otp'],
    view: ['ppt', 'pps', 'pot', 'dps', 'dpt', 'fodp', 'key', 'odg', 'sxi'],
    ooxml: 'pptx',
    odf: 'odp',
  },
  pdf: { edit: ['pdf'], lossy: [], view: ['djvu', 'oxps', 'xps', 'docxf', 'oform'], ooxml: 'pdf', odf: 'pdf' },
  diagram: { edit: [], lossy: [], view: ['vsdx', 'vsdm', 'vssx', 'vssm', 'vstx', 'vstm'], ooxml: 'vsdx', odf: 'vsdx' },
};
const KNOWN_FILE_TYPES = new Set([
  ...Object.values(FAMILIES).flatMap((f) => [...f.edit, ...f.lossy, ...f.view]),
  'xml',
  'gdoc',
  'gsheet',
  'gslides',
]);
const OUTPUT_TYPES = new Set(
  (
    'docx docm dotx dotm odt ott rtf txt html epub fb2 md docxf oform xlsx xlsm xltx xltm ods ots csv ' +
    'pptx pptm ppsx potx potm odp otp pdf pdfa png jpg bmp gif ooxml odf'
  ).split(' '),
);
const CONTENT_TYPES: Record<string, string> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  pdf: 'application/pdf',
  zip: 'application/zip',
  json: 'application/json',
  txt: 'text/plain',
  png: 'image/png',
  jpg: 'image/jpeg',
};

/** The family (word/cell/slide/pdf/diagram) of a file type, if known. */
function familyOf(fileType: string): Family | undefined {
  return Object.values(FAMILIES).find((f) => [...f.edit, ...f.lossy, ...f.view].includes(fileType));
}

/** The format the DS assembles a saved file in (the original one when it can write it, else OOXML). */
function savedFileType(fileType: string, asOrigin = true): string {
  const family = familyOf(fileType);
  if (!family || family.edit.includes(fileType) || (asOrigin && family.lossy.includes(fileType))) return fileType;
  return family.ooxml;
}

/** What the converter's content detection (x2t) makes of bytes that came without a usable type, if anything. */
function detectFileType(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, 8).toString('latin1');
  if (head.startsWith('%PDF-')) return 'pdf';
  if (head.startsWith('{\\rtf')) return 'rtf';
  return undefined;
}

/** The concrete output type of a conversion request (resolves the `ooxml`/`odf` families). */
function concreteOutputType(outputType: string, fileType: string): string {
  if (outputType === 'ooxml') return familyOf(fileType)?.ooxml ?? 'docx';
  if (outputType === 'odf') return familyOf(fileType)?.odf ?? 'odt';
  if (outputType === 'pdfa') return 'pdf';
  return outputType;
}

/** True for a plain (non-array) object. */
function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string, or undefined. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The value as it would arrive after a JSON round trip (what api.js posts to the editor frame). */
function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** The extension of a file name or URL path, lower-cased. */
function extensionOf(name: string | undefined): string | undefined {
  if (!name) return undefined;
  let path = name;
  try {
    path = new URL(name).pathname;
  } catch {
    // a plain file name
  }
  const match = /\.([a-zA-Z0-9]+)$/.exec(path);
  return match?.[1]?.toLowerCase();
}

/** 'YYYY-MM-DD HH:MM:SS' in UTC, the format of `history.changes[].created`. */
function historyTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

/** Seconds since the epoch. */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Percent-encodes a path segment but keeps the document-key alphabet readable. */
function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3D/g, '=');
}

/** XML-escapes text. */
function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A ZIP archive holding one stored (uncompressed) file, with a fixed date so it is deterministic. */
function storedZip(name: string, data: Buffer): Buffer {
  return Buffer.from(zipSync({ [name]: [new Uint8Array(data), { level: 0, mtime: new Date(2000, 0, 1) }] }));
}

/** The callback fields in wire order without `token`, undefined ones omitted (unknown extra fields go last). */
function orderedFields(fields: CallbackFields): Json {
  const source = fields as unknown as Json;
  const known: readonly string[] = [...FIELDS_BEFORE_TOKEN, ...FIELDS_AFTER_TOKEN];
  const out: Json = {};
  for (const name of FIELDS_BEFORE_TOKEN) if (source[name] !== undefined) out[name] = source[name];
  for (const name of Object.keys(source)) {
    if (!known.includes(name) && name !== 'token' && source[name] !== undefined) out[name] = source[name];
  }
  for (const name of FIELDS_AFTER_TOKEN) if (source[name] !== undefined) out[name] = source[name];
  return out;
}

/** The visible body: the fields with `token` inserted before `filetype`/`formsdataurl`. */
function withToken(fields: Json, token: string | undefined): Json {
  const after: readonly string[] = FIELDS_AFTER_TOKEN;
  const out: Json = {};
  for (const [name, value] of Object.entries(fields)) if (!after.includes(name)) out[name] = value;
  if (token !== undefined) out.token = token;
  for (const name of after) if (fields[name] !== undefined) out[name] = fields[name];
  return out;
}

/** The DS's success test of a callback answer: HTTP 200/204 and a JSON object whose `error` loosely equals 0. */
function isSuccessfulAnswer(httpStatus: number, body: string): boolean {
  if (httpStatus !== 200 && httpStatus !== 204) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  // Loose equality on purpose: the DS accepts {"error":"0"}.
  return isObject(parsed) && parsed.error == 0;
}

/** Merges inbox token claims the way the DS does: flat claims, plus those wrapped in `payload` or `query`. */
function mergeClaims(decoded: Json): Json {
  const { payload, query, ...flat } = decoded;
  return { ...flat, ...(isObject(payload) ? payload : {}), ...(isObject(query) ? query : {}) };
}

/** Why an outgoing request failed without an HTTP answer. */
class RequestFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'timeout' | 'tooBig' | 'aborted',
  ) {
    super(message);
  }
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request with a whole-request timeout, an optional size cap and an abort signal; no redirects. */
function httpRequest(
  target: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: Buffer;
    timeoutMs: number;
    maxBytes?: number;
    signal: AbortSignal;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      reject(new RequestFailure(`invalid URL ${target}`, 'network'));
      return;
    }
    const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!transport) {
      reject(new RequestFailure(`unsupported protocol ${url.protocol}`, 'network'));
      return;
    }
    if (init.signal.aborted) {
      reject(new RequestFailure('stand-in closed', 'aborted'));
      return;
    }
    const headers = { ...init.headers };
    if (init.body) headers['Content-Length'] = String(init.body.length);
    const req = transport.request(url, { method: init.method, headers, agent: false });
    let done = false;
    const finish = (error: RequestFailure | undefined, response?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      init.signal.removeEventListener('abort', onAbort);
      if (error) {
        reject(error);
        req.destroy();
      } else resolve(response!);
    };
    const onAbort = () => finish(new RequestFailure('stand-in closed', 'aborted'));
    init.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(new RequestFailure(`timeout after ${init.timeoutMs} ms`, 'timeout')),
      init.timeoutMs,
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish(new RequestFailure(error.code ? `${error.code}: ${error.message}` : error.message, 'network')),
    );
    req.on('response', (res) => {
      const tooBig = () => new RequestFailure(`response larger than ${init.maxBytes} bytes`, 'tooBig');
      const declared = Number(res.headers['content-length']);
      if (init.maxBytes !== undefined && Number.isFinite(declared) && declared > init.maxBytes) {
        finish(tooBig());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (init.maxBytes !== undefined && size > init.maxBytes) finish(tooBig());
        else chunks.push(chunk);
      });
      res.on('end', () =>
        finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', (error) => finish(new RequestFailure(error.message, 'network')));
      res.on('aborted', () => finish(new RequestFailure('response aborted', 'network')));
    });
    req.end(init.body);
  });
}

/** Reads a request body (capped at 64 MiB). */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024 * 1024) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** What a session needs from its stand-in. */
interface SessionHost {
  serverVersion: string;
  saveDelayMs: number;
  assemblyFormatAsOrigin: boolean;
  send(callbackUrl: string, fields: CallbackFields): Promise<CallbackOutcome>;
  cacheUrl(key: string, bytes: Buffer, ext: string): string;
  sleep(ms: number): Promise<void>;
  forget(key: string, content: Buffer): void;
}

interface SessionUser {
  name?: string;
  callbackUrl?: string;
  mode?: 'edit' | 'view';
}

interface Change extends HistoryChange {
  at: Date;
}

/** One co-editing session of a document key, shared by all its editors and viewers. */
export class EditorSession {
  /** The document key. */
  readonly key: string;
  /** The file type the document was opened with. */
  readonly fileType: string;
  /** The title the document was opened with. */
  readonly title: string;
  /** The bytes downloaded from document.url (or the DS's cached copy of them). */
  readonly original: Buffer;
  /** User ids currently connected as editors, in connection order. */
  readonly editors: string[] = [];
  /** User ids currently connected as viewers. */
  readonly viewers: string[] = [];
  /** Every callback this session sent, in order of completion. */
  readonly callbacks: CallbackOutcome[] = [];
  /** User ids the `drop` command asked to disconnect. */
  readonly dropped: string[] = [];
  /** The last `meta` the `meta` command set. */
  meta: unknown = undefined;

  #host: SessionHost;
  #state: SessionState = 'open';
  #endedAt = 0;
  #content: Buffer;
  #changes: Change[] = [];
  #savedCount = 0;
  #lastEditor: string | undefined;
  #lastLeaver: string | undefined;
  #users = new Map<string, SessionUser>();
  #firstCallbackUrl: string | undefined;
  #lastCallbackUrl: string | undefined;
  #savedReport: string | undefined;

  /** Created by the stand-in when an editor opens an unknown key. */
  constructor(
    host: SessionHost,
    init: { key: string; fileType: string; title: string; original: Buffer; content?: Buffer },
  ) {
    this.#host = host;
    this.key = init.key;
    this.fileType = init.fileType;
    this.title = init.title;
    this.original = init.original;
    this.#content = init.content ?? init.original;
  }

  /** The callbackUrl of the first editor config opened for this session. */
  get callbackUrl(): string | undefined {
    return this.#firstCallbackUrl;
  }

  /** Where the session is. */
  get state(): SessionState {
    return this.#state;
  }

  /** When the session ended (ms since the epoch), 0 while open. */
  get endedAt(): number {
    return this.#endedAt;
  }

  /** The current document content (the original plus the latest change). */
  get content(): Buffer {
    return this.#content;
  }

  /** The changes made in this session, as `history.changes` lists them. */
  get changes(): HistoryChange[] {
    return this.#changes.map(({ created, user }) => ({ created, user }));
  }

  /** True when there are changes no successful save (status 6) has stored yet. */
  get modified(): boolean {
    return this.#changes.length > this.#savedCount;
  }

  /** Registers a user who opened the editor (their callbackUrl and mode); called by the stand-in. */
  register(config: ResolvedEditorConfig): void {
    if (config.callbackUrl !== undefined) {
      this.#firstCallbackUrl ??= config.callbackUrl;
      this.#lastCallbackUrl = config.callbackUrl;
    }
    if (config.user) {
      this.#users.set(config.user.id, { name: config.user.name, callbackUrl: config.callbackUrl, mode: config.mode });
    }
  }

  /** Records a `saved` command's status for the status-2 callback in flight; called by the stand-in. */
  reportSaved(status: string): void {
    this.#savedReport = status;
  }

  /** Connects a user: editors trigger a status-1 callback (users, actions [{type:1}]); viewers send nothing. */
  async connect(
    user: { id: string; name?: string },
    options: { mode?: 'edit' | 'view' } = {},
  ): Promise<CallbackOutcome | undefined> {
    this.#assertOpen();
    const id = String(user.id);
    const registered = this.#users.get(id);
    if (options.mode === 'edit' && registered?.mode === 'view') {
      throw new Error(`user ${id} opened ${this.key} in view mode and cannot edit`);
    }
    if (this.editors.includes(id) || this.viewers.includes(id)) throw new Error(`user ${id} is already connected`);
    const mode = options.mode ?? registered?.mode ?? 'edit';
    this.#users.set(id, { ...registered, name: user.name ?? registered?.name, mode });
    if (mode === 'view') {
      this.viewers.push(id);
      return undefined;
    }
    this.editors.push(id);
    return this.#notify(this.#callbackUrlOf(id), {
      key: this.key,
      status: 1,
      users: [...this.editors],
      actions: [{ type: 1, userid: id }],
    });
  }

  /** A change by a connected editor: the content becomes `newContent`, and a history entry is recorded. */
  edit(userId: string, newContent: Buffer): void {
    this.#assertOpen();
    if (!this.editors.includes(userId)) throw new Error(`user ${userId} is not editing ${this.key}`);
    const at = new Date();
    const name = this.#users.get(userId)?.name;
    this.#changes.push({
      at,
      created: historyTime(at),
      user: name === undefined ? { id: userId } : { id: userId, name },
    });
    this.#content = newContent;
    this.#lastEditor = userId;
  }

  /**
   * A force save: status 6 with the current content, forcesavetype `type` (0 command, 1 Save button, 2 timer,
   * 3 form submit) and userdata. Throws code 4 when nothing changed since the last successful save.
   */
  async forceSave(
    options: { type?: 0 | 1 | 2 | 3; userId?: string; userdata?: string } = {},
  ): Promise<CallbackOutcome> {
    this.#assertOpen();
    if (!this.modified) throw new DocumentServerError(4, `${this.key}: not modified since the last save`);
    const type = options.type ?? 0;
    const count = this.#changes.length;
    const author = this.#lastEditor!;
    const actor = options.userId ?? author;
    // The Save button and a form submit answer to the clicking user's callbackUrl, the others to the last author's.
    const callbackUrl = this.#callbackUrlOf(type === 1 || type === 3 ? actor : author);
    if (callbackUrl === undefined) throw new Error(`${this.key}: no callbackUrl to send the force save to`);
    const formsData = Buffer.from(JSON.stringify({ key: this.key, submittedBy: actor }));
    const outcome = await this.#notify(callbackUrl, {
      key: this.key,
      status: 6,
      ...this.#fileFields(),
      users: [author],
      actions: type === 1 ? [{ type: 2, userid: actor }] : undefined,
      userdata: options.userdata,
      lastsave: this.#lastSave(),
      forcesavetype: type,
      formsdataurl: type === 3 ? this.#host.cacheUrl(this.key, formsData, 'json') : undefined,
    });
    if (outcome!.success) this.#savedCount = Math.max(this.#savedCount, count);
    return outcome!;
  }

  /**
   * Disconnects a user. While other editors remain: status 1 with actions [{type:0}]. When the last editor leaves:
   * status 4 if there never were changes, else status 2 (notmodified when a force save already stored everything).
   */
  async disconnect(userId: string): Promise<CallbackOutcome | undefined> {
    const viewer = this.viewers.indexOf(userId);
    if (viewer >= 0) {
      this.viewers.splice(viewer, 1);
      return undefined;
    }
    const index = this.editors.indexOf(userId);
    if (index < 0) throw new Error(`user ${userId} is not connected to ${this.key}`);
    this.editors.splice(index, 1);
    if (this.editors.length > 0) {
      return this.#notify(this.#callbackUrlOf(userId), {
        key: this.key,
        status: 1,
        users: [...this.editors],
        actions: [{ type: 0, userid: userId }],
      });
    }
    this.#lastLeaver = userId;
    if (this.#changes.length === 0) {
      return this.#notify(this.#callbackUrlOf(userId), {
        key: this.key,
        status: 4,
        actions: [{ type: 0, userid: userId }],
      });
    }
    if (this.#host.saveDelayMs > 0) await this.#host.sleep(this.#host.saveDelayMs);
    const author = this.#lastEditor!;
    return this.#finish(this.#callbackUrlOf(author), {
      key: this.key,
      status: 2,
      ...this.#fileFields(),
      users: [author],
      actions: [{ type: 0, userid: userId }],
      lastsave: this.#lastSave(),
      notmodified: !this.modified,
    });
  }

  /** A failed assembly: status 3 (with url, changesurl, history, filetype only when `withFile`, the "corrupted" case). */
  async failSave(options: { withFile?: boolean } = {}): Promise<CallbackOutcome> {
    this.#assertOpen();
    const leaver = this.#lastLeaver ?? this.editors.at(-1) ?? this.#lastEditor;
    const author = this.#lastEditor ?? leaver;
    this.editors.length = 0;
    this.viewers.length = 0;
    const callbackUrl = this.#callbackUrlOf(author);
    if (callbackUrl === undefined) throw new Error(`${this.key}: no callbackUrl to send the status 3 to`);
    const outcome = await this.#finish(callbackUrl, {
      key: this.key,
      status: 3,
      ...(options.withFile ? this.#fileFields() : {}),
      users: author === undefined ? undefined : [author],
      actions: leaver === undefined ? undefined : [{ type: 0, userid: leaver }],
      lastsave: this.#lastSave(),
      notmodified: !this.modified,
    });
    return outcome!;
  }

  /** The `info` command's callback: status 1 with the current editors, or 4 when nobody is in and nothing changed. */
  async sendInfo(callbackUrl: string | undefined, userdata: string | undefined): Promise<CallbackOutcome | undefined> {
    const idle = this.editors.length === 0 && (this.#changes.length === 0 || this.#state !== 'open');
    const url = callbackUrl ?? this.#lastCallbackUrl;
    if (idle) return this.#notify(url, { key: this.key, status: 4, userdata });
    return this.#notify(url, { key: this.key, status: 1, users: [...this.editors], userdata });
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new Error(`the session of ${this.key} has ended (${this.#state})`);
  }

  #callbackUrlOf(userId: string | undefined): string | undefined {
    return (userId === undefined ? undefined : this.#users.get(userId)?.callbackUrl) ?? this.#lastCallbackUrl;
  }

  #lastSave(): string | undefined {
    return this.#changes.at(-1)?.at.toISOString();
  }

  #fileFields(): Pick<CallbackFields, 'url' | 'changesurl' | 'history' | 'filetype'> {
    const filetype = savedFileType(this.fileType, this.#host.assemblyFormatAsOrigin);
    const changes = this.#changes.map((change, i) => ({
      change: `change ${i + 1}`,
      user: change.user.id,
      useridoriginal: change.user.id,
    }));
    return {
      url: this.#host.cacheUrl(this.key, this.#content, filetype),
      changesurl: this.#host.cacheUrl(this.key, storedZip('changes.json', Buffer.from(JSON.stringify(changes))), 'zip'),
      history: { serverVersion: this.#host.serverVersion, changes: this.changes },
      filetype,
    };
  }

  async #notify(callbackUrl: string | undefined, fields: CallbackFields): Promise<CallbackOutcome | undefined> {
    if (callbackUrl === undefined) return undefined;
    const outcome = await this.#host.send(callbackUrl, fields);
    this.callbacks.push(outcome);
    return outcome;
  }

  /** Sends the final status 2/3 and ends the session: saved → UpdateVersion, failed → forgotten. */
  async #finish(callbackUrl: string | undefined, fields: CallbackFields): Promise<CallbackOutcome | undefined> {
    this.#savedReport = undefined;
    const outcome = await this.#notify(callbackUrl, fields);
    // A connector that reported `saved` with anything but "1" during the callback makes the DS treat it as failed.
    if (outcome?.success && fields.status === 2 && this.#savedReport !== undefined && this.#savedReport !== '1') {
      outcome.forgotten = true;
    }
    this.editors.length = 0;
    this.viewers.length = 0;
    this.#endedAt = Date.now();
    if (outcome === undefined || outcome.forgotten) {
      this.#state = 'forgotten';
      this.#host.forget(this.key, this.#content);
    } else {
      this.#state = fields.status === 2 ? 'updateVersion' : 'closed';
    }
    return outcome;
  }
}

interface CacheEntry {
  bytes: Buffer;
  expires: number;
  validUntil: number;
  md5: string;
  filename: string;
}

type ConversionAnswer = Json;

interface ConversionJob {
  requests: number;
  /** The password the job ran with; a later request for the finished job must bring the same one. */
  password: string | undefined;
  result: Promise<ConversionAnswer>;
}

/** A real HTTP server on 127.0.0.1 that behaves like ONLYOFFICE Docs on the wire. */
export class DocumentServerStandIn {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Every /command request received, with the claims the DS would use (token claims only when JWT is on) and the answer given. */
  readonly commands: CommandRecord[] = [];
  /** Every /converter request received, likewise. */
  readonly conversions: ConversionRecord[] = [];
  /** Every editor opening, with what the DS took from the page config and its token. */
  readonly opened: ResolvedEditorConfig[] = [];
  /** The "forgotten files" store: content of sessions whose final status 2/3 callback failed, by key. */
  readonly forgotten = new Map<string, Buffer>();
  /** Paths of every /cache request received. */
  readonly cacheRequests: string[] = [];
  /** Errors of background work (callbacks triggered by commands, conversions) other than the stand-in closing. */
  readonly backgroundErrors: unknown[] = [];
  /** Override the answer to a command (e.g. forcesave → {error: 4}); return undefined to use the default. An override has no side effects. */
  onCommand?: (claims: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** What pages handed to DocsAPI.DocEditor (through the stand-in's api.js), in order. */
  readonly pageEditors: PageEditor[] = [];
  /** Methods pages called on the editor object (setUsers, refreshHistory, …). */
  readonly pageCalls: PageEditorCall[] = [];
  /** Healthcheck answer body, default 'true'. */
  healthcheck: 'true' | 'false' = 'true';
  /** Fault injection for cache requests: the handler answers instead of the normal cache serving when it returns true. */
  cacheFault?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Awaited before a valid cache file is served, e.g. to hold several saves in flight at once. */
  cacheGate?: (path: string) => Promise<void>;
  /** Awaited before each retry of a status-2/3 callback, after its delay (e.g. until a restarted connector listens). */
  retryGate?: (attempt: number) => Promise<void>;
  /** Cache files being sent right now, and the most that were ever sent at once. */
  readonly cacheInFlight = { now: 0, max: 0 };
  /** When set, every valid conversion request is answered `{error: conversionError}` (e.g. -3, -5, -9). */
  conversionError?: number;
  /** Async conversions: the request number (per key and output type) that gets the result. */
  conversionPolls: number;
  /** When true, async conversion jobs never finish (they stay at 0 %), as on an overloaded DS. */
  conversionStalls = false;
  /** Inputs the converter finds password-protected: sha256 of the bytes → the password that opens them. */
  readonly protectedInputs = new Map<string, string>();

  #server: http.Server;
  #secret: string | undefined;
  #header: string;
  #retryDelaysMs: number[];
  #callbackTimeoutMs: number;
  #downloadTimeoutMs: number;
  #downloadAttempts: number;
  #downloadRetryDelayMs: number;
  #maxDownloadBytes: number;
  #version: string;
  #saveDelayMs: number;
  #updateVersionMs: number;
  #cacheLinkLifetimeS: number;
  #sessions = new Map<string, EditorSession>();
  #opening = new Map<string, Promise<EditorSession>>();
  #jobs = new Map<string, ConversionJob>();
  #cache = new Map<string, CacheEntry>();
  #cacheCounter = 0;
  #linkSecret = crypto.randomBytes(16).toString('hex');
  #abort = new AbortController();
  #tasks = new Set<Promise<unknown>>();
  #host: SessionHost;
  #faults: Array<{ fault: CacheFault; remaining: number }> = [];

  private constructor(server: http.Server, url: string, options: StandInOptions) {
    this.#server = server;
    this.url = url;
    // Every outgoing request listens on this one signal; many saves at once are normal.
    setMaxListeners(0, this.#abort.signal);
    this.#secret = options.secret;
    this.#header = options.header ?? 'Authorization';
    this.#retryDelaysMs = options.retryDelaysMs ?? [1000, 2000, 4000];
    this.#callbackTimeoutMs = options.callbackTimeoutMs ?? 10 * 60_000;
    this.#downloadTimeoutMs = options.downloadTimeoutMs ?? 2 * 60_000;
    this.#downloadAttempts = options.downloadAttempts ?? 3;
    this.#downloadRetryDelayMs = options.downloadRetryDelayMs ?? 1000;
    this.#maxDownloadBytes = options.maxDownloadBytes ?? 100 * 1024 * 1024;
    this.#version = options.version ?? '9.3.0.1';
    this.#saveDelayMs = options.saveDelayMs ?? 0;
    this.#updateVersionMs = options.updateVersionMs ?? 5 * 60_000;
    this.#cacheLinkLifetimeS = options.cacheLinkLifetimeS ?? 900;
    this.conversionPolls = options.conversionPolls ?? 2;
    this.#host = {
      serverVersion: this.#version.split('.').slice(0, 3).join('.'),
      saveDelayMs: this.#saveDelayMs,
      assemblyFormatAsOrigin: options.assemblyFormatAsOrigin ?? true,
      send: (callbackUrl, fields) => this.sendCallback(callbackUrl, fields),
      cacheUrl: (key, bytes, ext) => this.putCacheFile(key, bytes, ext),
      sleep: (ms) => this.#sleep(ms),
      forget: (key, content) => void this.forgotten.set(key, content),
    };
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else {
          res.statusCode = 500;
          res.end(String(error));
        }
      });
    });
  }

  /** Starts a stand-in on 127.0.0.1 on a random port. */
  static async start(options: StandInOptions = {}): Promise<DocumentServerStandIn> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new DocumentServerStandIn(server, `http://127.0.0.1:${port}`, options);
  }

  /** Aborts outgoing requests and timers, waits for background work, and stops the server. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.settled();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** Resolves once all background work (callbacks triggered by commands, conversion jobs) has finished. */
  async settled(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** The session of a document key, if an editor opened it. */
  getSession(key: string): EditorSession | undefined {
    return this.#sessions.get(key);
  }

  /** Put bytes in the DS cache and get the URL the DS would hand out for them. */
  putCacheFile(key: string, bytes: Buffer, ext: string): string {
    this.#cacheCounter += 1;
    const name = `output.${ext}`;
    return this.#storeCache(`${key}_${this.#cacheCounter}`, name, name, bytes);
  }

  /** Makes the converter treat these bytes as encrypted, opened only by `password` (else error -5). */
  protectInput(bytes: Buffer, password: string): void {
    this.protectedInputs.set(crypto.createHash('sha256').update(bytes).digest('hex'), password);
  }

  /** Answers the next `times` valid cache file requests (default: every one from now on) with `fault`. */
  injectCacheFault(fault: CacheFault, times = Infinity): void {
    this.#faults.push({ fault, remaining: times });
  }

  /** Makes every cache link handed out so far expired (served as 404). */
  expireCacheFiles(): void {
    for (const entry of this.#cache.values()) entry.validUntil = 0;
  }

  /** Opens a document as the editor would: checks config.token like the DS (§2.3), then downloads document.url like the DS (§2.1). */
  async openEditor(config: PageConfig): Promise<EditorSession> {
    const resolved = this.#resolveEditorConfig(config);
    this.opened.push(resolved);
    const { key } = resolved;
    const pending = this.#opening.get(key);
    if (pending) {
      const session = await pending;
      session.register(resolved);
      return session;
    }
    const existing = this.#sessions.get(key);
    let session: EditorSession;
    if (existing?.state === 'open') {
      session = existing;
    } else if (existing) {
      session = this.#reopen(existing, resolved);
    } else {
      const opening = this.#download(resolved.url, resolved.verified).then((original) => {
        const created = new EditorSession(this.#host, {
          key,
          fileType: resolved.fileType,
          title: resolved.title,
          original,
        });
        this.#sessions.set(key, created);
        return created;
      });
      this.#opening.set(key, opening);
      try {
        session = await opening;
      } finally {
        this.#opening.delete(key);
      }
    }
    session.register(resolved);
    return session;
  }

  /** Signs and posts a callback exactly as the DS does, with the retry policy for statuses 2/3. */
  async sendCallback(callbackUrl: string, fields: CallbackFields): Promise<CallbackOutcome> {
    const retryable = fields.status === 2 || fields.status === 3;
    const attempts: CallbackAttempt[] = [];
    let body: Json = {};
    let success = false;
    for (let attempt = 0; ; attempt++) {
      const request = this.#buildCallback(fields);
      body = request.body;
      let retry = false;
      try {
        const res = await httpRequest(callbackUrl, {
          method: 'POST',
          headers: request.headers,
          body: Buffer.from(JSON.stringify(request.body), 'utf8'),
          timeoutMs: this.#callbackTimeoutMs,
          signal: this.#abort.signal,
        });
        const answer = res.body.toString('utf8');
        attempts.push({ httpStatus: res.status, body: answer });
        success = isSuccessfulAnswer(res.status, answer);
        retry = res.status === 429 || (res.status >= 500 && res.status <= 599);
      } catch (error) {
        if (!(error instanceof RequestFailure)) throw error;
        attempts.push({ error: error.message });
        if (error.kind === 'aborted') break;
        retry = true;
      }
      const delay = this.#retryDelaysMs[attempt];
      if (success || !retry || !retryable || delay === undefined) break;
      try {
        await this.#sleep(delay);
        await this.retryGate?.(attempt + 1);
      } catch {
        break;
      }
    }
    return { status: fields.status, success, attempts, forgotten: retryable && !success, body };
  }

  /** The body and headers of one callback attempt, with fresh tokens (§1.2, including the oversize rule). */
  #buildCallback(fields: CallbackFields): { body: Json; headers: Record<string, string> } {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: ACCEPT,
      'User-Agent': USER_AGENT,
      Connection: 'Keep-Alive',
    };
    const full = orderedFields(fields);
    if (this.#secret === undefined) return { body: withToken(full, undefined), headers };
    const iat = nowSeconds();
    const sign = (claims: Json) =>
      jwt.sign({ ...claims, iat, exp: iat + OUTBOX_EXPIRES_S }, this.#secret!, { algorithm: 'HS256' });
    const bodyToken = sign(full);
    let visible = full;
    let headerToken = sign({ payload: full });
    if ([2, 3, 6, 7].includes(fields.status) && headerToken.length >= MAX_AUTHORIZATION_LENGTH) {
      visible = orderedFields({ ...fields, changesurl: undefined, history: {} });
      headerToken = sign({ payload: visible });
    }
    headers[this.#header] = BEARER + headerToken;
    return { body: withToken(visible, bodyToken), headers };
  }

  /** Validates a page config like api.js and the DS (§2.3) and resolves what the DS takes from it. */
  #resolveEditorConfig(config: PageConfig): ResolvedEditorConfig {
    const page = jsonCopy(config);
    const invalid = (message: string) => new DocumentServerError('invalidConfig', message);
    if (!isObject(page) || !isObject(page.document)) throw invalid('config.document is required');
    const doc = page.document;
    const editorConfig: NonNullable<PageConfig['editorConfig']> = isObject(page.editorConfig) ? page.editorConfig : {};
    if (text(doc.url) === undefined) throw invalid('document.url is required');
    if (doc.key !== undefined && typeof doc.key !== 'string') throw invalid('document.key must be a string');
    if (page.documentType !== undefined && !DOCUMENT_TYPES.includes(page.documentType)) {
      throw invalid(`unknown documentType ${page.documentType}`);
    }
    const pageFileType = doc.fileType?.toLowerCase();
    if (pageFileType !== undefined && !KNOWN_FILE_TYPES.has(pageFileType))
      throw invalid(`unknown fileType ${doc.fileType}`);
    const pageMode = editorConfig.mode === 'view' ? 'view' : 'edit';
    const pageUser = isObject(editorConfig.user) && editorConfig.user.id !== undefined ? editorConfig.user : undefined;

    const resolved: ResolvedEditorConfig = {
      key: doc.key ?? crypto.randomBytes(10).toString('hex'),
      url: doc.url!,
      fileType: pageFileType ?? extensionOf(doc.title) ?? 'docx',
      title: doc.title ?? '',
      documentType: page.documentType,
      callbackUrl: editorConfig.callbackUrl,
      mode: pageMode,
      user: pageUser ? { id: String(pageUser.id), name: pageUser.name } : undefined,
      lang: editorConfig.lang,
      verified: false,
    };

    // With JWT off the DS would still check a supplied token, but without a secret it cannot: ignore it.
    if (this.#secret !== undefined) {
      const deny = (code: number, message: string) => new DocumentServerError(code, message);
      if (typeof config.token !== 'string' || config.token === '') throw deny(4006, 'token: the config has no token');
      let claims: Json;
      try {
        const decoded = jwt.verify(config.token, this.#secret, {
          algorithms: INBOX_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_S,
        });
        if (!isObject(decoded)) throw new Error('token claims are not an object');
        claims = decoded;
      } catch (error) {
        if (error instanceof jwt.TokenExpiredError) throw deny(4005, `token: expired (${error.message})`);
        throw deny(4006, `token: ${(error as Error).message}`);
      }
      for (const forbidden of ['payload', 'url', 'key']) {
        if (Object.hasOwn(claims, forbidden)) throw deny(4004, `access deny: invalid format (top-level ${forbidden})`);
      }
      const tokenDoc = isObject(claims.document) ? claims.document : {};
      const tokenEditor = isObject(claims.editorConfig) ? claims.editorConfig : {};
      const missing = (name: string) => deny(4006, `token: ${name} is required`);
      if (tokenDoc.key === undefined || tokenDoc.key === null || tokenDoc.key === '') throw missing('document.key');
      if (text(tokenDoc.url) === undefined) throw missing('document.url');
      if (doc.permissions !== undefined && tokenDoc.permissions === undefined) throw missing('document.permissions');
      if (editorConfig.callbackUrl !== undefined && tokenEditor.callbackUrl === undefined) {
        throw missing('editorConfig.callbackUrl');
      }
      if (pageMode !== 'view' && tokenEditor.mode === undefined) throw missing('editorConfig.mode');
      if (
        (tokenDoc.permissions !== undefined || doc.permissions !== undefined) &&
        !isDeepStrictEqual(tokenDoc.permissions, doc.permissions)
      ) {
        throw deny(4004, 'access deny: the token permissions differ from the page permissions');
      }
      resolved.key = String(tokenDoc.key);
      resolved.url = tokenDoc.url as string;
      if (text(tokenDoc.fileType)) resolved.fileType = (tokenDoc.fileType as string).toLowerCase();
      if (typeof tokenDoc.title === 'string') resolved.title = tokenDoc.title;
      if (text(tokenEditor.callbackUrl)) resolved.callbackUrl = tokenEditor.callbackUrl as string;
      if (typeof tokenEditor.lang === 'string') resolved.lang = tokenEditor.lang;
      resolved.mode = pageMode === 'view' || tokenEditor.mode === 'view' ? 'view' : 'edit';
      if (isObject(tokenEditor.user)) {
        const id = tokenEditor.user.id ?? resolved.user?.id;
        const name = typeof tokenEditor.user.name === 'string' ? tokenEditor.user.name : resolved.user?.name;
        resolved.user = id === undefined ? undefined : { id: String(id), name };
      }
      resolved.verified = true;
    }
    if (!KEY_PATTERN.test(resolved.key) || resolved.key === '') {
      throw new DocumentServerError(
        'invalidKey',
        `document.key ${JSON.stringify(resolved.key)} is outside [0-9a-zA-Z-._=]`,
      );
    }
    return resolved;
  }

  /** Reopens a key whose session ended: refused right after a save, else from the forgotten file or the cached copy. */
  #reopen(previous: EditorSession, resolved: ResolvedEditorConfig): EditorSession {
    if (previous.state === 'updateVersion' && Date.now() - previous.endedAt < this.#updateVersionMs) {
      throw new DocumentServerError(
        'versionChanged',
        `the version of ${previous.key} has changed: reopen with a new key`,
      );
    }
    const content = previous.state === 'forgotten' ? this.forgotten.get(previous.key) : undefined;
    const session = new EditorSession(this.#host, {
      key: previous.key,
      fileType: previous.fileType,
      title: resolved.title || previous.title,
      original: previous.original,
      content,
    });
    this.#sessions.set(previous.key, session);
    return session;
  }

  /** Downloads a URL like the DS (§2.1): headers, JWT, 200/206 only, attempts, timeout, size cap. */
  async #download(url: string, signed: boolean): Promise<Buffer> {
    let lastProblem = 'no attempt';
    for (let attempt = 1; attempt <= this.#downloadAttempts; attempt++) {
      if (attempt > 1) await this.#sleep(this.#downloadRetryDelayMs);
      try {
        const res = await this.#getFollowingRedirects(url, signed);
        if (res.status === 200 || res.status === 206) return res.body;
        lastProblem = `HTTP ${res.status}`;
      } catch (error) {
        if (!(error instanceof RequestFailure)) throw error;
        if (error.kind === 'tooBig') throw new DocumentServerError(-10, `download of ${url}: ${error.message}`);
        if (error.kind !== 'network') throw new DocumentServerError(-4, `download of ${url} failed: ${error.message}`);
        lastProblem = error.message;
      }
    }
    throw new DocumentServerError(
      -4,
      `download of ${url} failed after ${this.#downloadAttempts} attempt(s): last ${lastProblem}`,
    );
  }

  /** One download attempt; redirects are followed (the JWT header is dropped when the origin changes). */
  async #getFollowingRedirects(url: string, signed: boolean): Promise<RawResponse> {
    const deadline = Date.now() + this.#downloadTimeoutMs;
    let current = url;
    let withJwt = signed && this.#secret !== undefined;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Connection: 'Keep-Alive', Accept: ACCEPT };
      if (withJwt) {
        const iat = nowSeconds();
        const token = jwt.sign({ payload: { url }, iat, exp: iat + OUTBOX_EXPIRES_S }, this.#secret!, {
          algorithm: 'HS256',
        });
        headers[this.#header] = BEARER + token;
      }
      const res = await httpRequest(current, {
        method: 'GET',
        headers,
        timeoutMs: Math.max(1, deadline - Date.now()),
        maxBytes: this.#maxDownloadBytes,
        signal: this.#abort.signal,
      });
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || hop >= 10) return res;
      const next = new URL(location, current);
      if (next.origin !== new URL(current).origin) withJwt = false;
      current = next.href;
    }
  }

  /** Stores bytes in the cache and returns the signed, expiring link. */
  #storeCache(dir: string, inner: string, filename: string, bytes: Buffer): string {
    const path = `/cache/files/data/${pathSegment(dir)}/${pathSegment(inner)}/${pathSegment(filename)}`;
    const expires = nowSeconds() + this.#cacheLinkLifetimeS;
    const md5 = crypto.createHash('md5').update(`${expires}${path}${this.#linkSecret}`).digest('base64url');
    this.#cache.set(path, { bytes, expires, validUntil: expires, md5, filename });
    return `${this.url}${path}?md5=${md5}&expires=${expires}&filename=${encodeURIComponent(filename)}`;
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new RequestFailure('stand-in closed', 'aborted'));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(new RequestFailure('stand-in closed', 'aborted'));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Tracks background work so that `settled()` and `close()` can wait for it. */
  #track<T>(promise: Promise<T>): Promise<T> {
    this.#tasks.add(promise);
    const forget = () => this.#tasks.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Runs work in the background (shortly after the current answer), recording unexpected errors. */
  #background(work: () => Promise<unknown>): void {
    const run = this.#sleep(5)
      .then(work)
      .catch((error: unknown) => {
        if (!(error instanceof RequestFailure && error.kind === 'aborted')) this.backgroundErrors.push(error);
      });
    void this.#track(run);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/cache/')) return this.#serveCache(req, res, url);
    if (path.startsWith('/web-apps/') || path.startsWith('/__stand-in/')) return this.#servePage(req, res, url);
    if (path === '/healthcheck' && method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(this.healthcheck);
      return;
    }
    if (
      (path === '/command' && method === 'POST') ||
      (path === '/coauthoring/CommandService.ashx' && ['GET', 'POST'].includes(method))
    ) {
      return this.#command(req, res, url);
    }
    if (
      (path === '/converter' && method === 'POST') ||
      (path === '/ConvertService.ashx' && ['GET', 'POST'].includes(method))
    ) {
      return this.#converter(req, res, url);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
  }

  /**
   * What browsers load from the Document Server: api.js and the editor frame. The page reports what it
   * handed to DocsAPI.DocEditor; the stand-in then opens the document like the editor would (checking
   * the token, downloading the file) and connects the user; leaving the page disconnects them.
   */
  async #servePage(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/web-apps/apps/api/documents/api.js') {
      res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(editorApiScript(this.url));
      return;
    }
    if (req.method === 'GET' && path === '/web-apps/apps/api/documents/frame.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(editorFrameHtml(url.searchParams.get('title') ?? ''));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
    res.writeHead(204).end();
    if (path === '/__stand-in/call') {
      this.pageCalls.push(body as unknown as PageEditorCall);
    } else if (path === '/__stand-in/editor') {
      const entry = body as unknown as PageEditor;
      this.pageEditors.push(entry);
      this.#background(async () => {
        try {
          const session = await this.openEditor(entry.config as PageConfig);
          const { user, mode } = entry.config.editorConfig;
          // The same person in a second tab is one editor to the Document Server.
          if (!session.editors.includes(user.id) && !session.viewers.includes(user.id)) {
            await session.connect({ id: user.id, name: user.name }, { mode });
          }
        } catch (error) {
          entry.error = error instanceof Error ? error.message : String(error);
        }
      });
    } else if (path === '/__stand-in/leave') {
      const session = this.#sessions.get(String(body.key));
      const userId = String(body.userId);
      if (session?.state === 'open' && (session.editors.includes(userId) || session.viewers.includes(userId))) {
        this.#background(() => session.disconnect(userId));
      }
    }
  }

  async #serveCache(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    this.cacheRequests.push(url.pathname);
    if (this.cacheFault?.(req, res)) return;
    const entry = this.#cache.get(url.pathname);
    if (!entry || !['GET', 'HEAD'].includes(req.method ?? '')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    if (url.searchParams.get('md5') !== entry.md5 || url.searchParams.get('expires') !== String(entry.expires)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden');
      return;
    }
    if (nowSeconds() > entry.validUntil) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    this.cacheInFlight.now += 1;
    this.cacheInFlight.max = Math.max(this.cacheInFlight.max, this.cacheInFlight.now);
    res.once('close', () => (this.cacheInFlight.now -= 1));
    await this.cacheGate?.(url.pathname);
    const fault = this.#takeFault();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' }).end(http.STATUS_CODES[fault.status]);
      return;
    }
    if (fault?.kind === 'redirect') {
      res.writeHead(302, { Location: fault.location }).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extensionOf(entry.filename) ?? ''] ?? 'application/octet-stream',
      'Content-Length': String(entry.bytes.length),
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(entry.filename)}`,
    });
    if (req.method === 'HEAD' || fault === undefined) {
      res.end(req.method === 'HEAD' ? undefined : entry.bytes);
      return;
    }
    // Part of the body, then the fault; the socket is flushed first so the client sees those bytes.
    res.write(entry.bytes.subarray(0, fault.afterBytes), () => {
      if (fault.kind === 'reset') res.socket?.resetAndDestroy();
      else if (fault.kind === 'short') res.socket?.end();
      // 'stall': nothing more is sent; the connection stays open until the client (or close()) ends it.
    });
  }

  #takeFault(): CacheFault | undefined {
    const next = this.#faults[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) this.#faults.shift();
    return next.fault;
  }

  /** Request parameters: a JSON body, else a form-encoded body, else the query string. */
  async #readParams(req: http.IncomingMessage, url: URL): Promise<Json> {
    const raw = (await readBody(req)).toString('utf8');
    if (raw.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isObject(parsed)) return parsed;
      } catch {
        // not JSON
      }
      const form = Object.fromEntries(new URLSearchParams(raw));
      if (Object.keys(form).length > 0) return form;
    }
    return Object.fromEntries(url.searchParams);
  }

  /** The claims of an inbox request (§2.2): body token first, else the header; only its claims are used. */
  #inboxClaims(params: Json, req: http.IncomingMessage): { claims: Json } | { expired: boolean } {
    if (this.#secret === undefined) {
      const { token: _token, ...claims } = params;
      return { claims };
    }
    let token = text(params.token);
    if (token === undefined) {
      const header = req.headers[this.#header.toLowerCase()];
      if (typeof header === 'string' && header.startsWith(BEARER)) token = text(header.slice(BEARER.length));
    }
    if (token === undefined) return { expired: false };
    try {
      const decoded = jwt.verify(token, this.#secret, {
        algorithms: INBOX_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      return isObject(decoded) ? { claims: mergeClaims(decoded) } : { expired: false };
    } catch (error) {
      return { expired: error instanceof jwt.TokenExpiredError };
    }
  }

  async #command(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const params = await this.#readParams(req, url);
    const auth = this.#inboxClaims(params, req);
    let claims: Json = {};
    let answer: Json;
    if ('claims' in auth) {
      claims = auth.claims;
      answer = this.onCommand?.(claims) ?? this.#commandAnswer(claims);
    } else {
      answer = { key: typeof params.key === 'string' ? params.key : undefined, error: auth.expired ? 7 : 6 };
    }
    answer = jsonCopy(answer);
    this.commands.push({ path: url.pathname, claims, answer });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
  }

  /** The command service (§4): the answer, with callbacks it triggers scheduled in the background. */
  #commandAnswer(claims: Json): Json {
    const c = claims.c;
    const key = claims.key;
    if (!(typeof c === 'string' && COMMANDS_WITHOUT_KEY.includes(c)) && typeof key !== 'string')
      return { key, error: 1 };
    const session = typeof key === 'string' ? this.#sessions.get(key) : undefined;
    const userdata = typeof claims.userdata === 'string' ? claims.userdata : undefined;
    switch (c) {
      case 'version':
        return { error: 0, version: this.#version };
      case 'license':
        return {
          error: 0,
          license: { type: 3, light: false, mode: 0, customization: false, trial: false },
          server: {
            resultType: 3,
            buildVersion: this.#host.serverVersion,
            buildNumber: Number(this.#version.split('.')[3] ?? 0),
          },
          quota: {
            users: [...this.#sessions.values()].flatMap((s) => s.editors),
            users_view: [...this.#sessions.values()].flatMap((s) => s.viewers),
          },
        };
      case 'info': {
        if (!session) return { key, error: 1 };
        const callback = text(claims.callback);
        this.#background(() => session.sendInfo(callback, userdata));
        return { key, error: 0 };
      }
      case 'drop': {
        let users: unknown = claims.users;
        if (typeof users === 'string') {
          try {
            users = JSON.parse(users);
          } catch {
            users = [users];
          }
        }
        if (session?.state === 'open') {
          const targets = Array.isArray(users) ? users.map(String) : [...session.editors, ...session.viewers];
          session.dropped.push(...targets);
          this.#background(async () => {
            for (const id of targets) {
              if (session.editors.includes(id) || session.viewers.includes(id)) await session.disconnect(id);
            }
          });
        }
        return { key, error: 0 };
      }
      case 'forcesave': {
        if (!session || session.state !== 'open') return { key, error: 1 };
        if (!session.modified) return { key, error: 4 };
        this.#background(() => session.forceSave({ type: 0, userdata }));
        return { key, error: 0 };
      }
      case 'meta':
        if (claims.meta === undefined) return { key, error: 5 };
        if (session) session.meta = claims.meta;
        return { key, error: 0 };
      case 'saved':
        session?.reportSaved(String(claims.status));
        return { key, error: 0 };
      case 'getForgotten': {
        const bytes = this.forgotten.get(key as string);
        if (!bytes) return { key, error: 1 };
        const ext = savedFileType(session?.fileType ?? 'docx');
        return { key, error: 0, url: this.putCacheFile(key as string, bytes, ext) };
      }
      case 'deleteForgotten':
        return { key, error: this.forgotten.delete(key as string) ? 0 : 1 };
      case 'getForgottenList':
        return { error: 0, keys: [...this.forgotten.keys()] };
      default:
        return { key, error: 5 };
    }
  }

  async #converter(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const legacy = url.pathname === '/ConvertService.ashx';
    const asJson = !legacy || /application\/json/i.test(req.headers.accept ?? '');
    const params = await this.#readParams(req, url);
    const auth = this.#inboxClaims(params, req);
    let claims: Json = {};
    let answer: ConversionAnswer;
    if ('claims' in auth) {
      claims = auth.claims;
      answer = await this.#conversionAnswer(claims);
    } else {
      answer = { error: -8 };
    }
    this.conversions.push({ path: url.pathname, claims, answer });
    if (asJson) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/xml' }).end(conversionXml(answer));
  }

  /**
   * The conversion service (§3): validation, the per-(key, outputtype) job cache and the async polling.
   * Like the DS, a finished job's answer (an error included) is returned again for the same key, except that a
   * job that needed a password is dropped so the request can be repeated with one, and a finished job run with
   * a password answers -5 to a request with another.
   */
  async #conversionAnswer(claims: Json): Promise<ConversionAnswer> {
    const key = claims.key;
    if (typeof key !== 'string' || key === '' || !KEY_PATTERN.test(key)) return { error: -7 };
    const sourceUrl = text(claims.url);
    const title = text(claims.title);
    // The type comes from `filetype` only; without it the converter detects it from the content.
    const fileType = (text(claims.filetype) ?? text(claims.fileType))?.toLowerCase();
    if (fileType !== undefined && !/^[a-zA-Z0-9]+$/.test(fileType)) return { error: -7 };
    const outputType = (text(claims.outputtype) ?? text(claims.outputType))?.toLowerCase();
    if (outputType === undefined || !OUTPUT_TYPES.has(outputType)) return { error: -7 };
    const password = text(claims.password);
    if (password !== undefined && password.length > 255) return { error: -7 };
    if (this.conversionError !== undefined) return { error: this.conversionError };
    const jobId = `${key}\n${outputType}`;
    let job = this.#jobs.get(jobId);
    if (!job) {
      if (sourceUrl === undefined) return { error: -7 };
      const created: ConversionJob = { requests: 0, password, result: Promise.resolve({}) };
      created.result = this.#track(
        this.#runConversion(key, sourceUrl, fileType, outputType, title, password).then((answer) => {
          if (answer.error === -5 && this.#jobs.get(jobId) === created) this.#jobs.delete(jobId);
          return answer;
        }),
      );
      job = created;
      this.#jobs.set(jobId, job);
    }
    job.requests += 1;
    const isAsync = claims.async === true || claims.async === 'true';
    if (isAsync && (this.conversionStalls || job.requests < this.conversionPolls)) return { percent: 0, endConvert: false };
    const answer = await job.result;
    if (answer.error === undefined && job.password !== undefined && job.password !== password) return { error: -5 };
    return answer;
  }

  async #runConversion(
    key: string,
    sourceUrl: string,
    declaredType: string | undefined,
    outputType: string,
    title: string | undefined,
    password: string | undefined,
  ): Promise<ConversionAnswer> {
    let source: Buffer;
    try {
      source = await this.#download(sourceUrl, true);
    } catch (error) {
      if (error instanceof DocumentServerError) return { error: error.code === -10 ? -10 : -4 };
      return { error: -1 };
    }
    const fileType = declaredType !== undefined && KNOWN_FILE_TYPES.has(declaredType) ? declaredType : detectFileType(source);
    if (fileType === undefined) return { error: -9 };
    // Generic XML can be a document or a spreadsheet: only an explicit output type tells which.
    if (fileType === 'xml' && (outputType === 'ooxml' || outputType === 'odf')) return { error: -9 };
    const lock = this.protectedInputs.get(crypto.createHash('sha256').update(source).digest('hex'));
    if (lock !== undefined && lock !== password) return { error: -5 };
    const resultType = concreteOutputType(outputType, fileType);
    const bytes =
      resultType === fileType ? source : Buffer.concat([Buffer.from(`CONVERTED:${fileType}->${resultType}\n`), source]);
    const filename = title ? `${title.replace(/\.[^.]*$/, '')}.${resultType}` : `output.${resultType}`;
    const fileUrl = this.#storeCache(`conv_${key}_${outputType}`, `output.${resultType}`, filename, bytes);
    return { fileUrl, fileType: resultType, percent: 100, endConvert: true };
  }
}

/** The legacy XML form of a conversion answer. */
function conversionXml(answer: ConversionAnswer): string {
  const head = '<?xml version="1.0" encoding="utf-8"?>';
  if (answer.error !== undefined) return `${head}<FileResult><Error>${String(answer.error)}</Error></FileResult>`;
  const fileUrl = typeof answer.fileUrl === 'string' ? answer.fileUrl : '';
  const fileType = typeof answer.fileType === 'string' ? answer.fileType : '';
  return (
    `${head}<FileResult><FileUrl>${xmlEscape(fileUrl)}</FileUrl><FileType>${xmlEscape(fileType)}</FileType>` +
    `<Percent>${String(answer.percent)}</Percent><EndConvert>${answer.endConvert ? 'True' : 'False'}</EndConvert></FileResult>`
  );
}
