import type { Readable } from 'node:stream';
import axios from 'axios';
import type { DocumentServerSettings } from '../domain/document-server-settings.js';

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
export async function openDocumentServerFile(url: string, signal: AbortSignal): Promise<Readable> {
  try {
    const response = await axios.get<Readable>(url, {
      responseType: 'stream',
      maxRedirects: 0,
      signal,
      validateStatus: () => true,
      decompress: true,
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
