import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../data/database.js';
import type { DocumentKeyRepository } from '../data/document-key-repository.js';
import type { ListScope, NodeRecord, NodeRepository, Page, PageQuery } from '../data/node-repository.js';
import type { ShareRepository } from '../data/share-repository.js';
import type { User } from '../data/user-repository.js';
import type { VersionKind, VersionRecord, VersionRepository } from '../data/version-repository.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { newId } from '../ids.js';
import type { FileStore, StagedBlob } from '../storage/file-store.js';
import { accessFrom, canWrite, roleLabels, type Access } from './access.js';
import { createBlankDocument, type BlankKind } from './blank-documents.js';
import { firstFreeName, validateName } from './names.js';

interface FileDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  nodes: NodeRepository;
  versions: VersionRepository;
  documentKeys: DocumentKeyRepository;
  shares: ShareRepository;
  store: FileStore;
}

/** What an editing session's save brings besides the bytes. */
export interface EditorSaveDetails {
  kind: Extract<VersionKind, 'edit' | 'checkpoint' | 'recovered'>;
  authorId: string | null;
  documentKey: string;
  history?: string;
  changes?: StagedBlob;
  callbackMarker: string;
}

/** A folder listing: the folder, the path to it, one page of its children and how many there are. */
export interface FolderListing {
  folder: NodeRecord;
  path: NodeRecord[];
  page: Page;
  total: number;
}

/** The folder tree, files and their versions, as one user may see and change them. */
export class FileService {
  constructor(private readonly deps: FileDeps) {}

  /** The user's home folder (created with the account). */
  getHome(user: User): NodeRecord {
    const home = this.deps.nodes.findHome(user.id);
    if (!home) throw new NotFoundError('Your home folder is missing.');
    return home;
  }

  /** What this user may do with a node; undefined when they may not even see it. */
  accessTo(user: User, node: NodeRecord): Access | undefined {
    return accessFrom(user, node, () => this.deps.shares.listForUserOnPath(user.id, node.id));
  }

  /** The user's access to a node they may see; anything else is "not found", so its existence is not revealed. */
  getAccess(user: User, node: NodeRecord): Access {
    const access = this.accessTo(user, node);
    if (!access) throw new NotFoundError('No such file or folder.');
    return access;
  }

  /** A node the user may see; anything else is "not found", so its existence is not revealed. */
  getNode(user: User, id: string): NodeRecord {
    const node = this.deps.nodes.findById(id);
    if (!node) throw new NotFoundError('No such file or folder.');
    this.getAccess(user, node);
    return node;
  }

  /** Throws unless the user may change the node (editors, owners, admins); `action` says what they tried. */
  requireWrite(user: User, node: NodeRecord, action: string): Access {
    const access = this.getAccess(user, node);
    if (!canWrite(access)) {
      throw new ForbiddenError(`"${node.name}" is shared with you as ${roleLabels[access.role]}; only its editors and owner can ${action}.`);
    }
    return access;
  }

  /** Throws unless the user may download the node's content. */
  requireDownload(user: User, node: NodeRecord): Access {
    const access = this.getAccess(user, node);
    if (access.noDownload) throw new ForbiddenError(`The owner of "${node.name}" turned off downloading it for you.`);
    return access;
  }

  /** Throws unless the user may manage the node's shares and links (its owner, or an admin). */
  requireManage(user: User, node: NodeRecord): Access {
    const access = this.getAccess(user, node);
    if (!access.manage) throw new ForbiddenError(`Only the owner of "${node.name}" or an admin can change who it is shared with.`);
    return access;
  }

  /**
   * The folders above a node that this user may see, down to the node: from the home folder for owners
   * and admins, from the highest shared folder for everyone else.
   */
  visiblePath(user: User, node: NodeRecord): NodeRecord[] {
    const path = this.getPath(node);
    const access = this.accessTo(user, node);
    if (!access || access.via !== 'share') return path;
    const sharedIds = new Set(this.deps.shares.listForUserOnPath(user.id, node.id).map((share) => share.nodeId));
    const top = path.findIndex((entry) => sharedIds.has(entry.id));
    return path.slice(Math.max(top, 0));
  }

  getFolder(user: User, id: string): NodeRecord {
    const node = this.getNode(user, id);
    if (node.kind !== 'folder') throw new NotFoundError('No such folder.');
    return node;
  }

