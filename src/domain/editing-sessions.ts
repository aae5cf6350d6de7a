import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../data/database.js';
import type { DocumentKeyRecord, DocumentKeyRepository } from '../data/document-key-repository.js';
import type { NodeRecord, NodeRepository } from '../data/node-repository.js';
import type { User, UserRepository } from '../data/user-repository.js';
import { ConflictError } from '../errors.js';
import { postToDocumentServer } from '../onlyoffice/document-server-client.js';
import type { DocumentServerSettings } from './document-server-settings.js';

interface SessionDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  nodes: NodeRepository;
  users: UserRepository;
  documentKeys: DocumentKeyRepository;
  documentServer: () => DocumentServerSettings | undefined;
}

const commandTimeoutMs = 10_000;
/** A session with no callback for this long is asked about with the `info` command. */
export const staleSessionMs = 30 * 60 * 1000;

/**
 * Open editing sessions as locks: what may not happen to a file while people edit it, forcing
 * through (drop the editors, retire the key), and the commands that reach a session (force save, meta).
 */
export class EditingSessions {
  constructor(private readonly deps: SessionDeps) {}

  /** The open session of a file that has editors in it, if any. */
  findOpen(fileId: string): DocumentKeyRecord | undefined {
    const current = this.deps.documentKeys.findCurrent(fileId);
    return current && current.state === 'open' && current.editors.length > 0 ? current : undefined;
  }

  private namesOf(session: DocumentKeyRecord): string {
    return [...new Set(session.editors)].map((id) => this.deps.users.findById(id)?.displayName ?? 'a guest').join(', ');
  }

  /** Sends a command to the Document Server; resolves with its answer, or throws with the cause. */
  async command(claims: Record<string, unknown>): Promise<Record<string, unknown>> {
    const settings = this.deps.documentServer();
    if (!settings) throw new ConflictError('ONLYOFFICE is not configured.', 'document_server_not_configured');
    return postToDocumentServer(settings, '/command', claims, commandTimeoutMs);
  }

  /**
   * Makes sure no editing session blocks changing these files' content or existence. Without `force`
   * an open session is refused with a 409 that names the editors; with `force` the editors are dropped
   * and the key retired, so no stale session can save over what happens next.
   */
  async release(files: NodeRecord[], options: { force?: boolean; action: string }): Promise<void> {
    const open = files.map((file) => ({ file, session: this.findOpen(file.id) })).filter((entry) => entry.session);
    if (open.length === 0) return;
    if (!options.force) {
      const { file, session } = open[0]!;
      throw new ConflictError(
        `"${file.name}" is being edited by ${this.namesOf(session!)}; ${options.action} would throw their work away. Try again when they are done, or force it (their editors are closed first).`,
        'file_locked',
      );
    }
    for (const { file, session } of open) {
      try {
        const answer = await this.command({ c: 'drop', key: session!.key });
        if (Number(answer.error) !== 0) this.deps.logger.warn({ key: session!.key, answer }, 'drop answered an error');
      } catch (error) {
        // The key is retired below either way, so a session that was not dropped cannot save over the file.
        this.deps.logger.warn({ err: error, key: session!.key }, 'could not drop the editors');
      }
      this.retire(file.id, session!.key);
    }
  }

  /**
   * Disconnects some people from the open sessions of these files (a removed share, a revoked link),
   * leaving everyone else editing. `who` picks, per session, the editors to drop; returns how many
   * were asked to leave.
   */
  async dropEditors(files: NodeRecord[], who: (editorId: string, file: NodeRecord) => boolean): Promise<{ dropped: number; ended: number }> {
    let dropped = 0;
    let ended = 0;
    await Promise.all(
      files.map(async (file) => {
        const session = this.findOpen(file.id);
        if (!session) return;
        const users = [...new Set(session.editors)].filter((id) => who(id, file));
        if (users.length === 0) return;
        try {
          const answer = await this.command({ c: 'drop', key: session.key, users });
          const error = Number(answer.error);
          // 1: the Document Server no longer knows the key, so nobody is in it.
          if (error === 0 || error === 1) {
            dropped += users.length;
            return;
          }
          this.deps.logger.warn({ key: session.key, answer }, 'drop answered an error');
        } catch (error) {
          this.deps.logger.warn({ err: error, key: session.key }, 'could not drop editors who lost access');
        }
        // They could not be closed out, so the session ends for everyone: its key is retired and
        // whatever it still saves is kept as a "recovered" version, never as the file's content.
        this.retire(file.id, session.key);
        ended += 1;
      }),
    );
    return { dropped, ended };
  }

  /**
   * Retires the current keys of these files that nobody is editing now, so an editor configuration
   * handed out before someone lost access cannot start a session that changes the file: the next
   * session gets a new key, and whatever the old one saves is kept as a "recovered" version.
   */
  retireIdleKeys(files: NodeRecord[]): void {
    const now = this.deps.clock.now();
    this.deps.db.transaction(() => {
      for (const file of files) {
        if (!this.findOpen(file.id) && this.deps.documentKeys.findCurrent(file.id)) this.deps.documentKeys.retireCurrent(file.id, now);
      }
    })();
  }

  /** Retires a key: its session can no longer change the file (late saves are kept as "recovered"). */
  retire(fileId: string, key: string): void {
    this.deps.db.transaction(() => {
      this.deps.documentKeys.updateState(key, 'closed', this.deps.clock.now());
      if (this.deps.documentKeys.findCurrent(fileId)?.key === key) this.deps.documentKeys.clearCurrent(fileId);
    })();
  }

  /** Asks the Document Server to store the open session now; the checkpoint arrives as a status-6 callback. */
  async forceSave(file: NodeRecord, user: User): Promise<{ started: boolean; message: string }> {
    const session = this.findOpen(file.id);
    if (!session) throw new ConflictError(`"${file.name}" is not open in the editor, so there is nothing to save.`, 'not_editing');
    const answer = await this.command({ c: 'forcesave', key: session.key, userdata: `dms:${user.id}` });
    const error = Number(answer.error);
    if (error === 0) return { started: true, message: 'Saving; the checkpoint appears in the versions in a moment.' };
    if (error === 4) return { started: false, message: 'Nothing to save: there are no changes since the last save.' };
    if (error === 1) throw new ConflictError('The Document Server no longer knows this editing session.', 'not_editing');
    throw new ConflictError(`The Document Server refused the force save (error ${answer.error}).`, 'forcesave_failed');
  }

  /** Tells the editors of an open session about a new file name. */
  async announceRename(file: NodeRecord): Promise<void> {
    const session = this.findOpen(file.id);
    if (!session) return;
    try {
      await this.command({ c: 'meta', key: session.key, meta: { title: file.name } });
    } catch (error) {
      this.deps.logger.warn({ err: error, key: session.key }, 'could not tell the editors about the rename');
    }
  }

  /**
   * Checks sessions that have been silent for a long time with the `info` command, and clears those
   * the Document Server no longer knows (a lost status-4 or status-2 callback).
   */
  async sweepStale(): Promise<number> {
    const cutoff = this.deps.clock.now() - staleSessionMs;
    let cleared = 0;
    for (const session of this.deps.documentKeys.listOpenSessionsSilentSince(cutoff)) {
      try {
        const answer = await this.command({ c: 'info', key: session.key });
        if (Number(answer.error) === 1) {
          this.deps.documentKeys.updateEditors(session.key, [], null, this.deps.clock.now());
          cleared += 1;
        }
      } catch (error) {
        this.deps.logger.warn({ err: error, key: session.key }, 'could not ask the Document Server about a silent session');
      }
    }
    return cleared;
  }
}
