import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../data/database.js';
import type { DocumentKeyRepository } from '../data/document-key-repository.js';
import type { NodeRecord } from '../data/node-repository.js';
import type { ShareRepository } from '../data/share-repository.js';
import type { User, UserRepository } from '../data/user-repository.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { findFormat, isEditableFormat, type DocumentType, type FormatInfo } from '../onlyoffice/formats.js';
import { signEditorToken } from '../onlyoffice/jwt.js';
import { editorRights, type EditorMode, type EditorPermissions } from '../onlyoffice/permissions.js';
import { createRef } from '../onlyoffice/signed-refs.js';
import { canWrite, roleLabels, type Access } from './access.js';
import type { DocumentServerSettings } from './document-server-settings.js';
import type { FileService } from './files.js';

export type { EditorMode, EditorPermissions } from '../onlyoffice/permissions.js';
export type EditorType = 'desktop' | 'mobile' | 'embedded';

/** Who opens the editor: a signed-in user, or a guest who came by a public link. */
export interface EditorPerson {
  id: string;
  name: string;
  guest: boolean;
}

/** The object the editor page hands to `new DocsAPI.DocEditor(…)`. */
export interface EditorConfig {
  document: {
    fileType: string;
    key: string;
    title: string;
    url: string;
    permissions: EditorPermissions;
    info: { owner: string; uploaded: string; folder: string; sharingSettings: Array<{ user: string; permissions: string }> };
  };
  documentType: DocumentType;
  editorConfig: {
    mode: EditorMode;
    callbackUrl?: string;
    actionLink?: Record<string, unknown>;
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
  /** Whether this person could join the editing session (the viewer offers the switch to edit). */
  canEdit: boolean;
  /** Whether this person may rename the file and restore versions from inside the editor. */
  canWrite: boolean;
  guest: boolean;
  /** Where "back" and the editor's "Open file location" go, relative to this app. */
  backUrl: string;
}

export interface EditorRequest {
  mode?: EditorMode;
  type?: EditorType;
  userAgent?: string;
  acceptLanguage?: string;
  /** Where the editor should jump to (a mention's comment), as the editor gave it. */
  actionLink?: Record<string, unknown>;
  /** The page the editor's "Open file location" goes to. */
  backUrl?: string;
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
  shares: ShareRepository;
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

  /** Builds the signed editor configuration for a signed-in user and a file they may see. */
  buildConfig(user: User, fileId: string, request: EditorRequest): EditorSetup {
    const file = this.deps.files.getFile(user, fileId);
    const access = this.deps.files.getAccess(user, file);
    const folderPath = this.deps.files.visiblePath(user, file).slice(0, -1);
    const parentVisible = folderPath.some((folder) => folder.id === file.parentId);
    return this.buildConfigFor({ id: user.id, name: user.displayName, guest: false }, file, access, {
      ...request,
      backUrl: request.backUrl ?? (parentVisible ? `/folders/${file.parentId}` : '/shared'),
      folder: folderPath.map((folder, index) => (index === 0 && folder.parentId === null ? 'Home' : folder.name)).join(' / '),
    });
  }

  /**
   * Builds the signed editor configuration for anyone with the given access to a file: the mode and
   * permissions follow the access (see `editorRights`), and only people who may join the editing
   * session get a callback URL.
   */
  buildConfigFor(person: EditorPerson, file: NodeRecord, access: Access, request: EditorRequest & { folder?: string }): EditorSetup {
    const settings = this.requireSettings();
    const unavailable = this.deps.unavailableReason();
    if (unavailable) throw new ConflictError(unavailable, 'document_server_unavailable');
    const { format, editable } = this.describe(file);
    if (!format) throw new ValidationError(`ONLYOFFICE cannot open ${file.name.includes('.') ? `.${file.name.split('.').pop()} files` : 'files without an extension'}.`);
    const rights = editorRights(access, {
      documentType: format.documentType,
      editable,
      wantView: request.mode === 'view',
      comments: settings.customization.comments,
      chat: settings.customization.chat,
    });
    const mode = rights.mode;
    const key = this.currentKey(file);
    const now = this.deps.clock.now();
    const backUrl = request.backUrl ?? `/folders/${file.parentId}`;
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
      permissions: rights.permissions,
      info: {
        owner: this.deps.users.findById(file.ownerId)?.displayName ?? '',
        uploaded: new Date(file.createdAt).toISOString(),
        folder: request.folder ?? '',
        sharingSettings: person.guest ? [] : this.sharingSettings(file),
      },
    };
    const editorConfig: EditorConfig['editorConfig'] = {
      mode,
      ...(mode === 'edit'
        ? { callbackUrl: `${settings.connectorUrl}/track?ref=${createRef(this.deps.appSecret, { p: 'track', f: file.id, k: key })}` }
        : {}),
      ...(request.actionLink && mode === 'edit' ? { actionLink: request.actionLink } : {}),
      lang: languageOf(request.acceptLanguage),
      user: { id: person.id, name: person.name },
      customization: {
        goback: { url: `${this.deps.config.publicUrl}${backUrl}`, text: person.guest ? 'Back to the shared file' : 'Open file location', blank: settings.openInNewTab },
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
      canEdit: rights.mayOpenForEditing,
      canWrite: canWrite(access) && !person.guest,
      guest: person.guest,
      backUrl,
    };
  }

  /** Who else has access, for the editor's information panel: the owner and every share on the way down. */
  private sharingSettings(file: NodeRecord): Array<{ user: string; permissions: string }> {
    const owner = this.deps.users.findById(file.ownerId);
    const shared = this.deps.shares.listOnPath(file.id).map((share) => ({ user: share.displayName, permissions: capitalise(roleLabels[share.role]) }));
    return [...(owner ? [{ user: owner.displayName, permissions: 'Owner' }] : []), ...shared];
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

}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
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
