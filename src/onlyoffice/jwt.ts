import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { InvalidTokenError } from '../errors.js';

// The Document Server allows 60 s of clock difference (token.verifyOptions.clockTolerance).
const clockToleranceSeconds = 60;
const editorTokenLifetimeSeconds = 24 * 3600;

let cachedKey: { secret: string; key: KeyObject } | undefined;

/**
 * The secret as a KeyObject. Given a string, jsonwebtoken first tries to parse it as a PEM public or
 * private key and catches the failure, on every call; that exception was most of the cost of a callback.
 */
function keyOf(secret: string): KeyObject {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return cachedKey.key;
}

/** Signs the editor config claims (flat, HS256), as the Document Server checks them with its inbox secret. */
export function signEditorToken(secret: string, claims: object): string {
  return jwt.sign(claims, keyOf(secret), { algorithm: 'HS256', expiresIn: editorTokenLifetimeSeconds });
}

/** Signs a request to the Document Server's command or conversion service (flat claims, 5 minutes). */
export function signRequestToken(secret: string, claims: object): string {
  return jwt.sign(claims, keyOf(secret), { algorithm: 'HS256', expiresIn: 300 });
}

function verify(token: string, secret: string): Record<string, unknown> {
  try {
    const claims = jwt.verify(token, keyOf(secret), { algorithms: ['HS256'], clockTolerance: clockToleranceSeconds });
    if (typeof claims !== 'object' || claims === null) throw new InvalidTokenError('The token has no claims.');
    return claims as Record<string, unknown>;
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    const reason = error instanceof jwt.TokenExpiredError ? 'has expired' : 'does not verify with the shared secret';
    throw new InvalidTokenError(`The Document Server token ${reason}.`);
  }
}

function withoutTimestamps(claims: Record<string, unknown>): Record<string, unknown> {
  const { iat: _iat, exp: _exp, nbf: _nbf, ...rest } = claims;
  return rest;
}

/** The bearer token in a header value ("Bearer xyz"), if any. */
export function bearerToken(headerValue: string | undefined): string | undefined {
  const match = headerValue === undefined ? null : /^Bearer\s+(\S+)$/i.exec(headerValue.trim());
  return match?.[1];
}

/**
 * The verified claims of a Document Server callback: the body token's flat claims when the body has
 * a token (it may carry more than the visible body), else the header token's `payload` (protocol §1.2).
 */
export function verifyCallbackClaims(secret: string, body: unknown, headerValue: string | undefined): Record<string, unknown> {
  const bodyToken = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
  if (typeof bodyToken === 'string') return withoutTimestamps(verify(bodyToken, secret));
  if (bodyToken !== undefined) throw new InvalidTokenError('The callback body token is not a string.');
  const headerToken = bearerToken(headerValue);
  if (!headerToken) throw new InvalidTokenError('The callback carries no token, but a JWT secret is set.');
  const payload = verify(headerToken, secret).payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidTokenError('The callback header token has no payload.');
  }
  return payload as Record<string, unknown>;
}

/** The `payload.url` of the token the Document Server sends with a file download (protocol §2.1). */
export function verifyDownloadToken(secret: string, headerValue: string | undefined): string {
  const token = bearerToken(headerValue);
  if (!token) throw new InvalidTokenError('The download carries no Document Server token, but a JWT secret is set.');
  const payload = verify(token, secret).payload as { url?: unknown } | undefined;
  if (typeof payload?.url !== 'string') throw new InvalidTokenError('The download token does not name a URL.');
  return payload.url;
}
