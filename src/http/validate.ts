import type { Request } from 'express';
import type { z } from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';

/** Parses input with a zod schema; the first problem becomes a ValidationError naming the field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.');
    // zod's own messages ("Invalid input: expected string, received number") do not say which field.
    const message = field && /^(Invalid|Too|Unrecognized)/.test(issue.message) ? `${field}: ${issue.message}` : issue.message;
    throw new ValidationError(message, field || undefined);
  }
  return result.data;
}

/** The JSON object a route expects as its body; other content types get 415, other shapes 400. */
export function jsonBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is(['application/json', 'application/x-www-form-urlencoded'])) {
    throw new UnsupportedMediaTypeError('Send the request body as JSON (Content-Type: application/json).');
  }
  throw new ValidationError('The request body must be a JSON object.');
}
