import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CallbackHandler } from '../domain/callback-handler.js';
import type { EditorService } from '../domain/editor.js';
import { PayloadTooLargeError, ValidationError } from '../errors.js';
import { documentServerErrorStatus } from './onlyoffice.routes.js';

/** Callbacks carry the Document Server's history, which can be large. */
const maxBodyBytes = 20 * 1024 * 1024;

const trackPath = /^\/track\/?$/i;

/** Whether a request is a callback from the Document Server (`POST /track?ref=…`, as Express would match it). */
export function isTrackRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url === undefined) return false;
  try {
    return trackPath.test(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return false;
  }
}

/**
 * `POST /track`, the Document Server's callbacks, answered in plain Node before Express. It is the
 * hot path of every editing session (a status-1 callback each time someone joins or leaves, and
 * every save): Express's per-request set-up cost more than the callback's own work, so the benchmark
 * of 32 concurrent callback connections could not reach its goal through it. Answers are the
 * protocol's: `{"error":0}`, or `{"error":1,"message"}` with 503 where a retry can help.
 */
export function createTrackEndpoint(deps: {
  callbacks: CallbackHandler;
  editor: EditorService;
  logger: Logger;
  requestId: (req: IncomingMessage, res: ServerResponse) => string;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (res: ServerResponse, status: number, body: object) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
    res.end(text);
  };

  return (req, res) => {
    const started = performance.now();
    const id = deps.requestId(req, res);
    // Signed links are capabilities: the log names the route, never the reference.
    const logged = { id, method: 'POST', url: '/track?ref=[redacted]' };
    const finish = async (body: Buffer) => {
      let status = 200;
      let callbackStatus: number | undefined;
      try {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw new ValidationError('The callback body is not JSON.');
        }
        const settings = deps.editor.settings();
        const header = settings ? req.headers[settings.jwtHeader.toLowerCase()] : undefined;
        // One reference, or none: a repeated `ref` is refused like any other malformed one.
        const refs = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('ref');
        const ref = refs.length === 1 ? refs[0] : refs.length === 0 ? undefined : refs;
        callbackStatus = await deps.callbacks.handle(ref, parsed, typeof header === 'string' ? header : undefined);
        answer(res, 200, { error: 0 });
      } catch (thrown) {
        const error = thrown ?? new Error('The callback failed without a reason.');
        const known = documentServerErrorStatus(error);
        status = known ?? 500;
        const message = known === undefined ? 'The callback could not be processed.' : error instanceof Error ? error.message : String(error);
        if (known === undefined) deps.logger.error({ req: logged, err: error }, 'callback failed');
        else deps.logger.warn({ req: logged, status, reason: message }, 'Document Server request refused');
        if (!res.headersSent) answer(res, status, { error: 1, message });
        else res.destroy();
      }
      // "Who is editing" arrives whenever someone joins or leaves: not worth a log line each.
      if (callbackStatus !== 1) {
        deps.logger.info({ req: logged, res: { statusCode: status }, callbackStatus, responseTime: Math.round(performance.now() - started) }, 'request completed');
      }
    };

    // Over the limit: the body is read to its end and dropped, then refused (answering while the
    // sender is still sending could reset the connection, which the Document Server would retry).
    const refuse = () => {
      const message = new PayloadTooLargeError('The callback is larger than 20 MB.').message;
      deps.logger.warn({ req: logged, status: 413, reason: message }, 'Document Server request refused');
      answer(res, 413, { error: 1, message });
    };
    let chunks: Buffer[] = [];
    let size = Number(req.headers['content-length']);
    let refused = Number.isFinite(size) && size > maxBodyBytes;
    size = 0;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        chunks = [];
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) refuse();
      else finish(Buffer.concat(chunks, size)).catch(() => res.destroy());
    });
    req.on('error', () => res.destroy());
  };
}
