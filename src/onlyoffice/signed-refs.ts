import crypto from 'node:crypto';
import { z } from 'zod';
import { InvalidTokenError } from '../errors.js';

/** What a signed reference may be used for; a reference made for one purpose fails for any other. */
export type RefPurpose = 'download' | 'track' | 'history' | 'changes' | 'convert';

const claimsSchema = z.object({
  p: z.enum(['download', 'track', 'history', 'changes', 'convert']),
  f: z.string(),
  v: z.string().optional(),
  k: z.string().optional(),
  e: z.number().optional(),
});

/** The claims of a reference: purpose, file, and optionally version, document key and expiry (unix s). */
export type RefClaims = z.infer<typeof claimsSchema>;

function mac(secret: string, payload: string): Buffer {
  return crypto.createHmac('sha256', secret).update(`dms-ref.${payload}`).digest();
}

/**
 * A tamper-proof reference to one file (and version or key) for one purpose, for URLs handed to the
 * Document Server: `base64url(claims).base64url(HMAC-SHA256)`.
 */
export function createRef(secret: string, claims: RefClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** Checks a reference's signature, purpose and expiry; throws InvalidTokenError otherwise. */
export function verifyRef(secret: string, ref: unknown, purpose: RefPurpose | RefPurpose[], nowMs: number): RefClaims {
  if (typeof ref !== 'string' || ref.length > 2048) throw new InvalidTokenError('The link is missing its signed reference.');
  const [payload, signature, extra] = ref.split('.');
  if (!payload || !signature || extra !== undefined) throw new InvalidTokenError('The link reference is malformed.');
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw new InvalidTokenError('The link reference has a bad signature.');
  }
  let claims: RefClaims;
  try {
    claims = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidTokenError('The link reference is malformed.');
  }
  const allowed = Array.isArray(purpose) ? purpose : [purpose];
  if (!allowed.includes(claims.p)) throw new InvalidTokenError(`The link was made for ${claims.p}, not ${allowed.join(' or ')}.`);
  if (claims.e !== undefined && claims.e * 1000 < nowMs) throw new InvalidTokenError('The link has expired.');
  return claims;
}
