import { Router, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import { DomainError, TooManyRequestsError, ValidationError } from '../errors.js';
import type { Services } from '../services.js';
import { clientAddress } from './api/accounts.api.js';
import { preSessionCsrf, verifyCsrf } from './middleware/csrf.js';
import { jsonBody } from './validate.js';

/** Cookie names; `__Host-` pins the session cookie to this exact origin when served over https. */
export function cookieNames(config: Config) {
  const secure = config.publicUrl.startsWith('https://');
  return {
    secure,
    session: secure ? '__Host-dms_session' : 'dms_session',
    preSessionCsrf: secure ? '__Host-dms_csrf' : 'dms_csrf',
  };
}

/** Only same-site paths may be a post-login destination (no open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

/** First-admin set-up, sign-in and sign-out pages. */
export function authRoutes(services: Services, config: Config): Router {
  const router = Router();
  const { accounts } = services;
  const names = cookieNames(config);
  const formCsrf = preSessionCsrf(names.preSessionCsrf, names.secure);

  function startSession(res: Response, userId: string): void {
    const session = accounts.createSession(userId);
    res.cookie(names.session, session.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: names.secure,
      path: '/',
      expires: new Date(session.expiresAt),
    });
  }

  function renderForm(req: Request, res: Response, view: 'login' | 'setup', status: number, extra: Record<string, unknown>) {
    res.status(status).render(view, {
      title: view === 'login' ? 'Sign in' : 'Create the first admin',
      formCsrf: formCsrf.issue(req, res),
      next: safeNext(req.query.next),
      error: undefined,
      values: {},
      ...extra,
    });
  }

  router.get('/setup', (req, res) => {
    if (!accounts.isSetupNeeded()) return res.redirect(303, '/login');
    renderForm(req, res, 'setup', 200, {});
  });

  router.post('/setup', formCsrf.verify, async (req, res) => {
    const body = jsonBody(req);
    try {
      if (body.passwordConfirm !== undefined && body.password !== body.passwordConfirm) {
        throw new ValidationError('The two passwords differ; type the same password twice.', 'passwordConfirm');
      }
      const user = await accounts.createFirstAdmin({
        username: body.username as string,
        displayName: body.displayName as string | undefined,
        password: body.password as string,
      });
      startSession(res, user.id);
      res.redirect(303, '/');
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      renderForm(req, res, 'setup', 400, { error: error.message, values: { username: body.username, displayName: body.displayName } });
    }
  });

  router.get('/login', (req, res) => {
    if (accounts.isSetupNeeded()) return res.redirect(303, '/setup');
    if (req.user) return res.redirect(303, safeNext(req.query.next));
    renderForm(req, res, 'login', 200, {});
  });

  router.post('/login', formCsrf.verify, async (req, res) => {
    const body = jsonBody(req);
    try {
      const user = await accounts.authenticate(body.username, body.password, clientAddress(req));
      startSession(res, user.id);
      res.redirect(303, safeNext(body.next));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
      const status = error instanceof TooManyRequestsError ? 429 : error.code === 'forbidden' ? 403 : 401;
      renderForm(req, res, 'login', status, { error: error.message, values: { username: body.username }, next: safeNext(body.next) });
    }
  });

  router.post('/logout', verifyCsrf, (req, res) => {
    const token = (req.cookies as Record<string, string> | undefined)?.[names.session];
    if (token) accounts.endSession(token);
    res.clearCookie(names.session, { path: '/', secure: names.secure, httpOnly: true, sameSite: 'lax' });
    res.redirect(303, '/login');
  });

  return router;
}
