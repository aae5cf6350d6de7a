import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { DocumentKeyRecord, DocumentKeyRepository } from '../data/document-key-repository.js';
import type { NodeRepository } from '../data/node-repository.js';
import type { UserRepository } from '../data/user-repository.js';
import type { VersionRepository } from '../data/version-repository.js';
import { InvalidTokenError, NotFoundError, ValidationError } from '../errors.js';
import {
  DocumentServerFetchError,
  openDocumentServerFile,
  rebaseOntoDocumentServer,
} from '../onlyoffice/document-server-client.js';
import { findFormat } from '../onlyoffice/formats.js';
import { verifyCallbackClaims } from '../onlyoffice/jwt.js';
import { verifyRef } from '../onlyoffice/signed-refs.js';
import type { FileStore, StagedBlob } from '../storage/file-store.js';
import type { DocumentServerSettings } from './document-server-settings.js';
import type { ConversionService } from './conversions.js';
import type { EditorSaveDetails, FileService } from './files.js';
import { KeyedMutex } from './keyed-mutex.js';
import { extensionOf } from './names.js';

/** Identifies one callback delivery of a key, so a repeated delivery stores nothing twice. */
function markerOf(callback: { status: number; lastsave?: string }): string {
  return `${callback.status}:${callback.lastsave ?? ''}`;
}

/** The callback fields this DMS uses, checked on the verified claims only (protocol §1.3). */
export const callbackSchema = z.object({
  key: z.string().min(1).max(128).regex(/^[0-9a-zA-Z._=-]+$/, 'key: not a document key'),
  status: z.union([1, 2, 3, 4, 6, 7].map((status) => z.literal(status)) as unknown as [z.ZodLiteral<1>, z.ZodLiteral<2>], {
    message: 'status: not a callback status this DMS handles (1, 2, 3, 4, 6, 7)',
  }),
  url: z.string().max(4096).optional(),
  changesurl: z.string().max(4096).optional(),
  history: z.unknown().optional(),
  users: z.array(z.string().max(256)).max(1000).optional(),
  actions: z.array(z.object({ type: z.number(), userid: z.string().max(256) })).max(1000).optional(),
  lastsave: z.string().max(64).optional(),
  notmodified: z.boolean().optional(),
  forcesavetype: z.number().int().optional(),
  filetype: z.string().regex(/^[a-z0-9]{1,10}$/i, 'filetype: not a file extension').optional(),
  userdata: z.string().max(4096).optional(),
});
export type Callback = Omit<z.infer<typeof callbackSchema>, 'status'> & { status: 1 | 2 | 3 | 4 | 6 | 7 };

interface CallbackDeps {
  clock: Clock;
  logger: Logger;
  appSecret: string;
  files: FileService;
  /** Converts saves of lossy formats back to their own format (without it they are kept beside the original). */
  conversions?: ConversionService;
  store: FileStore;
  nodes: NodeRepository;
  versions: VersionRepository;
  users: UserRepository;
  documentKeys: DocumentKeyRepository;
  settings: () => DocumentServerSettings | undefined;
  /** The largest file a save may bring (default 1 GiB). */
  maxSaveBytes?: number;
  /** How long fetching a saved file from the Document Server may take in all (default 5 minutes). */
  fetchTimeoutMs?: number;
}

/**
 * Handles the Document Server's callbacks (`/track`): verifies them, then records editors, stores
 * saves as versions and rotates document keys. Callbacks for one file run one at a time.
 */
export class CallbackHandler {
  private readonly perFile = new KeyedMutex();
  private readonly maxSaveBytes: number;
  private readonly fetchTimeoutMs: number;

  constructor(private readonly deps: CallbackDeps) {
    this.maxSaveBytes = deps.maxSaveBytes ?? 1024 * 1024 * 1024;
    this.fetchTimeoutMs = deps.fetchTimeoutMs ?? 5 * 60 * 1000;
  }

