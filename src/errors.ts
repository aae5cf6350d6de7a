/** Domain errors: they know nothing about HTTP; `http/error-handler.ts` maps them to answers. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing does not exist, or the caller may not know that it does. */
export class NotFoundError extends DomainError {
  constructor(message = 'Not found.') {
    super('not_found', message);
  }
}

/** The thing existed but is no longer available (an expired link). */
export class GoneError extends DomainError {
  constructor(message: string) {
    super('gone', message);
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {
  constructor(message = 'You may not do this.') {
    super('forbidden', message);
  }
}

/** The caller is not signed in, or their credentials are wrong. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in first.') {
    super('unauthenticated', message);
  }
}

/** The request clashes with the current state (a duplicate name, a disabled account…). */
export class ConflictError extends DomainError {
  constructor(message: string, code = 'conflict') {
    super(code, message);
  }
}

/** The input is malformed; the message names the field and the problem. */
export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('invalid_input', message);
  }
}

/** The upload is larger than the configured limit. */
export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super('too_large', message);
  }
}

/** The content type is not one this route accepts. */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}

/** Too many attempts; the caller should wait `retryAfterSeconds`. */
export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('too_many_requests', message);
  }
}

/** A signed reference or token was missing, forged, expired or used for something else. */
export class InvalidTokenError extends DomainError {
  constructor(message = 'The token is missing, invalid or expired.') {
    super('invalid_token', message);
  }
}

/** The input is well-formed but cannot be processed as it is (a missing password, an undetectable format …). */
export class UnprocessableError extends DomainError {
  constructor(message: string, code = 'unprocessable') {
    super(code, message);
  }
}

/** An outside service (the Document Server) failed or did not answer: not the caller's mistake. */
export class UpstreamError extends DomainError {
  constructor(message: string, code = 'upstream_failed') {
    super(code, message);
  }
}
