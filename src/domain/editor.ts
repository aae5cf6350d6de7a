import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../data/database.js';
import type { DocumentKeyRepository } from '../data/document-key-repository.js';
import type { NodeRecord } from '../data/node-repository.js';
import type { User, UserRepository } from '../data/user-repository.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { findFormat, isEditableFormat, type DocumentType, type FormatInfo } from '../onlyoffice/formats.js';
import { signEditorToken } from '../onlyoffice/jwt.js';
import { createRef } from '../onlyoffice/signed-refs.js';
import type { DocumentServerSettings } from './document-server-settings.js';
import type { FileService } from './files.js';

export type EditorMode = 'edit' | 'view';
export type EditorType = 'desktop' | 'mobile' | 'embedded';

/** `document.permissions` as the editor understands them. */
export interface EditorPermissions {
  edit: boolean;
  review: boolean;
  comment: boolean;
  fillForms: boolean;
  modifyFilter: boolean;
  download: boolean;
  print: boolean;
  copy: boolean;
  chat: boolean;
  protect: boolean;
}

/** The object the editor page hands to `new DocsAPI.DocEditor(…)`. */
export interface EditorConfig {
  document: {
    fileType: string;
    key: string;
    title: string;
    url: string;
    permissions: EditorPermissions;
    info: { owner: string; uploaded: string; folder: string };
  };
  documentType: DocumentType;
  editorConfig: {
    mode: EditorMode;
    callbackUrl?: string;
    lang: string;
    user: { id: string; name: string };
    customization: {
      goback: { url: string; text: string; blank: boolean };
      forcesave: boolean;
      comments: boolean;
      help: boolean;
      feedback: boolean;
      compactHeader: boolean;
      review: { reviewDisplay: 'original' | 'markup' | 'simple' | 'final' };
    };
    coEditing: { mode: 'fast' | 'strict'; change: boolean };
  };
  type: EditorType;
  token?: string;
}

/** What the editor page needs. */
export interface EditorSetup {
  documentServerUrl: string;
  apiScriptUrl: string;
  config: EditorConfig;
  file: NodeRecord;
  /** Whether this user could edit the file (the page offers the switch from view to edit). */
  canEdit: boolean;
}

export interface EditorRequest {
  mode?: EditorMode;
  type?: EditorType;
  userAgent?: string;
  acceptLanguage?: string;
}

/** Who is in a file's editing session. */
export interface EditingStatus {
  users: Array<{ id: string; name: string }>;
  since: string | null;
}

interface EditorDeps {
  users: UserRepository;
  db: Database;
  clock: Clock;
  config: Config;
  /** The effective Document Server settings (undefined while none is configured). */
  documentServer: () => DocumentServerSettings | undefined;
  /** Why the editor cannot be used now, if it cannot. */
  unavailableReason: () => string | undefined;
  appSecret: string;
  files: FileService;
  documentKeys: DocumentKeyRepository;
}

const downloadLinkLifetimeSeconds = 24 * 3600;
const phonePattern = /Mobi|Android|iPhone|iPod|Windows Phone|Opera Mini/i;

/** Opens files in ONLYOFFICE: document keys, signed links and the signed editor configuration. */
export class EditorService {
  /** A short, stable prefix that keeps this instance's keys apart from other DMSs sharing a Document Server. */
  readonly instanceId: string;

  constructor(private readonly deps: EditorDeps) {
    this.instanceId = crypto.createHmac('sha256', deps.appSecret).update('instance-id').digest('base64url').slice(0, 8);
  }

  /** The effective Document Server settings, or undefined while none is configured. */
  settings(): DocumentServerSettings | undefined {
    return this.deps.documentServer();
  }

  /** The settings, or a ConflictError that says how to configure them. */
  requireSettings(): DocumentServerSettings {
    const settings = this.settings();
    if (!settings) throw new ConflictError(this.deps.unavailableReason()!, 'document_server_not_configured');
    return settings;
  }

  /** Why the editor cannot be opened now (not configured, or the last check failed), if it cannot. */
  unavailableReason(): string | undefined {
    return this.deps.unavailableReason();
  }

