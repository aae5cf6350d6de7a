import https from 'node:https';
import type { Readable } from 'node:stream';
import axios from 'axios';
import type { DocumentServerSettings } from '../domain/document-server-settings.js';
import { signRequestToken } from './jwt.js';

/** A failed fetch from the Document Server; `transient` when trying again later may succeed. */
export class DocumentServerFetchError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'DocumentServerFetchError';
  }
}

/**
 * Maps a URL the Document Server handed us (a cache link in a callback) onto its internal address.
 * Only the path and query are kept; a URL on any other origin is refused, so a forged or confused
 * callback can never make this server fetch from elsewhere (SSRF).
 */
export function rebaseOntoDocumentServer(url: unknown, settings: DocumentServerSettings): string {
  if (typeof url !== 'string') throw new DocumentServerFetchError('The callback names no file URL.', false);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DocumentServerFetchError('The callback file URL is not a URL.', false);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DocumentServerFetchError(`The callback file URL uses ${parsed.protocol}, not http(s).`, false);
  }
  for (const base of [settings.internalUrl, settings.publicUrl]) {
    const baseUrl = new URL(`${base}/`);
    if (parsed.origin === baseUrl.origin && parsed.pathname.startsWith(baseUrl.pathname)) {
      const rest = parsed.pathname.slice(baseUrl.pathname.length) + parsed.search;
      return `${settings.internalUrl}/${rest}`;
    }
  }
  throw new DocumentServerFetchError(`The callback file URL is not on the Document Server (${parsed.origin}).`, false);
}

/**
 * Opens a GET of a Document Server file as a stream: no redirects, only 200, and the whole transfer
 * bounded by `signal`. Errors say whether a retry could help.
 */
export async function openDocumentServerFile(
  url: string,
  signal: AbortSignal,
  settings: Pick<DocumentServerSettings, 'verifyTls'>,
): Promise<Readable> {
  try {
    const response = await axios.get<Readable>(url, {
      responseType: 'stream',
      maxRedirects: 0,
      signal,
      validateStatus: () => true,
      decompress: true,
      ...agentsFor(settings),
    });
    if (response.status === 200) return response.data;
    response.data.destroy();
    const transient = response.status === 429 || response.status >= 500;
    const what = response.status >= 300 && response.status < 400 ? 'redirected' : `answered HTTP ${response.status}`;
    throw new DocumentServerFetchError(`The Document Server file ${what}.`, transient);
  } catch (error) {
    if (error instanceof DocumentServerFetchError) throw error;
    const reason = signal.aborted ? 'timed out' : `could not be fetched (${(error as Error).message})`;
    throw new DocumentServerFetchError(`The Document Server file ${reason}.`, true);
  }
}

/** An HTTPS agent that verifies certificates unless an admin turned that off. */
function agentsFor(settings: Pick<DocumentServerSettings, 'verifyTls'>) {
  return settings.verifyTls ? {} : { httpsAgent: new https.Agent({ rejectUnauthorized: false }) };
}

/** Why a request to the Document Server did not get an answer, in words an admin can act on. */
export function describeNetworkError(error: unknown, address: string): string {
  const code = (error as { code?: string }).code ?? '';
  if (code === 'ECONNREFUSED') return `${address} refused the connection: the Document Server is not running there, or the address or port is wrong.`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `The host name of ${address} does not resolve from this server.`;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') return `${address} did not answer in time: a firewall may be dropping the traffic.`;
  if (code === 'ECONNRESET') return `${address} closed the connection: a proxy may be in the way, or http and https are mixed up.`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/i.test(code)) {
    return `The TLS certificate of ${address} is not trusted (${code}): install its CA on this server, or turn off certificate verification.`;
  }
  if (code === 'EPROTO' || /wrong version number/i.test((error as Error).message ?? '')) {
    return `TLS failed with ${address}: it may be plain http on that port, or the reverse.`;
  }
  return `${address} could not be reached (${(error as Error).message ?? code}).`;
}

/** `GET /healthcheck`: the body text, or an Error whose message names the cause. */
export async function fetchHealthcheck(settings: DocumentServerSettings, timeoutMs: number): Promise<string> {
  const address = `${settings.internalUrl}/healthcheck`;
  try {
    const response = await axios.get<string>(address, {
      responseType: 'text',
      transformResponse: (body: string) => body,
      timeout: timeoutMs,
      maxRedirects: 0,
      validateStatus: () => true,
      ...agentsFor(settings),
    });
    if (response.status !== 200) throw new Error(`${address} answered HTTP ${response.status}: is this the Document Server's address?`);
    return String(response.data).trim();
  } catch (error) {
    if (error instanceof Error && error.message.startsWith(address)) throw error;
    throw new Error(describeNetworkError(error, address));
  }
}

/**
 * Posts a signed request to a Document Server service (command or conversion), with the token in the
 * body and in the configured header, as the Document Server accepts both (protocol §2.2).
 */
export async function postToDocumentServer(
  settings: DocumentServerSettings,
  path: '/command' | '/converter',
  claims: Record<string, unknown>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const address = `${settings.internalUrl}${path}`;
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
  let body: Record<string, unknown> = claims;
  if (settings.jwtSecret) {
    body = { token: signRequestToken(settings.jwtSecret, claims) };
    headers[settings.jwtHeader] = `Bearer ${signRequestToken(settings.jwtSecret, { payload: claims })}`;
  }
  let response;
  try {
    response = await axios.post(address, body, { headers, timeout: timeoutMs, maxRedirects: 0, validateStatus: () => true, ...agentsFor(settings) });
  } catch (error) {
    throw new Error(describeNetworkError(error, address));
  }
  if (response.status !== 200 || typeof response.data !== 'object' || response.data === null) {
    throw new Error(`${address} answered HTTP ${response.status} without a JSON answer: is this the Document Server's address?`);
  }
  return response.data as Record<string, unknown>;
}

/** Downloads a (small) file the Document Server produced, from its internal address. */
export async function downloadSmallFile(settings: DocumentServerSettings, url: string, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  const source = rebaseOntoDocumentServer(url, settings);
  try {
    const response = await axios.get<ArrayBuffer>(source, {
      responseType: 'arraybuffer',
      timeout: timeoutMs,
      maxRedirects: 0,
      maxContentLength: maxBytes,
      validateStatus: () => true,
      ...agentsFor(settings),
    });
    if (response.status !== 200) throw new DocumentServerFetchError(`${source} answered HTTP ${response.status}.`, response.status >= 500);
    return Buffer.from(response.data);
  } catch (error) {
    if (error instanceof DocumentServerFetchError) throw error;
    throw new DocumentServerFetchError(describeNetworkError(error, source), true);
  }
}
