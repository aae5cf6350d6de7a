import type { DocumentServerSettings } from '../domain/document-server-settings.js';
import { postToDocumentServer } from './document-server-client.js';

/** The fields of a conversion request this DMS sends (protocol §3); the token carries them all. */
export interface ConversionRequest {
  key: string;
  url: string;
  /** The source format; left out when unknown, so the Document Server detects it from the content. */
  filetype?: string;
  outputtype: string;
  title: string;
  password?: string;
}

/** One answer of the conversion service: still working, done with a result link, or an error code. */
export type ConversionAnswer =
  | { state: 'running'; percent: number }
  | { state: 'done'; fileUrl: string; fileType: string }
  | { state: 'failed'; code: number };

/** A conversion the Document Server refused or could not finish; `code` is its error code (§3), or 0 for our own deadline. */
export class ConversionFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConversionFailure';
  }
}

/** What each conversion error code means, in words a user or admin can act on. */
const errorMeanings: Record<number, string> = {
  [-1]: 'the Document Server reported an unknown or storage error (-1); see its converter log',
  [-2]: 'the conversion timed out on the Document Server (-2); it may be overloaded, try again later',
  [-3]: 'the Document Server could not convert the file (-3): it may be damaged or not what its extension says',
  [-4]: 'the Document Server could not download the file from this DMS (-4): check the address the Document Server uses for this DMS',
  [-5]: 'the file is password-protected and the password is missing or wrong (-5)',
  [-6]: 'the Document Server could not reach its queue or result database (-6); try again later',
  [-7]: 'the Document Server refused the conversion request as malformed (-7)',
  [-8]: 'the Document Server rejected the conversion token (-8): the JWT secret here differs from its JWT_SECRET, or the clocks differ',
  [-9]: 'the Document Server could not detect the file format (-9): say which format the file is in',
  [-10]: "the file is over the Document Server's size limit (-10)",
};

/** The meaning of a conversion error code. */
export function describeConversionError(code: number): string {
  return errorMeanings[code] ?? `the conversion failed with error ${code}`;
}

/** Posts one signed conversion request (the first, or a poll of the same job) and reads the answer. */
export async function requestConversion(settings: DocumentServerSettings, request: ConversionRequest, timeoutMs: number): Promise<ConversionAnswer> {
  const claims: Record<string, unknown> = { async: true, ...request };
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  const answer = await postToDocumentServer(settings, '/converter', claims, timeoutMs);
  if (answer.error !== undefined && Number(answer.error) !== 0) return { state: 'failed', code: Number(answer.error) };
  if (answer.endConvert === true && typeof answer.fileUrl === 'string') {
    return { state: 'done', fileUrl: answer.fileUrl, fileType: typeof answer.fileType === 'string' ? answer.fileType.toLowerCase() : request.outputtype };
  }
  const percent = Number(answer.percent);
  return { state: 'running', percent: Number.isFinite(percent) ? Math.max(0, Math.min(99, percent)) : 0 };
}

/** Limits of a conversion that is polled to its end. */
export interface PollOptions {
  /** Timeout of one request to the conversion service. */
  timeoutMs: number;
  /** How long the whole conversion may take. */
  deadlineMs: number;
  pollIntervalMs: number;
  onProgress?: (percent: number) => void;
}

/**
 * Polls a conversion job (re-sending the identical request, as the Document Server expects) until it
 * is done; throws ConversionFailure with the Document Server's code, or code 0 past the deadline.
 */
export async function convertAndWait(
  settings: DocumentServerSettings,
  request: ConversionRequest,
  options: PollOptions,
  first?: ConversionAnswer,
): Promise<{ fileUrl: string; fileType: string }> {
  const deadline = Date.now() + options.deadlineMs;
  let answer = first ?? (await requestConversion(settings, request, options.timeoutMs));
  for (;;) {
    if (answer.state === 'failed') throw new ConversionFailure(answer.code, describeConversionError(answer.code));
    if (answer.state === 'done') return answer;
    options.onProgress?.(answer.percent);
    if (Date.now() > deadline) {
      throw new ConversionFailure(0, `the Document Server did not finish the conversion within ${Math.round(options.deadlineMs / 1000)} s; it may be overloaded, try again later`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
    answer = await requestConversion(settings, request, options.timeoutMs);
  }
}