  getFile(user: User, id: string): NodeRecord {
    const node = this.getNode(user, id);
    if (node.kind !== 'file') throw new NotFoundError('No such file.');
    return node;
  }

  /** The folders from the home folder down to this node. */
  getPath(node: NodeRecord): NodeRecord[] {
    return this.deps.nodes.listPath(node.id);
  }

  /** One page of a folder's children. */
  listFolder(user: User, folderId: string, query: PageQuery): FolderListing {
    const folder = this.getFolder(user, folderId);
    return {
      folder,
      path: this.visiblePath(user, folder),
      page: this.deps.nodes.listPage({ parentId: folder.id }, query),
      total: this.deps.nodes.countChildren(folder.id),
    };
  }

  /** One page of the files and folders this user owns or was given, whose names contain `text`. */
  search(user: User, text: string, query: PageQuery): Page {
    const scope: ListScope = { visibleTo: user.id, nameContains: text };
    return this.deps.nodes.listPage(scope, query);
  }

  /**
   * The folders this user may put things into, labelled "Home / Projects / 2026" (or "Shared / Team /
   * Plans" for folders shared with them as editor), sorted, for choosing a move target.
   */
  listFolderChoices(user: User): Array<{ id: string; label: string; ownerId: string }> {
    const own = this.deps.nodes.listFoldersOf(user.id);
    const shared = this.deps.shares
      .listSharedWith(user.id)
      .filter((share) => share.role === 'editor')
      .flatMap((share) => this.deps.nodes.listSubtree(share.nodeId).filter((node) => node.kind === 'folder'));
    const byId = new Map([...own, ...shared].map((folder) => [folder.id, folder]));
    const labels = new Map<string, string>();
    const labelOf = (folder: NodeRecord): string => {
      let label = labels.get(folder.id);
      if (label === undefined) {
        const parent = folder.parentId === null ? undefined : byId.get(folder.parentId);
        label = parent ? `${labelOf(parent)} / ${folder.name}` : folder.parentId === null ? 'Home' : `Shared / ${folder.name}`;
        labels.set(folder.id, label);
      }
      return label;
    };
    return [...byId.values()]
      .map((folder) => ({ id: folder.id, label: labelOf(folder), ownerId: folder.ownerId }))
      .sort((a, b) => a.label.localeCompare(b.label));
  }

  createFolder(user: User, parentId: string, nameInput: unknown): NodeRecord {
    const name = validateName(nameInput);
    const parent = this.getFolder(user, parentId);
    this.requireWrite(user, parent, 'add folders to it');
    const id = newId();
    this.deps.db.transaction(() => {
      this.refuseTakenName(parent.id, name);
      // Everything inside a folder belongs to the folder's owner, whoever put it there.
      this.deps.nodes.insert({ id, kind: 'folder', parentId: parent.id, ownerId: parent.ownerId, name, now: this.deps.clock.now() });
    })();
    return this.deps.nodes.findById(id)!;
  }

  /**
   * Adds staged bytes as a new file in a folder; a name already in use gets " (1)", " (2)"….
   * The staged blob is committed or discarded here in every case.
   */
  addFile(user: User, folderId: string, nameInput: unknown, staged: StagedBlob, kind: VersionKind = 'upload'): NodeRecord {
    return this.commitStaged(staged, () => {
      const name = validateName(nameInput);
      const folder = this.getFolder(user, folderId);
      this.requireWrite(user, folder, 'add files to it');
      const freeName = firstFreeName(name, (candidate) => this.deps.nodes.isNameTaken(folder.id, candidate));
      const id = newId();
      const now = this.deps.clock.now();
      this.deps.nodes.insert({ id, kind: 'file', parentId: folder.id, ownerId: folder.ownerId, name: freeName, now });
      this.insertVersion(id, user, staged, kind, now);
      return this.deps.nodes.findById(id)!;
    });
  }

  /** Creates a blank document, spreadsheet, presentation or text file; the extension is added if missing. */
  async createBlank(user: User, folderId: string, nameInput: unknown, kind: BlankKind): Promise<NodeRecord> {
    const name = validateName(nameInput);
    const fullName = name.toLowerCase().endsWith(`.${kind}`) ? name : `${name}.${kind}`;
    const checkedName = validateName(fullName);
    this.requireWrite(user, this.getFolder(user, folderId), 'add files to it');
    const staged = await this.deps.store.stageBuffer(createBlankDocument(kind));
    return this.addFile(user, folderId, checkedName, staged, 'create');
  }

