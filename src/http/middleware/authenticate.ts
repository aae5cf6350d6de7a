import type { NextFunction, Request, Response } from 'express';
import type { AccountService } from '../../domain/accounts.js';
import { ForbiddenError, UnauthenticatedError } from '../../errors.js';
import { isApiRequest } from '../request-context.js';

/** Finds who is calling: a personal API token (Authorization: Bearer) or the session cookie. */
export function identifyCaller(accounts: AccountService, sessionCookie: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.get('authorization');
    if (header !== undefined && /^bearer /i.test(header)) {
      const user = accounts.findUserByApiToken(header.slice(7).trim());
      if (!user) throw new UnauthenticatedError('The API token is invalid or has been revoked.');
      req.user = user;
      req.authVia = 'token';
    } else {
      const token = (req.cookies as Record<string, string> | undefined)?.[sessionCookie];
      const session = token ? accounts.findSession(token) : undefined;
      if (session) {
        req.user = session.user;
        req.authVia = 'session';
        req.csrfToken = session.csrfToken;
        req.sessionToken = token;
      }
    }
    next();
  };
}

/** Lets only signed-in users through: pages redirect to the sign-in page, the API answers 401. */
export function requireUser(req: Request, res: Response, next: NextFunction): void {
  if (req.user) return next();
  if (isApiRequest(req) || req.method !== 'GET') throw new UnauthenticatedError();
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
}

/** Lets only admins through. */
export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  requireUser(req, res, () => {
    if (req.user?.role !== 'admin') throw new ForbiddenError('Only admins may do this.');
    next();
  });
}
