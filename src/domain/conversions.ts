import crypto from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ConversionNotice, ConversionNoticeRepository } from '../data/conversion-notice-repository.js';
import type { NodeRecord } from '../data/node-repository.js';
import type { User } from '../data/user-repository.js';
import type { VersionRecord } from '../data/version-repository.js';
import { DomainError, NotFoundError, PayloadTooLargeError, UnprocessableError, UpstreamError, ValidationError } from '../errors.js';
import { newId } from '../ids.js';
import {
  ConversionFailure,
  convertAndWait,
  describeConversionError,
  requestConversion,
  type ConversionAnswer,
  type ConversionRequest,
} from '../onlyoffice/converter.js';
import { DocumentServerFetchError, openDocumentServerFile, rebaseOntoDocumentServer } from '../onlyoffice/document-server-client.js';
import { conversionTargets, findFormat, isEditableFormat, officeOpenXmlTarget, type FormatInfo } from '../onlyoffice/formats.js';
import { createRef } from '../onlyoffice/signed-refs.js';
import type { FileStore, StagedBlob } from '../storage/file-store.js';
import type { DocumentServerSettings } from './document-server-settings.js';
import type { FileService } from './files.js';
import { extensionOf } from './names.js';

/** What a user asks for when converting a file. */
export interface ConvertInput {
  to: string;
  password?: string;
  asNewVersion?: boolean;
  /** The source's format, when its name does not tell (or the Document Server could not detect it). */
  from?: string;
}

/** A conversion that outlived its request, as the browser polls it. */
export interface ConversionJob {
  id: string;
  fileId: string;
  userId: string;
  state: 'running' | 'done' | 'failed';
  percent: number;
  result?: NodeRecord;
  error?: { code: string; message: string };
  createdAt: number;
}

/** The outcome of converting an upload: converted, still converting (a job), or why not. */
export type UploadConversion =
  | { state: 'done'; file: NodeRecord }
  | { state: 'running'; job: ConversionJob }
  | { state: 'failed'; error: { code: string; message: string } };

/** Limits of conversions (tests shorten them). */
export interface ConversionLimits {
  /** Timeout of one request to the conversion service (default 30 s). */
  requestTimeoutMs?: number;
  /** How long a whole conversion may take (default 5 minutes). */
  deadlineMs?: number;
  /** Pause between polls of an asynchronous conversion (default 1 s). */
  pollIntervalMs?: number;
  /** Timeout of fetching a result from the Document Server (default 5 minutes). */
  fetchTimeoutMs?: number;
  /** The largest result accepted (default 1 GiB). */
  maxResultBytes?: number;
}

interface ConversionDeps {
  clock: Clock;
  logger: Logger;
  appSecret: string;
  files: FileService;
  store: FileStore;
  notices: ConversionNoticeRepository;
  /** The effective Document Server settings, if one is configured. */
  settings: () => DocumentServerSettings | undefined;
  /** The settings, or a ConflictError that says how to configure them. */
  requireSettings: () => DocumentServerSettings;
  /** The prefix that keeps this instance's document keys apart from other DMSs sharing a Document Server. */
  instanceId: string;
  limits?: ConversionLimits;
}

/** One conversion request and where its key is remembered once it succeeds. */
interface Attempt {
  request: ConversionRequest;
  slot: string;
}

const jobLifetimeMs = 60 * 60 * 1000;
const maxRemembered = 5000;
const sourceLinkLifetimeSeconds = 3600;

/**
 * Conversions through the Document Server: "Convert to …" (a new file or a new version), "Download as …",
 * conversion of uploads, and converting an edited lossy file back to its own format.
 */
export class ConversionService {
  private readonly jobs = new Map<string, ConversionJob>();
  /** Keys of finished conversions by source version, target and source type: the DS serves them from its cache. */
  private readonly finishedKeys = new Map<string, string>();
  private readonly running = new Set<Promise<void>>();
  private readonly limits: Required<ConversionLimits>;

  constructor(private readonly deps: ConversionDeps) {
    this.limits = {
      requestTimeoutMs: 30_000,
      deadlineMs: 5 * 60_000,
      pollIntervalMs: 1000,
      fetchTimeoutMs: 5 * 60_000,
      maxResultBytes: 1024 * 1024 * 1024,
      ...deps.limits,
    };
  }

  /** What the file page offers: the Office Open XML target of a file that cannot be edited as it is, and the download formats. */
  offersFor(file: NodeRecord): { convertTo?: string; downloadAs: string[] } {
    const format = findFormat(file.name);
    if (!format || !this.deps.settings()) return { downloadAs: [] };
    return { convertTo: format.editable ? undefined : officeOpenXmlTarget(format), downloadAs: format.convertTo };
  }

