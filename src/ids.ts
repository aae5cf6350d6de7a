import crypto from 'node:crypto';

/** A random, URL-safe identifier (128 bits); IDs in URLs are never sequential. */
export function newId(): string {
  return crypto.randomBytes(16).toString('base64url');
}

/** A random secret token (256 bits), for sessions, CSRF and API tokens. */
export function newSecretToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** SHA-256 of a secret token, hex; only this is stored so a database leak reveals no token. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}
