import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError } from '../../errors.js';
import { newSecretToken } from '../../ids.js';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: unknown, b: string | undefined): boolean {
  if (typeof a !== 'string' || b === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

function submittedToken(req: Request): unknown {
  return req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf;
}

/**
 * State changes made with a session cookie must carry the session's CSRF token (form field `_csrf`
 * or header `X-CSRF-Token`). Calls authenticated by an API token carry no cookie and need none.
 */
export function verifyCsrf(req: Request, _res: Response, next: NextFunction): void {
  if (safeMethods.has(req.method) || req.authVia !== 'session') return next();
  if (!sameToken(submittedToken(req), req.csrfToken)) {
    throw new ForbiddenError('The form has expired or the CSRF token is missing; reload the page and try again.');
  }
  next();
}

/**
 * Before there is a session (sign-in, first-admin set-up), forms are protected by a double-submit
 * token: a random cookie that the form must echo.
 */
export function preSessionCsrf(cookieName: string, secure: boolean) {
  return {
    issue(req: Request, res: Response): string {
      const existing = (req.cookies as Record<string, string> | undefined)?.[cookieName];
      if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
      const token = newSecretToken();
      res.cookie(cookieName, token, { httpOnly: true, sameSite: 'lax', secure, path: '/' });
      return token;
    },
    verify(req: Request, _res: Response, next: NextFunction): void {
      const expected = (req.cookies as Record<string, string> | undefined)?.[cookieName];
      if (!sameToken(submittedToken(req), expected)) {
        throw new ForbiddenError('The form has expired or the CSRF token is missing; reload the page and try again.');
      }
      next();
    },
  };
}
