import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  GoneError,
  InvalidTokenError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  UpstreamError,
  ValidationError,
} from '../errors.js';
import { isApiRequest } from './request-context.js';

/** The one table from domain error to HTTP status. */
const statusByError: Array<[new (...args: never[]) => DomainError, number]> = [
  [ValidationError, 400],
  [UnauthenticatedError, 401],
  [InvalidTokenError, 403],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [GoneError, 410],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UnprocessableError, 422],
  [UpstreamError, 502],
  [TooManyRequestsError, 429],
];

interface HttpAnswer {
  status: number;
  code: string;
  message: string;
}

function multerAnswer(error: multer.MulterError, maxUploadMb: number): HttpAnswer {
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return { status: 413, code: 'too_large', message: `The file is larger than the ${maxUploadMb} MB upload limit.` };
    case 'LIMIT_UNEXPECTED_FILE':
      return { status: 400, code: 'invalid_input', message: 'Send exactly one file, in the multipart field "file".' };
    default:
      return { status: 400, code: 'invalid_input', message: `The upload is malformed: ${error.message}.` };
  }
}

/** Turns an error into the answer the caller gets; unknown errors become a 500 with no internals. */
function toAnswer(error: unknown, maxUploadMb: number): HttpAnswer {
  if (error instanceof DomainError) {
    const status = statusByError.find(([type]) => error instanceof type)?.[1] ?? 400;
    return { status, code: error.code, message: error.message };
  }
  if (error instanceof multer.MulterError) return multerAnswer(error, maxUploadMb);
  const bodyError = error as { type?: string; status?: number; expose?: boolean };
  if (bodyError.type === 'entity.parse.failed') {
    return { status: 400, code: 'invalid_json', message: 'The request body is not valid JSON.' };
  }
  if (bodyError.type === 'entity.too.large') {
    return { status: 413, code: 'too_large', message: 'The request body is too large.' };
  }
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    const message = bodyError.expose ? (error as Error).message : error instanceof URIError ? 'The address is not valid (bad percent-encoding).' : 'The request is malformed.';
    return { status: bodyError.status, code: 'bad_request', message };
  }
  return { status: 500, code: 'internal', message: 'Something went wrong on the server; the error has been logged.' };
}

/** The last middleware: JSON for the API, an HTML page for browsers. */
export function errorHandler(maxUploadMb: number) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const answer = toAnswer(error, maxUploadMb);
    if (answer.status >= 500) req.log.error({ err: error }, 'request failed');
    else req.log.info({ code: answer.code, status: answer.status }, answer.message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
    res.status(answer.status);
    if (isApiRequest(req) || !req.accepts('html')) {
      res.json({ error: { code: answer.code, message: answer.message } });
      return;
    }
    res.render('error', { title: titleFor(answer.status), status: answer.status, message: answer.message });
  };
}

function titleFor(status: number): string {
  if (status === 404) return 'Not found';
  if (status === 403) return 'Not allowed';
  if (status === 401) return 'Sign in first';
  if (status >= 500) return 'Server error';
  return 'That did not work';
}
