import crypto from 'node:crypto';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import type { Database } from './data/database.js';
import { NotFoundError } from './errors.js';
import { accountsApi } from './http/api/accounts.api.js';
import { conversionsApi } from './http/api/conversions.api.js';
import { filesApi } from './http/api/files.api.js';
import { authRoutes, cookieNames } from './http/auth.routes.js';
import { sharingApi } from './http/api/sharing.api.js';
import { createTrackEndpoint, isTrackRequest } from './http/track-endpoint.js';
import { publicLinkRoutes } from './http/public-links.routes.js';
import { errorHandler } from './http/error-handler.js';
import { healthRoutes } from './http/health.routes.js';
import { identifyCaller, requireUser } from './http/middleware/authenticate.js';
import { verifyCsrf } from './http/middleware/csrf.js';
import { documentServerRoutes, editorRoutes } from './http/onlyoffice.routes.js';
import { pageRoutes } from './http/pages.routes.js';
import { settingsRoutes } from './http/settings.routes.js';
import { createUploads } from './http/uploads.js';
import type { ConversionLimits } from './domain/conversions.js';
import { createServices, type Services } from './services.js';
import type { FileStore } from './storage/file-store.js';

/** Everything the app needs from outside; tests pass temp directories and their own clock. */
export interface AppDeps {
  config: Config;
  db: Database;
  store: FileStore;
  logger: Logger;
  appSecret: string;
  clock?: Clock;
  callbackLimits?: { maxSaveBytes?: number; fetchTimeoutMs?: number };
  checkTimeouts?: { timeoutMs?: number; conversionTimeoutMs?: number; pollIntervalMs?: number };
  conversionLimits?: ConversionLimits;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const utcFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
});
const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** The request's id: the caller's X-Request-Id when it is a sane one, else a new one; echoed back. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Builds the app: the Express app (middleware, routes, 404 and the error handler) and
 * `requestListener`, what an HTTP server should call: it answers the Document Server's callbacks
 * (`POST /track`) directly and hands everything else to Express. It never listens.
 */
export function createApp(deps: AppDeps): Express & { services: Services; requestListener: (req: IncomingMessage, res: ServerResponse) => void } {
  const { config, db, store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const services = createServices({ db, store, clock, logger, config, appSecret: deps.appSecret, callbackLimits: deps.callbackLimits, checkTimeouts: deps.checkTimeouts, conversionLimits: deps.conversionLimits });
  const onlyofficeDeps = {
    clock,
    appSecret: deps.appSecret,
    editor: services.editor,
    callbacks: services.callbacks,
    files: services.files,
    nodes: services.repositories.nodes,
    versions: services.repositories.versions,
    store,
    checkFiles: services.checkFiles,
  };
  const uploads = createUploads(store, config.maxUploadBytes);
  const names = cookieNames(config);
  const app = express();

  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('views', path.join(root, 'views'));
  app.set('view engine', 'ejs');
  // Compiled templates are kept even outside production (npm run dev restarts on changes anyway).
  app.set('view cache', true);
  app.locals.appName = 'ONLYOFFICE Connector';
  app.locals.formatUtc = (moment: Date) => `${utcFormat.format(moment)} UTC`;
  app.locals.publicUrl = config.publicUrl;

  // POST /track is answered before Express by `requestListener`; this keeps it answered for anyone
  // who hands the Express app itself to an HTTP server.
  const track = createTrackEndpoint({ callbacks: services.callbacks, editor: services.editor, logger, requestId });
  app.use((req, res, next) => (isTrackRequest(req) ? track(req, res) : next()));
  app.use(
    pinoHttp({
      logger,
      genReqId: requestId,
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      // Signed links are capabilities: log which route was called, not the reference itself.
      serializers: {
        req(req: { url?: string; query?: Record<string, unknown> }) {
          if (req.url) req.url = req.url.replace(/([?&]ref=)[^&]*/g, '$1[redacted]');
          if (req.query && 'ref' in req.query) req.query = { ...req.query, ref: '[redacted]' };
          return req;
        },
      },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          upgradeInsecureRequests: names.secure ? [] : null,
        },
      },
      strictTransportSecurity: names.secure,
    }),
  );
  app.use(express.static(path.join(root, 'public'), { maxAge: '1h', index: false }));
  // Server-to-server routes for the Document Server: before cookies and the general body parsers.
  app.use(documentServerRoutes(onlyofficeDeps));
  app.use(cookieParser());
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: false, limit: '100kb' }));
  app.use(identifyCaller(services.accounts, names.session));
  app.use((req, res, next) => {
    res.locals.user = req.user;
    res.locals.csrfToken = req.csrfToken;
    res.locals.maxUploadBytes = config.maxUploadBytes;
    res.locals.title = '';
    // The header's notification count, looked up only by pages that show it.
    res.locals.unreadNotifications = () => (req.user ? services.sharing.unreadCount(req.user) : 0);
    next();
  });

  app.use(healthRoutes(db, store));
  app.use('/api', verifyCsrf, accountsApi(services));
  app.use(verifyCsrf, editorRoutes(onlyofficeDeps));
  app.use(verifyCsrf, settingsRoutes(services, config.publicUrl));
  app.use('/api', requireUser, filesApi(services, store, uploads));
  app.use('/api', requireUser, sharingApi(services, config.publicUrl));
  app.use('/api', requireUser, conversionsApi(services));
  app.use('/api', () => {
    throw new NotFoundError('No such API route.');
  });
  app.use(authRoutes(services, config));
  app.use(publicLinkRoutes(services, store, config));
  app.use(verifyCsrf, pageRoutes(services));
  app.use(() => {
    throw new NotFoundError('There is no page at this address.');
  });
  app.use(errorHandler(config.maxUploadBytes / 1024 / 1024));

  const requestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (isTrackRequest(req)) track(req, res);
    else app(req, res);
  };
  return Object.assign(app, { services, requestListener });
}