  /**
   * Converts a file's current version: answers with the new (or renamed) file when the Document Server
   * finishes at once, else with a job the browser polls. Bad input and Document Server errors throw
   * before anything is stored.
   */
  async convert(user: User, fileId: string, input: ConvertInput): Promise<{ file: NodeRecord } | { job: ConversionJob }> {
    const settings = this.deps.requireSettings();
    const file = this.deps.files.getFile(user, fileId);
    const version = this.deps.files.getVersion(user, file.id);
    const { type, format } = this.sourceOf(file, input.from);
    const to = this.checkTarget(file, format, input.to);
    const attempt = this.prepare(settings, file, version, to, type, input.password);
    const first = await this.ask(settings, attempt, file, to, input.password);
    const store = (answer: { fileUrl: string; fileType: string }) => this.storeResult(settings, user, file, version, answer, to, input.asNewVersion === true);
    if (first.state === 'done') {
      this.remember(attempt);
      return { file: await store(first) };
    }
    const job: ConversionJob = { id: newId(), fileId: file.id, userId: user.id, state: 'running', percent: first.state === 'running' ? first.percent : 0, createdAt: this.deps.clock.now() };
    this.addJob(job);
    this.track(
      (async () => {
        try {
          const done = await this.runToEnd(settings, attempt, file, to, input.password, first, (percent) => (job.percent = percent));
          job.result = await store(done);
          job.percent = 100;
          job.state = 'done';
        } catch (error) {
          job.state = 'failed';
          job.error = this.describeFailure(error, file);
        }
      })(),
    );
    return { job };
  }

  /** A conversion job of this user on this file. */
  getJob(user: User, fileId: string, jobId: string): ConversionJob {
    const file = this.deps.files.getFile(user, fileId);
    const job = this.jobs.get(jobId);
    if (!job || job.fileId !== file.id || job.userId !== user.id) {
      throw new NotFoundError('No such conversion: it finished more than an hour ago or the server restarted. Start it again.');
    }
    return job;
  }

  /** Converts the current version on demand and opens the result for streaming to the user. */
  async downloadAs(user: User, fileId: string, target: string, from?: string): Promise<{ name: string; stream: Readable }> {
    const settings = this.deps.requireSettings();
    const file = this.deps.files.getFile(user, fileId);
    this.deps.files.requireDownload(user, file);
    const version = this.deps.files.getVersion(user, file.id);
    const { type, format } = this.sourceOf(file, from);
    const to = this.checkTarget(file, format, target);
    const attempt = this.prepare(settings, file, version, to, type, undefined);
    const done = await this.runToEnd(settings, attempt, file, to, undefined);
    const extension = resultExtension(done.fileType, to);
    return { name: `${stemOf(file.name)}.${extension}`, stream: this.limit(await this.fetchResult(settings, done.fileUrl)) };
  }

  /**
   * Converts a fresh upload to Office Open XML when asked (or by the admin default) and it cannot be
   * edited as it is; the original stays as the first version. A failure leaves the upload as it is.
   */
  async convertUpload(user: User, file: NodeRecord, requested: boolean | undefined): Promise<UploadConversion | undefined> {
    const settings = this.deps.settings();
    if (!(requested ?? settings?.convertOnUpload ?? false)) return undefined;
    const format = findFormat(file.name);
    if (!format || isEditableFormat(format, settings?.editableLossyFormats ?? [])) return undefined;
    const to = officeOpenXmlTarget(format);
    if (!to) return undefined;
    try {
      const outcome = await this.convert(user, file.id, { to, asNewVersion: true });
      return 'file' in outcome ? { state: 'done', file: outcome.file } : { state: 'running', job: outcome.job };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { state: 'failed', error: { code: error.code, message: `Uploaded, but not converted: ${error.message}` } };
    }
  }

  /**
   * Converts a saved file the Document Server holds (a callback's cache link) back to the edited file's
   * own format, and stages the result. Throws ConversionFailure, DocumentServerFetchError or an Error.
   */
  async convertSaveBack(settings: DocumentServerSettings, source: { key: string; url: string; fileType: string; title: string }, to: string): Promise<StagedBlob> {
    const request: ConversionRequest = { key: source.key, url: source.url, filetype: source.fileType, outputtype: to, title: source.title };
    const done = await convertAndWait(settings, request, this.pollOptions());
    if (resultExtension(done.fileType, to) !== to) throw new ConversionFailure(-3, `the Document Server answered with .${done.fileType} instead of .${to}`);
    const stream = await this.fetchResult(settings, done.fileUrl);
    return this.stage(stream);
  }

