import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { DomainError, PayloadTooLargeError, ValidationError } from '../errors.js';
import type { FileStore, StagedBlob } from '../storage/file-store.js';

type StagedFile = Express.Multer.File & { staged?: StagedBlob };

/** What a request staged, so a request that fails part-way leaves no temp file behind. */
const stagedByRequest = new WeakMap<Request, { failed: boolean; staged: StagedBlob[]; pending: Array<Promise<unknown>> }>();

function trackingOf(req: Request): { failed: boolean; staged: StagedBlob[]; pending: Array<Promise<unknown>> } {
  let tracking = stagedByRequest.get(req);
  if (!tracking) {
    tracking = { failed: false, staged: [], pending: [] };
    stagedByRequest.set(req, tracking);
  }
  return tracking;
}

/** A multer storage engine that streams each file part straight into the file store's staging area. */
class StagingStorage implements multer.StorageEngine {
  constructor(
    private readonly store: FileStore,
    private readonly maxBytes: number,
    private readonly tooLargeMessage: string,
  ) {}

  _handleFile(req: Request, file: StagedFile, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    const tracking = trackingOf(req);
    const staging = this.store.stage(file.stream, { maxBytes: this.maxBytes, tooLargeMessage: this.tooLargeMessage });
    tracking.pending.push(staging);
    staging
      .then((staged) => {
        // The request may already have failed (a malformed body) while these bytes were being flushed.
        if (tracking.failed) {
          staged.discard();
          return;
        }
        tracking.staged.push(staged);
        file.staged = staged;
        callback(null, { size: staged.size });
      }, callback);
  }

  _removeFile(_req: Request, file: StagedFile, callback: (error: Error | null) => void): void {
    file.staged?.discard();
    callback(null);
  }
}

/** Upload handling bound to the store and the size limit. */
export function createUploads(store: FileStore, maxBytes: number) {
  const maxMb = Math.round((maxBytes / 1024 / 1024) * 100) / 100;
  const tooLargeMessage = `The file is larger than the ${maxMb} MB upload limit.`;
  const single = multer({
    storage: new StagingStorage(store, maxBytes, tooLargeMessage),
    limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 },
    // Browsers send file names as raw UTF-8 in the part header.
    defParamCharset: 'utf8',
  }).single('file');

  /** Refuses a body whose announced length is already over the limit, before reading any of it. */
  function refuseAnnouncedOversize(req: Request): void {
    const announced = Number(req.get('content-length'));
    // Multipart framing adds a little; a body this much over the limit cannot hold a file within it.
    if (Number.isFinite(announced) && announced > maxBytes + 64 * 1024) {
      throw new PayloadTooLargeError(tooLargeMessage);
    }
  }

  return {
    tooLargeMessage,
    /** Parses `multipart/form-data` with one file in the field `file`, staged on disk. */
    multipartFile(req: Request, res: Response, next: NextFunction): void {
      if (!req.is('multipart/form-data')) {
        throw new ValidationError('Send the file as multipart/form-data in the field "file".', 'file');
      }
      refuseAnnouncedOversize(req);
      single(req, res, (error?: unknown) => {
        // Busboy's parse errors ("Boundary not found", "Unexpected end of form") are plain Errors
        // without a code: the client sent a malformed body. Disk errors carry a code and stay 500s.
        const malformed =
          error instanceof Error && !(error instanceof multer.MulterError) && !(error instanceof DomainError) && (error as { code?: unknown }).code === undefined;
        const answer = malformed ? new ValidationError(`The multipart body is malformed: ${error.message}.`, 'file') : error;
        if (!error) return next();
        const tracking = trackingOf(req);
        tracking.failed = true;
        // Answer only once every staging write has stopped and removed its temp file.
        void Promise.allSettled(tracking.pending).then(() => {
          try {
            for (const staged of tracking.staged) staged.discard();
          } finally {
            next(answer);
          }
        });
      });
    },
    /** The staged file of a multipart request, or a ValidationError when there is none. */
    stagedFile(req: Request): { staged: StagedBlob; originalName: string } {
      const file = req.file as StagedFile | undefined;
      if (!file?.staged) throw new ValidationError('The request has no file in the field "file".', 'file');
      return { staged: file.staged, originalName: file.originalname };
    },
    /** Stages a raw request body (any content type but multipart). */
    async stageRawBody(req: Request): Promise<StagedBlob> {
      refuseAnnouncedOversize(req);
      return store.stage(req, { maxBytes, tooLargeMessage });
    },
  };
}

export type Uploads = ReturnType<typeof createUploads>;