  /** The editing sessions of the given files, by file id (files nobody is editing are absent). */
  editingStatus(fileIds: string[]): Map<string, EditingStatus> {
    const result = new Map<string, EditingStatus>();
    if (fileIds.length === 0) return result;
    const names = new Map<string, string>();
    const nameOf = (id: string) => {
      let name = names.get(id);
      if (name === undefined) {
        name = this.deps.users.findById(id)?.displayName ?? 'A guest';
        names.set(id, name);
      }
      return name;
    };
    for (const [fileId, session] of this.deps.documentKeys.listEditorsByFile(fileIds)) {
      const unique = [...new Set(session.editors)];
      result.set(fileId, {
        users: unique.map((id) => ({ id, name: nameOf(id) })),
        since: session.since === null ? null : new Date(session.since).toISOString(),
      });
    }
    return result;
  }

  /** The format of a file, and whether this user may edit it, for the file browser's buttons. */
  describe(file: NodeRecord): { format: FormatInfo | undefined; editable: boolean } {
    const format = findFormat(file.name);
    const allowedLossy = this.settings()?.editableLossyFormats ?? [];
    return { format, editable: format !== undefined && isEditableFormat(format, allowedLossy) };
  }

  /**
   * The file's current document key: the open session's key while there is one (force saves keep it),
   * else a new one for the current version.
   */
  currentKey(file: NodeRecord): string {
    return this.deps.db.transaction(() => {
      const current = this.deps.documentKeys.findCurrent(file.id);
      if (current && current.state === 'open') return current.key;
      const key = `${this.instanceId}-${crypto.randomBytes(15).toString('base64url')}`;
      this.deps.documentKeys.insertCurrent(key, file.id, file.currentVersionId!, this.deps.clock.now());
      return key;
    })();
  }

  /** Builds the signed editor configuration for a user and a file. */
  buildConfig(user: User, fileId: string, request: EditorRequest): EditorSetup {
    const settings = this.requireSettings();
    const unavailable = this.deps.unavailableReason();
    if (unavailable) throw new ConflictError(unavailable, 'document_server_unavailable');
    const file = this.deps.files.getFile(user, fileId);
    const { format, editable } = this.describe(file);
    if (!format) throw new ValidationError(`ONLYOFFICE cannot open ${file.name.includes('.') ? `.${file.name.split('.').pop()} files` : 'files without an extension'}.`);
    const canEdit = editable && this.mayChange(user, file);
    const mode: EditorMode = request.mode === 'view' || !canEdit ? 'view' : 'edit';
    const key = this.currentKey(file);
    const now = this.deps.clock.now();
    const folderPath = this.deps.files.getPath(file).slice(0, -1);
    const document = {
      fileType: format.extension,
      key,
      title: file.name,
      url: `${settings.connectorUrl}/download?ref=${createRef(this.deps.appSecret, {
        p: 'download',
        f: file.id,
        v: file.currentVersionId!,
        e: Math.floor(now / 1000) + downloadLinkLifetimeSeconds,
      })}`,
      permissions: this.permissionsFor(format, canEdit, settings),
      info: {
        owner: user.id === file.ownerId ? user.displayName : '',
        uploaded: new Date(file.createdAt).toISOString(),
        folder: folderPath.map((folder, index) => (index === 0 ? 'Home' : folder.name)).join(' / '),
      },
    };
    const editorConfig: EditorConfig['editorConfig'] = {
      mode,
      ...(mode === 'edit'
        ? { callbackUrl: `${settings.connectorUrl}/track?ref=${createRef(this.deps.appSecret, { p: 'track', f: file.id, k: key })}` }
        : {}),
      lang: languageOf(request.acceptLanguage),
      user: { id: user.id, name: user.displayName },
      customization: {
        goback: { url: `${this.deps.config.publicUrl}/folders/${file.parentId}`, text: 'Open file location', blank: settings.openInNewTab },
        forcesave: settings.forceSave,
        comments: settings.customization.comments,
        help: settings.customization.help,
        feedback: settings.customization.feedback,
        compactHeader: settings.customization.compactHeader,
        review: { reviewDisplay: settings.customization.reviewDisplay },
      },
      coEditing: { ...settings.coEditing },
    };
    const signed = { document, documentType: format.documentType, editorConfig };
    const config: EditorConfig = {
      ...signed,
      type: request.type ?? (phonePattern.test(request.userAgent ?? '') ? 'mobile' : 'desktop'),
      ...(settings.jwtSecret ? { token: signEditorToken(settings.jwtSecret, signed) } : {}),
    };
    return {
      documentServerUrl: settings.publicUrl,
      apiScriptUrl: `${settings.publicUrl}/web-apps/apps/api/documents/api.js`,
      config,
      file,
      canEdit,
    };
  }

