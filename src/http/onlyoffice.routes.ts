import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { CallbackHandler } from '../domain/callback-handler.js';
import type { FileService } from '../domain/files.js';
import type { EditorService, EditorSetup } from '../domain/editor.js';
import { DomainError, InvalidTokenError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.js';
import { DocumentServerFetchError } from '../onlyoffice/document-server-client.js';
import { verifyDownloadToken } from '../onlyoffice/jwt.js';
import type { CheckFiles } from '../onlyoffice/connection-check.js';
import { createBlankDocument } from '../domain/blank-documents.js';
import { verifyRef } from '../onlyoffice/signed-refs.js';
import type { FileStore } from '../storage/file-store.js';
import type { VersionRepository } from '../data/version-repository.js';
import type { NodeRepository } from '../data/node-repository.js';
import { requireUser } from './middleware/authenticate.js';
import { currentUser } from './request-context.js';
import { sendVersion } from './send-content.js';
import { parseInput } from './validate.js';

interface OnlyofficeRouteDeps {
  clock: Clock;
  appSecret: string;
  editor: EditorService;
  callbacks: CallbackHandler;
  files: FileService;
  nodes: NodeRepository;
  versions: VersionRepository;
  store: FileStore;
  checkFiles: CheckFiles;
}

/** The editor page's query: mode, editor type, and `action` (the editor's actionLink, from a mention). */
export const editorQuerySchema = z.object({
  mode: z.enum(['edit', 'view'], { message: 'mode must be edit or view.' }).optional(),
  type: z.enum(['desktop', 'mobile', 'embedded'], { message: 'type must be desktop, mobile or embedded.' }).optional(),
  action: z
    .string({ message: 'action: expected one JSON object.' })
    .max(2000, 'action: at most 2,000 characters.')
    .transform((text, context) => {
      try {
        const value: unknown = JSON.parse(text);
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
      } catch {
        // reported below
      }
      context.addIssue({ code: 'custom', message: 'action: expected one JSON object.' });
      return z.NEVER;
    })
    .optional(),
});

/**
 * Checks the token the Document Server sends when it downloads a link of ours: it must verify and name
 * this very URL. When it is missing from the configured header but present in another, the error says
 * so, since a header name that differs between the two sides is a common misconfiguration.
 */
function verifyDocumentServerDownload(req: Request, secret: string, header: string, connectorUrl: string): void {
  const value = req.get(header);
  if (value === undefined) {
    const elsewhere = Object.entries(req.headers).find(
      ([name, given]) => name !== header.toLowerCase() && typeof given === 'string' && /^Bearer\s/i.test(given),
    );
    if (elsewhere) {
      throw new InvalidTokenError(
        `the Document Server sent its token in the header "${elsewhere[0]}", but this DMS reads "${header}"; set the JWT header name to the Document Server's JWT_HEADER.`,
      );
    }
  }
  const signedUrl = verifyDownloadToken(secret, value);
  // The token must be for this very link, on the address the Document Server was given: a token for
  // another file's link, or for the same path on another host, is refused.
  if (signedUrl !== `${connectorUrl}${req.originalUrl}`) {
    throw new InvalidTokenError('The download token was issued for another URL.');
  }
}

/** JSON for a data element: nothing in it can close the element or start markup. */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The Document Server's side (server to server): `/download` streams a signed file version, and
 * `/history-file` and `/check-file` serve history and connection-check files. None uses the session
 * cookie: signed references and JWT protect them. (`/track`, the callbacks, is answered before Express:
 * see `track-endpoint.ts`.)
 */
export function documentServerRoutes(deps: OnlyofficeRouteDeps): Router {
  const router = Router();

  const download = async (req: Request, res: Response) => {
    // Editors load a version with a 'download' link; conversions fetch their source with a 'convert' one.
    const link = verifyRef(deps.appSecret, req.query.ref, ['download', 'convert'], deps.clock.now());
    const settings = deps.editor.requireSettings();
    if (settings.jwtSecret) verifyDocumentServerDownload(req, settings.jwtSecret, settings.jwtHeader, settings.connectorUrl);
    const file = deps.nodes.findById(link.f);
    const version = link.v === undefined ? undefined : deps.versions.findById(link.v);
    if (!file || !version || version.fileId !== file.id) throw new NotFoundError('The file of this link no longer exists.');
    await sendVersion(res, deps.store, version, file.name);
  };
  router.get('/download', download);
  router.head('/download', download);

  // Earlier versions and their changes zips, for the editor's version history.
  router.get('/history-file', async (req, res) => {
    const link = verifyRef(deps.appSecret, req.query.ref, ['history', 'changes'], deps.clock.now());
    const settings = deps.editor.requireSettings();
    if (settings.jwtSecret) verifyDocumentServerDownload(req, settings.jwtSecret, settings.jwtHeader, settings.connectorUrl);
    const file = deps.nodes.findById(link.f);
    const version = link.v === undefined ? undefined : deps.versions.findById(link.v);
    if (!file || !version || version.fileId !== file.id) throw new NotFoundError('This version no longer exists.');
    if (link.p === 'history') {
      await sendVersion(res, deps.store, version, file.name);
      return;
    }
    if (!version.changesBlobId) throw new NotFoundError('This version has no changes record.');
    await sendVersion(res, deps.store, { ...version, blobId: version.changesBlobId, sha256: `changes-${version.sha256}` }, 'changes.zip');
  });

  // The connection check's test file: the Document Server fetches it to prove it can reach this DMS.
  router.get('/check-file', (req, res) => {
    const link = verifyRef(deps.appSecret, req.query.ref, 'convert', deps.clock.now());
    // A check started by this process knows the candidate settings; one started elsewhere (the CLI)
    // uses the effective settings.
    const registered = deps.checkFiles.find(link.f);
    const effective = deps.editor.settings();
    const secret = registered ? registered.jwtSecret : effective?.jwtSecret;
    const header = registered ? registered.jwtHeader : (effective?.jwtHeader ?? 'Authorization');
    const connectorUrl = registered ? registered.connectorUrl : (effective?.connectorUrl ?? '');
    if (secret) {
      try {
        verifyDocumentServerDownload(req, secret, header, connectorUrl);
      } catch (error) {
        registered?.refusals.push((error as Error).message);
        throw error;
      }
    }
    res.type('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    res.send(registered?.bytes ?? createBlankDocument('docx'));
  });

  // Errors on these routes answer in the protocol's shape (see documentServerErrorStatus).
  router.use(['/download', '/check-file', '/history-file'], (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const status = documentServerErrorStatus(error);
    if (status === undefined) return next(error);
    const message = error instanceof Error ? error.message : String(error);
    req.log.warn({ status, reason: message }, 'Document Server request refused');
    if (res.headersSent) return res.destroy();
    res.status(status).json({ error: 1, message });
  });

  return router;
}

/**
 * The HTTP status for an error on a route the Document Server calls, in the protocol's terms: it
 * retries a save only on 429/5xx, so 503 is kept for failures where a retry can help, and 422 for a
 * save that can never be fetched. Undefined for errors that are not the caller's (a 500).
 */
export function documentServerErrorStatus(error: unknown): number | undefined {
  if (error instanceof DocumentServerFetchError) return error.transient ? 503 : 422;
  if (error instanceof InvalidTokenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ValidationError) return 400;
  const type = (error as { type?: unknown } | null | undefined)?.type;
  if (error instanceof PayloadTooLargeError || type === 'entity.too.large') return 413;
  if (type === 'entity.parse.failed') return 400;
  if (error instanceof DomainError) return 409;
  return undefined;
}

/** Renders the full-window editor page, with a CSP that lets in only this app and the Document Server. */
export function renderEditorPage(res: Response, setup: EditorSetup): void {
  const dsOrigin = new URL(setup.documentServerUrl).origin;
  res.set(
    'Content-Security-Policy',
    [
      "default-src 'self'",
      `script-src 'self' ${dsOrigin}`,
      `frame-src ${dsOrigin}`,
      `connect-src 'self' ${dsOrigin}`,
      "style-src 'self'",
      "img-src 'self' data:",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'self'",
    ].join('; '),
  );
  res.render('editor', { title: setup.file.name, setup, configJson: jsonForHtml(setup.config), backUrl: setup.backUrl });
}

/** The editor page and its configuration as JSON, for signed-in users. */
export function editorRoutes(deps: OnlyofficeRouteDeps): Router {
  const router = Router();

  /** The signed editor setup for the file in the URL, from the query and the browser's headers. */
  const setupFor = (req: Request, fileId: string) => {
    const { action, ...query } = parseInput(editorQuerySchema, req.query);
    return deps.editor.buildConfig(currentUser(req), fileId, {
      ...query,
      actionLink: action,
      userAgent: req.get('user-agent'),
      acceptLanguage: req.get('accept-language'),
    });
  };

  router.get('/editor/:fileId', requireUser, (req, res) => {
    renderEditorPage(res, setupFor(req, String(req.params.fileId)));
  });

  router.get('/api/files/:id/history', requireUser, (req, res) => {
    res.json(deps.editor.history(currentUser(req), String(req.params.id)));
  });

  router.get('/api/files/:id/history/:number', requireUser, (req, res) => {
    const number = parseInput(z.coerce.number({ message: 'The version number must be a whole number.' }).int().positive(), req.params.number);
    res.json(deps.editor.historyData(currentUser(req), String(req.params.id), number));
  });

  router.get('/api/files/:id/editor-config', requireUser, (req, res) => {
    const setup = setupFor(req, String(req.params.id));
    res.json({ documentServerUrl: setup.documentServerUrl, config: setup.config });
  });

  return router;
}