  /** Records what a user must be told about a file's conversion. */
  addNotice(fileId: string, message: string): void {
    this.deps.notices.insert({ id: newId(), fileId, message, createdAt: this.deps.clock.now() });
  }

  /** The notices of a file the user may see, newest first. */
  listNotices(user: User, fileId: string): ConversionNotice[] {
    return this.deps.notices.listForFile(this.deps.files.getFile(user, fileId).id);
  }

  /** Removes the notices of a file the user may see. */
  clearNotices(user: User, fileId: string): void {
    const file = this.deps.files.getFile(user, fileId);
    this.deps.files.requireWrite(user, file, 'dismiss its notices');
    this.deps.notices.clearForFile(file.id);
  }

  /** Resolves once the background conversions have finished (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private sourceOf(file: NodeRecord, from: string | undefined): { type: string | undefined; format: FormatInfo | undefined } {
    if (from === undefined) {
      const format = findFormat(file.name);
      return { type: format?.extension, format };
    }
    const format = findFormat(`source.${from.replace(/^\./, '').toLowerCase()}`);
    if (!format) throw new ValidationError(`from: ONLYOFFICE does not know the format "${from}"; give an extension such as doc, odt, xls or ppt.`, 'from');
    return { type: format.extension, format };
  }

  private checkTarget(file: NodeRecord, format: FormatInfo | undefined, target: string): string {
    const to = target.replace(/^\./, '').toLowerCase();
    if (format && to === format.extension) throw new ValidationError(`to: "${file.name}" is already a .${to} file.`, 'to');
    const allowed = format ? format.convertTo : conversionTargets;
    if (!allowed.includes(to)) {
      const what = format ? `.${format.extension} files convert to` : 'the Document Server converts to';
      throw new ValidationError(`to: ${what} ${allowed.join(', ')}; not "${target}".`, 'to');
    }
    return to;
  }

  /** The request for a source version and target; a key that converted the same before is reused, so the DS answers from its cache. */
  private prepare(settings: DocumentServerSettings, file: NodeRecord, version: VersionRecord, to: string, type: string | undefined, password: string | undefined): Attempt {
    const slot = `${version.id}|${to}|${type ?? ''}`;
    // The key names the source version and the target, so a changed file is never served an old result;
    // the random part gives a failed attempt's retry a fresh job (the DS keeps a job's error under its key).
    const key = this.finishedKeys.get(slot) ?? `${this.deps.instanceId}-c${version.id}-${to}-${crypto.randomBytes(6).toString('base64url')}`;
    const ref = createRef(this.deps.appSecret, {
      p: 'convert',
      f: file.id,
      v: version.id,
      e: Math.floor(this.deps.clock.now() / 1000) + sourceLinkLifetimeSeconds,
    });
    const title = type !== undefined && extensionOf(file.name) !== type ? `${stemOf(file.name)}.${type}` : file.name;
    return {
      slot,
      request: { key, url: `${settings.connectorUrl}/download?ref=${ref}`, filetype: type, outputtype: to, title, ...(password ? { password } : {}) },
    };
  }

  private remember(attempt: Attempt): void {
    this.finishedKeys.delete(attempt.slot);
    this.finishedKeys.set(attempt.slot, attempt.request.key);
    if (this.finishedKeys.size > maxRemembered) this.finishedKeys.delete(this.finishedKeys.keys().next().value!);
  }

  /** The first answer to a conversion request; a failure becomes the domain error that names its cause. */
  private async ask(settings: DocumentServerSettings, attempt: Attempt, file: NodeRecord, to: string, password: string | undefined): Promise<ConversionAnswer> {
    let answer: ConversionAnswer;
    try {
      answer = await requestConversion(settings, attempt.request, this.limits.requestTimeoutMs);
    } catch (error) {
      throw new UpstreamError(`Could not ask the Document Server to convert "${file.name}": ${(error as Error).message}`, 'document_server_unreachable');
    }
    if (answer.state === 'failed') throw this.failureError(new ConversionFailure(answer.code, describeConversionError(answer.code)), file, to, password);
    return answer;
  }

  /** Polls a conversion to its end; failures become domain errors. */
  private async runToEnd(
    settings: DocumentServerSettings,
    attempt: Attempt,
    file: NodeRecord,
    to: string,
    password: string | undefined,
    first?: ConversionAnswer,
    onProgress?: (percent: number) => void,
  ): Promise<{ fileUrl: string; fileType: string }> {
    const answer = first ?? (await this.ask(settings, attempt, file, to, password));
    try {
      const done = await convertAndWait(settings, attempt.request, { ...this.pollOptions(), onProgress }, answer);
      this.remember(attempt);
      return done;
    } catch (error) {
      if (error instanceof ConversionFailure) throw this.failureError(error, file, to, password);
      throw new UpstreamError(`The Document Server stopped answering while converting "${file.name}": ${(error as Error).message}`, 'document_server_unreachable');
    }
  }