  /** Stores new content for a file as its next version. */
  replaceContent(user: User, fileId: string, staged: StagedBlob, kind: VersionKind = 'upload'): VersionRecord {
    return this.commitStaged(staged, () => {
      const file = this.getFile(user, fileId);
      this.requireWrite(user, file, 'change its content');
      const versionId = this.insertVersion(file.id, user, staged, kind, this.deps.clock.now());
      return this.deps.versions.findById(versionId)!;
    });
  }

  /** Stores an earlier version's content as the newest version (the blob is copied; versions never share one). */
  async restore(user: User, fileId: string, number: number): Promise<VersionRecord> {
    const source = this.getVersion(user, fileId, number);
    this.requireWrite(user, this.getFile(user, fileId), 'restore a version');
    const staged = await this.deps.store.stage(this.deps.store.createReadStream(source.blobId));
    if (staged.sha256 !== source.sha256) {
      staged.discard();
      throw new Error(`version ${number} of ${fileId} does not match its checksum on disk`);
    }
    return this.replaceContent(user, fileId, staged, 'restore');
  }

  /**
   * Keeps at most `keep` checkpoint versions of a file (0 = all). Only checkpoints go, never the current
   * version, uploads, edits or restores; returns the numbers removed so the caller can say so.
   */
  pruneCheckpoints(fileId: string, keep: number): number[] {
    if (keep <= 0) return [];
    const file = this.deps.nodes.findById(fileId);
    if (!file) return [];
    const doomed = this.deps.versions
      .listForFile(fileId)
      .filter((version) => version.kind === 'checkpoint')
      .slice(keep)
      .filter((version) => version.id !== file.currentVersionId);
    if (doomed.length === 0) return [];
    this.deps.db.transaction(() => {
      for (const version of doomed) this.deps.versions.delete(version.id);
    })();
    for (const version of doomed) {
      this.deps.store.remove(version.blobId);
      if (version.changesBlobId) this.deps.store.remove(version.changesBlobId);
    }
    return doomed.map((version) => version.number);
  }

  /** Every file in a node's subtree (the node itself when it is a file). */
  listFilesBelow(node: NodeRecord): NodeRecord[] {
    return node.kind === 'file' ? [node] : this.deps.nodes.listSubtree(node.id).filter((entry) => entry.kind === 'file');
  }

  rename(user: User, id: string, nameInput: unknown): NodeRecord {
    const name = validateName(nameInput);
    const node = this.getNode(user, id);
    if (node.parentId === null) throw new ValidationError('Your home folder cannot be renamed.', 'name');
    this.requireWrite(user, node, 'rename it');
    this.deps.db.transaction(() => {
      if (name !== node.name) this.refuseTakenName(node.parentId!, name, node.id);
      this.deps.nodes.updateName(node.id, name, this.deps.clock.now());
    })();
    return this.deps.nodes.findById(id)!;
  }

  move(user: User, id: string, targetFolderId: unknown): NodeRecord {
    if (typeof targetFolderId !== 'string' || targetFolderId === '') {
      throw new ValidationError('Choose the folder to move to (folderId).', 'folderId');
    }
    const node = this.getNode(user, id);
    if (node.parentId === null) throw new ValidationError('Your home folder cannot be moved.', 'folderId');
    this.requireWrite(user, node, 'move it');
    this.requireLeavable(user, node, 'move it elsewhere');
    const target = this.getFolder(user, targetFolderId);
    if (target.id === node.parentId) return node;
    this.requireWrite(user, target, 'move things into it');
    if (target.ownerId !== node.ownerId) {
      throw new ValidationError(
        `"${node.name}" and the folder "${target.name}" belong to different people, so it cannot be moved there; download it and upload a copy instead.`,
        'folderId',
      );
    }
    if (this.deps.nodes.listPath(target.id).some((ancestor) => ancestor.id === node.id)) {
      throw new ValidationError('A folder cannot be moved into itself or one of its subfolders.', 'folderId');
    }
    this.deps.db.transaction(() => {
      this.refuseTakenName(target.id, node.name);
      this.deps.nodes.updateParent(node.id, target.id, this.deps.clock.now());
    })();
    return this.deps.nodes.findById(id)!;
  }

