import type { Request } from 'express';
import type { User } from '../data/user-repository.js';
import { UnauthenticatedError } from '../errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The signed-in user, when there is one. */
    user?: User;
    /** How the user proved who they are: a browser session cookie or a personal API token. */
    authVia?: 'session' | 'token';
    /** The session's CSRF token (browser sessions only). */
    csrfToken?: string;
    /** The session cookie's value (browser sessions only). */
    sessionToken?: string;
  }
}

/** The signed-in user of a route that `requireUser` guards. */
export function currentUser(req: Request): User {
  if (!req.user) throw new UnauthenticatedError();
  return req.user;
}

/** Whether the request is for the JSON API (errors answer JSON there, HTML elsewhere). */
export function isApiRequest(req: Request): boolean {
  return req.originalUrl.startsWith('/api/');
}