  private pollOptions() {
    return { timeoutMs: this.limits.requestTimeoutMs, deadlineMs: this.limits.deadlineMs, pollIntervalMs: this.limits.pollIntervalMs };
  }

  /** Each Document Server error code as the error that tells the user what to do. */
  private failureError(failure: ConversionFailure, file: NodeRecord, to: string, password: string | undefined): DomainError {
    switch (failure.code) {
      case -5:
        return password
          ? new UnprocessableError(`The password for "${file.name}" is wrong (-5): try again.`, 'password_incorrect')
          : new UnprocessableError(`"${file.name}" is password-protected (-5): enter its password to convert it.`, 'password_required');
      case -9:
        return new UnprocessableError(`The Document Server could not tell which format "${file.name}" is in (-9): choose its format.`, 'type_needed');
      case -3:
        return new UnprocessableError(`"${file.name}" could not be converted to .${to}: ${failure.message}.`, 'conversion_failed');
      case -10:
        return new PayloadTooLargeError(`"${file.name}" could not be converted: ${failure.message}.`);
      case 0:
        return new UpstreamError(`Converting "${file.name}" to .${to} failed: ${failure.message}.`, 'conversion_timeout');
      default:
        return new UpstreamError(`Converting "${file.name}" to .${to} failed: ${failure.message}.`, 'document_server_failed');
    }
  }

  private describeFailure(error: unknown, file: NodeRecord): { code: string; message: string } {
    if (error instanceof DomainError) return { code: error.code, message: error.message };
    this.deps.logger.error({ err: error, fileId: file.id }, 'a conversion failed unexpectedly');
    return { code: 'internal', message: `Converting "${file.name}" failed on this server; the error has been logged.` };
  }

  /** Fetches the result only from the Document Server's internal address (no other host, no redirects, timed). */
  private async fetchResult(settings: DocumentServerSettings, fileUrl: string): Promise<Readable> {
    try {
      const source = rebaseOntoDocumentServer(fileUrl, settings);
      return await openDocumentServerFile(source, AbortSignal.timeout(this.limits.fetchTimeoutMs), settings);
    } catch (error) {
      if (error instanceof DocumentServerFetchError) throw new UpstreamError(`The converted file could not be fetched: ${error.message}`, 'document_server_failed');
      throw error;
    }
  }

  private async stage(stream: Readable): Promise<StagedBlob> {
    try {
      return await this.deps.store.stage(stream, { maxBytes: this.limits.maxResultBytes, tooLargeMessage: this.tooLargeMessage() });
    } catch (error) {
      stream.destroy();
      if (error instanceof DomainError) throw error;
      throw new UpstreamError(`Fetching the converted file from the Document Server broke off (${(error as Error).message}).`, 'document_server_failed');
    }
  }

  private async storeResult(
    settings: DocumentServerSettings,
    user: User,
    file: NodeRecord,
    version: VersionRecord,
    done: { fileUrl: string; fileType: string },
    to: string,
    asNewVersion: boolean,
  ): Promise<NodeRecord> {
    const staged = await this.stage(await this.fetchResult(settings, done.fileUrl));
    return this.deps.files.addConvertedContent(user, file.id, staged, { extension: resultExtension(done.fileType, to), asNewVersion, sourceVersionId: version.id });
  }

  /** Passes a result through, failing it once it grows past the size limit. */
  private limit(stream: Readable): Readable {
    let size = 0;
    const max = this.limits.maxResultBytes;
    const message = this.tooLargeMessage();
    const limited = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(size > max ? new PayloadTooLargeError(message) : null, chunk);
      },
    });
    stream.on('error', (error) => limited.destroy(error));
    limited.on('close', () => stream.destroy());
    return stream.pipe(limited);
  }

  private tooLargeMessage(): string {
    return `The converted file is larger than ${Math.round(this.limits.maxResultBytes / 1024 / 1024)} MB.`;
  }

  private addJob(job: ConversionJob): void {
    const now = this.deps.clock.now();
    for (const [id, entry] of this.jobs) if (entry.state !== 'running' && entry.createdAt + jobLifetimeMs < now) this.jobs.delete(id);
    this.jobs.set(job.id, job);
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }
}

/** The name without its extension. */
function stemOf(name: string): string {
  return name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name;
}

/** The extension of a conversion result: the type the Document Server reports, if it looks like one. */
function resultExtension(reported: string, requested: string): string {
  return /^[a-z0-9]{1,10}$/.test(reported) ? reported : requested;
}