  /** Throws when this user may not delete the node (the home folder; anything they may not change). */
  assertDeletable(user: User, node: NodeRecord): void {
    if (node.parentId === null) throw new ValidationError('Your home folder cannot be deleted.');
    this.requireWrite(user, node, 'delete it');
    this.requireLeavable(user, node, 'delete it');
  }

  /**
   * Throws when the node is the top of what was shared with this user: taking it out of its folder
   * (moving or deleting it) is for its owner, since the user cannot see that folder.
   */
  private requireLeavable(user: User, node: NodeRecord, action: string): void {
    this.requireWriteToParent(user, node, action);
  }

  /** Throws unless the user may change the folder a node is in (add beside it, take it out). */
  requireWriteToParent(user: User, node: NodeRecord, action: string): void {
    const parent = node.parentId === null ? undefined : this.deps.nodes.findById(node.parentId);
    const parentAccess = parent && this.accessTo(user, parent);
    if (!parentAccess || !canWrite(parentAccess)) {
      throw new ForbiddenError(`"${node.name}" was shared with you; only its owner can ${action}.`);
    }
  }

  /** Deletes a file, or a folder with everything in it, and then their blobs. */
  remove(user: User, id: string): void {
    const node = this.getNode(user, id);
    this.assertDeletable(user, node);
    let blobIds: string[] = [];
    this.deps.db.transaction(() => {
      blobIds = this.deps.nodes
        .listSubtree(node.id)
        .filter((entry) => entry.kind === 'file')
        .flatMap((file) => this.deps.versions.listBlobIdsForFile(file.id));
      this.deps.nodes.delete(node.id);
    })();
    // Blobs go only after the rows are gone: a crash in between leaves unreferenced blobs, never
    // rows pointing at nothing.
    for (const blobId of blobIds) this.deps.store.remove(blobId);
  }

  listVersions(user: User, fileId: string): VersionRecord[] {
    return this.deps.versions.listForFile(this.getFile(user, fileId).id);
  }

  /** A version of a file; `number` undefined means the current one. */
  getVersion(user: User, fileId: string, number?: number): VersionRecord {
    const file = this.getFile(user, fileId);
    const version =
      number === undefined
        ? file.currentVersionId === null
          ? undefined
          : this.deps.versions.findById(file.currentVersionId)
        : this.deps.versions.findByNumber(file.id, number);
    if (!version) throw new NotFoundError(`This file has no version ${number ?? ''}.`.replace(' .', '.'));
    return version;
  }

  private insertVersion(
    fileId: string,
    user: User,
    staged: StagedBlob,
    kind: VersionKind,
    now: number,
  ): string {
    return this.insertVersionRow(fileId, staged, { kind, authorId: user.id }, now);
  }

  private insertVersionRow(
    fileId: string,
    staged: StagedBlob,
    details: { kind: VersionKind; authorId: string | null; documentKey?: string; history?: string; changes?: StagedBlob; callbackMarker?: string },
    now: number,
  ): string {
    const id = newId();
    this.deps.versions.insertNext({
      id,
      fileId,
      kind: details.kind,
      authorId: details.authorId,
      size: staged.size,
      sha256: staged.sha256,
      blobId: staged.blobId,
      createdAt: now,
      documentKey: details.documentKey ?? null,
      history: details.history ?? null,
      changesBlobId: details.changes?.blobId ?? null,
      callbackMarker: details.callbackMarker ?? null,
    });
    // Recovered bytes are kept beside the current content, never in its place.
    if (details.kind !== 'recovered') this.deps.nodes.updateContent(fileId, id, staged.size, now);
    // New content from outside an editing session retires the file's key: the editors' cached copy is
    // stale, so the next session gets a new key and the old one can no longer change the file.
    // A checkpoint keeps the key so co-editors stay together.
    if (details.kind !== 'checkpoint' && details.kind !== 'recovered' && details.kind !== 'edit') {
      this.deps.documentKeys.retireCurrent(fileId, now);
    }
    return id;
  }

