import { z } from 'zod';
import type { PageCursor, PageQuery } from '../data/node-repository.js';
import { ValidationError } from '../errors.js';
import { parseInput } from './validate.js';

const cursorSchema = z.object({
  rank: z.union([z.literal(0), z.literal(1)]),
  value: z.union([z.string(), z.number()]),
  id: z.string().max(64),
  back: z.boolean(),
});

export const listingQuerySchema = z.object({
  sort: z.enum(['name', 'modified', 'size'], { message: 'sort must be name, modified or size.' }).default('name'),
  order: z.enum(['asc', 'desc'], { message: 'order must be asc or desc.' }).default('asc'),
  limit: z.coerce.number({ message: 'limit must be a number.' }).int().min(1, 'limit must be at least 1.').max(200, 'limit must be at most 200.').default(50),
  cursor: z.string().max(2048).optional(),
  q: z.string().trim().max(255, 'The search text must be at most 255 characters.').optional(),
});

export type ListingQuery = z.output<typeof listingQuerySchema>;

function decodeCursor(text: string): PageCursor {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('cursor: not a cursor this server issued; start from the first page.', 'cursor');
  }
}

/** Reads sort, order, limit, cursor and search text from a query string. */
export function parseListingQuery(query: unknown): { page: PageQuery; text: string | undefined; raw: ListingQuery } {
  const raw = parseInput(listingQuerySchema, query);
  return {
    raw,
    text: raw.q === '' ? undefined : raw.q,
    page: {
      sort: raw.sort,
      order: raw.order,
      limit: raw.limit,
      cursor: raw.cursor ? decodeCursor(raw.cursor) : undefined,
    },
  };
}