  /** The version list for the editor's history panel (`onRequestHistory`). */
  history(user: User, fileId: string) {
    const file = this.deps.files.getFile(user, fileId);
    const versions = this.deps.files.listVersions(user, file.id).filter((version) => version.kind !== 'recovered');
    const current = versions.find((version) => version.id === file.currentVersionId);
    return {
      currentVersion: current?.number ?? versions[0]?.number ?? 1,
      history: versions
        .slice()
        .reverse()
        .map((version) => {
          const saved = version.history === null ? undefined : (JSON.parse(version.history) as { changes?: unknown; serverVersion?: unknown });
          return {
            version: version.number,
            key: this.historyKey(version.id),
            created: formatHistoryTime(version.createdAt),
            user: { id: version.authorId ?? '', name: version.authorName ?? 'Unknown' },
            ...(saved?.changes !== undefined ? { changes: saved.changes } : {}),
            ...(saved?.serverVersion !== undefined ? { serverVersion: saved.serverVersion } : {}),
          };
        }),
    };
  }

  /**
   * What the editor needs to show one version (`onRequestHistoryData`): signed, purpose-scoped links to
   * its content, to the previous version and to the changes zip, so the editor can highlight differences.
   */
  historyData(user: User, fileId: string, number: number) {
    const settings = this.requireSettings();
    const file = this.deps.files.getFile(user, fileId);
    const versions = this.deps.files.listVersions(user, file.id).filter((version) => version.kind !== 'recovered');
    const index = versions.findIndex((version) => version.number === number);
    if (index < 0) throw new NotFoundError(`This file has no version ${number}.`);
    const version = versions[index]!;
    const previous = versions[index + 1];
    const fileType = findFormat(file.name)?.extension ?? file.name.split('.').pop()!;
    const expires = Math.floor(this.deps.clock.now() / 1000) + 3600;
    const link = (purpose: 'history' | 'changes', versionId: string) =>
      `${settings.connectorUrl}/history-file?ref=${createRef(this.deps.appSecret, { p: purpose, f: file.id, v: versionId, e: expires })}`;
    const data = {
      version: version.number,
      key: this.historyKey(version.id),
      url: link('history', version.id),
      fileType,
      ...(previous
        ? {
            previous: { key: this.historyKey(previous.id), url: link('history', previous.id), fileType },
            ...(version.changesBlobId ? { changesUrl: link('changes', version.id) } : {}),
          }
        : {}),
    };
    return settings.jwtSecret ? { ...data, token: signEditorToken(settings.jwtSecret, data) } : data;
  }

  /** A stable, unique document key for one stored version, for the history viewer. */
  private historyKey(versionId: string): string {
    return `${this.instanceId}-h${versionId}`;
  }

  /** Owners may change their files (sharing roles come later). */
  private mayChange(user: User, file: NodeRecord): boolean {
    return user.id === file.ownerId;
  }

  /** Maps the user's rights onto the editor's permissions, per document type. */
  private permissionsFor(format: FormatInfo, canEdit: boolean, settings: DocumentServerSettings): EditorPermissions {
    return {
      edit: canEdit,
      review: canEdit && format.documentType === 'word',
      comment: canEdit && format.documentType !== 'diagram' && settings.customization.comments,
      fillForms: canEdit && format.documentType === 'pdf',
      modifyFilter: canEdit && format.documentType === 'cell',
      download: true,
      print: true,
      copy: true,
      chat: canEdit && settings.customization.chat,
      protect: canEdit && format.documentType !== 'diagram',
    };
  }
}

/** "2026-11-25 10:08:20", the time format of the editor's history panel (UTC). */
function formatHistoryTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The editor language from Accept-Language ("de-DE,de;q=0.9" → "de"), defaulting to English. */
function languageOf(acceptLanguage: string | undefined): string {
  const first = acceptLanguage?.split(',')[0]?.split(';')[0]?.trim();
  return first && /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?$/.test(first) ? first.split('-')[0]!.toLowerCase() : 'en';
}