  private refuseTakenName(parentId: string, name: string, exceptId?: string): void {
    if (this.deps.nodes.isNameTaken(parentId, name)) {
      const other = exceptId === undefined ? undefined : this.deps.nodes.findById(exceptId);
      // Renaming "a.txt" to "A.txt" touches the same row; everything else is a real clash.
      if (!other || other.name.toLowerCase() !== name.toLowerCase()) {
        throw new ConflictError(`"${name}" already exists in this folder.`, 'name_taken');
      }
    }
  }

  /** Runs the metadata write in a transaction, then moves the bytes into place; on failure drops them. */
  private commitStaged<T>(staged: StagedBlob | StagedBlob[], write: () => T): T {
    const blobs = Array.isArray(staged) ? staged : [staged];
    let result: T;
    try {
      result = this.deps.db.transaction(write)();
    } catch (error) {
      for (const blob of blobs) blob.discard();
      throw error;
    }
    for (const blob of blobs) blob.commit();
    return result;
  }

  /**
   * Stores bytes from an editing session as a version of the file (no access check: the caller
   * verified the Document Server's signed callback). `decide` runs inside the transaction, so it sees
   * the key's state at commit time, and returns the details to store with and what else to record.
   */
  storeEditorVersion(
    fileId: string,
    staged: StagedBlob,
    changes: StagedBlob | undefined,
    decide: () => { details: EditorSaveDetails; finish: () => void },
  ): VersionRecord {
    return this.commitStaged(changes ? [staged, changes] : [staged], () => {
      const { details, finish } = decide();
      const versionId = this.insertVersionRow(fileId, staged, { ...details, changes }, this.deps.clock.now());
      finish();
      return this.deps.versions.findById(versionId)!;
    });
  }

  /**
   * Stores an editing session's result as a new file beside the original (when the Document Server
   * saved in another format), so the original is never silently replaced by another type.
   */
  storeEditorResultBeside(file: NodeRecord, extension: string, staged: StagedBlob, details: EditorSaveDetails, finish: () => void): NodeRecord {
    const blobs = details.changes ? [staged, details.changes] : [staged];
    return this.commitStaged(blobs, () => {
      const stem = file.name.includes('.') ? file.name.slice(0, file.name.lastIndexOf('.')) : file.name;
      const name = firstFreeName(validateName(`${stem} (edited).${extension}`), (candidate) =>
        this.deps.nodes.isNameTaken(file.parentId!, candidate),
      );
      const id = newId();
      const now = this.deps.clock.now();
      this.deps.nodes.insert({ id, kind: 'file', parentId: file.parentId, ownerId: file.ownerId, name, now });
      this.insertVersionRow(id, staged, { ...details, kind: 'edit' }, now);
      finish();
      return this.deps.nodes.findById(id)!;
    });
  }

  /**
   * Stores converted bytes: a new file named after the source with the new extension beside it, or, with
   * `asNewVersion`, the source's next version under that name (refused if the source changed meanwhile).
   * The staged blob is committed or discarded.
   */
  addConvertedContent(
    user: User,
    fileId: string,
    staged: StagedBlob,
    options: { extension: string; asNewVersion: boolean; sourceVersionId: string },
  ): NodeRecord {
    return this.commitStaged(staged, () => {
      const file = this.getFile(user, fileId);
      // A conversion of content that has since been replaced must not become the newest version.
      if (options.asNewVersion && file.currentVersionId !== options.sourceVersionId) {
        throw new ConflictError(`"${file.name}" changed while it was being converted; convert it again.`, 'file_changed');
      }
      const stem = file.name.includes('.') ? file.name.slice(0, file.name.lastIndexOf('.')) : file.name;
      // As a new version the file may keep its own name (a clash with itself is none).
      const isTaken = (candidate: string) =>
        this.deps.nodes.isNameTaken(file.parentId!, candidate) && !(options.asNewVersion && candidate.toLowerCase() === file.name.toLowerCase());
      const name = firstFreeName(validateName(`${stem}.${options.extension}`), isTaken);
      const now = this.deps.clock.now();
      if (options.asNewVersion) {
        this.insertVersion(file.id, user, staged, 'convert', now);
        if (name !== file.name) this.deps.nodes.updateName(file.id, name, now);
        return this.deps.nodes.findById(file.id)!;
      }
      const id = newId();
      this.deps.nodes.insert({ id, kind: 'file', parentId: file.parentId, ownerId: user.id, name, now });
      this.insertVersion(id, user, staged, 'convert', now);
      return this.deps.nodes.findById(id)!;
    });
  }
}