  /** Verifies a callback and acts on it; resolves once everything is committed. */
  /** Verifies and applies one callback; resolves with its (verified) status. */
  async handle(ref: unknown, body: unknown, tokenHeader: string | undefined): Promise<number> {
    const settings = this.deps.settings();
    if (!settings) throw new NotFoundError('ONLYOFFICE is not configured on this DMS.');
    const link = verifyRef(this.deps.appSecret, ref, 'track', this.deps.clock.now());
    const claims = settings.jwtSecret ? verifyCallbackClaims(settings.jwtSecret, body, tokenHeader) : body;
    const parsed = callbackSchema.safeParse(claims);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(`The callback is malformed: ${issue.message}.`);
    }
    const callback = parsed.data as Callback;
    if (callback.key !== link.k) throw new InvalidTokenError('The callback key is not the key this link was issued for.');
    await this.perFile.run(link.f, async () => {
      // Read the key inside the lock: an earlier callback for this file may have just changed it.
      const issued = this.deps.documentKeys.findByKey(callback.key);
      if (!issued || issued.fileId !== link.f || !this.deps.nodes.findById(link.f)) {
        throw new NotFoundError('The callback names a document this DMS does not know.');
      }
      await this.dispatch(callback, issued, settings);
    });
    return callback.status;
  }

  private async dispatch(callback: Callback, issued: DocumentKeyRecord, settings: DocumentServerSettings): Promise<void> {
    const now = this.deps.clock.now();
    const { documentKeys } = this.deps;
    const bringsFile = callback.status === 2 || callback.status === 3 || callback.status === 6;
    // The same delivery again (the Document Server retries 2/3): already stored, nothing to do.
    if (bringsFile && this.deps.versions.existsForCallback(issued.key, markerOf(callback))) return;
    if (issued.state !== 'open') return this.handleEnded(callback, issued, settings);
    switch (callback.status) {
      case 1: {
        const editors = callback.users ?? [];
        documentKeys.updateEditors(issued.key, editors, editors.length > 0 ? (issued.editingSince ?? now) : null, now);
        return;
      }
      case 2:
        if (callback.notmodified) {
          this.endSession(issued, 'saved', true);
          return;
        }
        return this.storeFromDocumentServer(callback, issued, settings, 'edit', () => this.endSession(issued, 'saved', true));
      case 3: {
        const finish = () => {
          documentKeys.updateError(issued.key, 'The Document Server could not build the saved file.', this.deps.clock.now());
          this.endSession(issued, 'closed', true);
        };
        if (callback.url === undefined) return finish();
        return this.storeFromDocumentServer(callback, issued, settings, 'recovered', finish);
      }
      case 4:
        this.endSession(issued, 'closed', issued.forcesaved);
        return;
      case 6:
        return this.storeCheckpoint(callback, issued, settings);
      case 7:
        documentKeys.updateError(issued.key, `Force save failed (${callback.lastsave ?? 'no time given'}).`, now);
        this.deps.logger.warn({ key: issued.key, fileId: issued.fileId }, 'the Document Server reported a failed force save');
        return;
    }
  }

  /**
   * A callback for a key whose session has ended or was retired (dropped so the file could be
   * replaced, restored or deleted). It can never change the file again, but any new bytes it brings
   * are kept as a "recovered" version beside the current one.
   */
  private async handleEnded(callback: Callback, issued: DocumentKeyRecord, settings: DocumentServerSettings): Promise<void> {
    const bringsNewBytes =
      (callback.status === 2 || callback.status === 3 || callback.status === 6) && callback.url !== undefined && !callback.notmodified;
    if (!bringsNewBytes) return;
    this.deps.logger.warn({ key: issued.key, fileId: issued.fileId, status: callback.status }, 'an ended session saved; keeping it as a recovered version');
    await this.storeFromDocumentServer(callback, issued, settings, 'recovered', () => undefined);
  }

  /** Status 6: a checkpoint version; the key stays so the editors stay in one session. */
  private async storeCheckpoint(callback: Callback, issued: DocumentKeyRecord, settings: DocumentServerSettings): Promise<void> {
    const lastsave = callback.lastsave ?? '';
    await this.storeFromDocumentServer(callback, issued, settings, 'checkpoint', () =>
      this.deps.documentKeys.markForcesaved(issued.key, lastsave, this.deps.clock.now()),
    );
    const pruned = this.deps.files.pruneCheckpoints(issued.fileId, settings.checkpointRetention);
    if (pruned.length > 0) {
      this.deps.logger.info({ fileId: issued.fileId, versions: pruned, keep: settings.checkpointRetention }, 'removed old checkpoint versions');
    }
  }

  /**
   * Fetches `url` (and `changesurl`) from the Document Server and commits them with `finish`. The
   * key's state is read again inside the commit: if a forced replace retired it while the bytes were
   * on their way, they are kept as "recovered" instead of becoming current.
   */
  private async storeFromDocumentServer(
    callback: Callback,
    issued: DocumentKeyRecord,
    settings: DocumentServerSettings,
    kind: EditorSaveDetails['kind'],
    finish: () => void,
  ): Promise<void> {
    const file = this.deps.nodes.findById(issued.fileId)!;
    let staged = await this.fetch(callback.url, settings);
    let changes: StagedBlob | undefined;
    try {
      changes = callback.changesurl === undefined ? undefined : await this.fetch(callback.changesurl, settings);
    } catch (error) {
      // The changes zip only serves the history view; the document itself must not wait for it.
      this.deps.logger.warn({ err: error, key: issued.key }, 'could not fetch the changes zip; storing the save without it');
    }
    const lastEditor = callback.users?.[0];
    const details: EditorSaveDetails = {
      kind,
      authorId: lastEditor !== undefined && this.deps.users.findById(lastEditor) ? lastEditor : null,
      documentKey: issued.key,
      history: callback.history === undefined ? undefined : JSON.stringify(callback.history),
      callbackMarker: markerOf(callback),
    };
    const savedType = callback.filetype?.toLowerCase();
    if (savedType && savedType !== extensionOf(file.name) && kind !== 'recovered') {
      const converted = await this.convertBack(callback, issued, settings, savedType, file.name);
      if (converted instanceof Error) {
        const beside = this.deps.files.storeEditorResultBeside(file, savedType, staged, { ...details, changes }, finish);
        this.deps.logger.warn({ fileId: file.id, savedAs: beside.name, reason: converted.message }, 'the editor saved another format; stored as a new file beside the original');
        this.deps.conversions?.addNotice(
          file.id,
          `A save of "${file.name}" came back as .${savedType} and could not be converted back to .${extensionOf(file.name)} (${converted.message}). ` +
            `"${file.name}" is unchanged; the edited content is kept as "${beside.name}" beside it.`,
        );
        return;
      }
      staged.discard();
      staged = converted;
    }
    this.deps.files.storeEditorVersion(file.id, staged, changes, () => {
      const stillOpen = this.deps.documentKeys.findByKey(issued.key)?.state === 'open';
      return stillOpen || kind === 'recovered' ? { details, finish } : { details: { ...details, kind: 'recovered' }, finish: () => undefined };
    });
  }

  /**
   * A lossy format (an .odt edited in place) saved as OOXML is converted back to its own format, so
   * `report.odt` stays an .odt. Returns the staged result, or the Error that says why it cannot be.
   */
  private async convertBack(callback: Callback, issued: DocumentKeyRecord, settings: DocumentServerSettings, savedType: string, name: string): Promise<StagedBlob | Error> {
    const own = findFormat(name);
    const saved = findFormat(`saved.${savedType}`);
    if (!own?.lossy || !saved?.convertTo.includes(own.extension) || !this.deps.conversions) {
      return new Error(`the Document Server cannot convert .${savedType} to .${extensionOf(name)}`);
    }
    // One key per save delivery: a retried delivery reuses the Document Server's result.
    const marker = crypto.createHash('sha256').update(markerOf(callback)).digest('base64url').slice(0, 12);
    try {
      return await this.deps.conversions.convertSaveBack(
        settings,
        { key: `${issued.key}-b${marker}`, url: callback.url!, fileType: savedType, title: `${name.slice(0, name.lastIndexOf('.'))}.${savedType}` },
        own.extension,
      );
    } catch (error) {
      this.deps.logger.warn({ err: error, fileId: issued.fileId }, 'could not convert a save back to its own format');
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async fetch(url: unknown, settings: DocumentServerSettings): Promise<StagedBlob> {
    const source = rebaseOntoDocumentServer(url, settings);
    const signal = AbortSignal.timeout(this.fetchTimeoutMs);
    const stream = await openDocumentServerFile(source, signal, settings);
    try {
      return await this.deps.store.stage(stream, {
        maxBytes: this.maxSaveBytes,
        tooLargeMessage: `The saved file is larger than ${Math.round(this.maxSaveBytes / 1024 / 1024)} MB.`,
      });
    } catch (error) {
      stream.destroy();
      if (error instanceof DocumentServerFetchError) throw error;
      if ((error as { code?: string }).code === 'too_large') throw new DocumentServerFetchError((error as Error).message, false);
      const reason = signal.aborted ? 'timed out' : `broke off (${(error as Error).message})`;
      throw new DocumentServerFetchError(`Fetching the file from the Document Server ${reason}.`, true);
    }
  }

  /**
   * Ends the session on a key. When the stored content changed during it, the key is retired so the
   * next session gets a new one; otherwise the key stays usable (the Document Server's cached copy
   * still matches the stored file).
   */
  private endSession(issued: DocumentKeyRecord, state: 'saved' | 'closed', contentChanged: boolean): void {
    const now = this.deps.clock.now();
    if (!contentChanged) {
      this.deps.documentKeys.updateEditors(issued.key, [], null, now);
      return;
    }
    this.deps.documentKeys.updateState(issued.key, state, now);
    if (this.deps.documentKeys.findCurrent(issued.fileId)?.key === issued.key) {
      this.deps.documentKeys.clearCurrent(issued.fileId);
    }
  }
}
