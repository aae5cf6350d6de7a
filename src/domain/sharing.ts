import crypto from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../data/database.js';
import type { ListedNode, NodeRecord, NodeRepository } from '../data/node-repository.js';
import type { NotificationRecord, NotificationRepository } from '../data/notification-repository.js';
import type { ListedShare, ShareLinkRecord, ShareRecord, ShareRepository, ShareRole } from '../data/share-repository.js';
import type { User, UserRepository } from '../data/user-repository.js';
import { ForbiddenError, GoneError, NotFoundError, TooManyRequestsError, UnauthenticatedError, ValidationError } from '../errors.js';
import { hashToken, newId, newSecretToken } from '../ids.js';
import { atLeast, isDowngrade, roleLabels, type Access } from './access.js';
import type { EditingSessions } from './editing-sessions.js';
import type { FileService } from './files.js';
import { hashPassword, verifyPassword } from './passwords.js';

interface SharingDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  appSecret: string;
  files: FileService;
  sessions: EditingSessions;
  nodes: NodeRepository;
  users: UserRepository;
  shares: ShareRepository;
  notifications: NotificationRepository;
}

/**
 * A share as a share list shows it; `inheritedFrom` is set when it comes from a folder above, and names
 * that folder when the viewer of the list may see it.
 */
export interface ShareEntry extends ListedShare {
  inheritedFrom: { id: string; name: string } | { id: null; name: null } | null;
}

/** A public link as its manager sees it (the token is shown only once, when the link is made). */
export interface LinkEntry {
  id: string;
  role: ShareRole;
  noDownload: boolean;
  hasPassword: boolean;
  expiresAt: number | null;
  expired: boolean;
  createdAt: number;
}

/** The people in each open editing session below a node, with the access they had. */
export type EditorSnapshot = Array<{ fileId: string; editors: Map<string, { user: User; access: Access }> }>;

/** A link that works now, and the file behind it. */
export interface OpenLink {
  link: ShareLinkRecord;
  file: NodeRecord;
  access: Access;
}

const guestPrefix = 'g-';

/** The editor user id of a guest who came by a link: tied to the link, so revoking it finds them. */
export function guestUserId(linkId: string, guestId: string): string {
  return `${guestPrefix}${linkId}-${guestId}`;
}

/**
 * Sharing: shares with people (a folder share covers everything inside), public links, and the
 * notifications people see (shares and mentions). Taking access away also takes the person out of open
 * editing sessions, with the Document Server's `drop` command.
 */
export class SharingService {
  // Wrong link passwords: 10 per link per 15 minutes, then 5 minutes' wait; 30 per address.
  private readonly passwordThrottles = [
    { limiter: new RateLimiterMemory({ points: 10, duration: 900, blockDuration: 300 }), keyOf: (link: ShareLinkRecord) => `link:${link.id}` },
    { limiter: new RateLimiterMemory({ points: 30, duration: 900, blockDuration: 900 }), keyOf: (_: ShareLinkRecord, address: string) => `address:${address}` },
  ];
  // Mention notifications: 60 people a minute per sender.
  private readonly mentionThrottle = new RateLimiterMemory({ points: 60, duration: 60 });

  constructor(private readonly deps: SharingDeps) {}

  /**
   * The shares of a node and of the folders above it; anyone who can see the node can see who else can.
   * A folder above is named only to those who may see it.
   */
  listShares(user: User, node: NodeRecord): ShareEntry[] {
    this.deps.files.getAccess(user, node);
    const visible = new Map<string, boolean>();
    const canSee = (id: string) => {
      if (!visible.has(id)) {
        const folder = this.deps.nodes.findById(id);
        visible.set(id, folder !== undefined && this.deps.files.accessTo(user, folder) !== undefined);
      }
      return visible.get(id)!;
    };
    return this.deps.shares.listOnPath(node.id).map((share) => ({
      ...share,
      nodeName: share.nodeId === node.id || canSee(share.nodeId) ? share.nodeName : '',
      inheritedFrom: share.nodeId === node.id ? null : canSee(share.nodeId) ? { id: share.nodeId, name: share.nodeName } : { id: null, name: null },
    }));
  }

  /**
   * Shares a node with a user by username, or changes the role of an existing share. Someone who loses
   * rights by the change is taken out of open editing sessions below the node.
   */
  async share(user: User, node: NodeRecord, input: { username: string; role: ShareRole; noDownload: boolean }): Promise<{ share: ShareRecord; created: boolean }> {
    this.deps.files.requireManage(user, node);
    if (node.parentId === null) throw new ValidationError('A home folder cannot be shared; share the folders or files inside it.');
    const target = this.deps.users.findByUsername(input.username.trim());
    if (!target) throw new ValidationError(`There is no user named "${input.username}".`, 'username');
    if (target.disabled) throw new ValidationError(`The account "${target.username}" is disabled.`, 'username');
    if (target.id === node.ownerId) throw new ValidationError(`${target.displayName} owns "${node.name}" already.`, 'username');
    const before = this.snapshotEditors(node);
    const now = this.deps.clock.now();
    let created = false;
    let lowered = false;
    const share = this.deps.db.transaction(() => {
      const existing = this.deps.shares.listForUserOnPath(target.id, node.id).find((entry) => entry.nodeId === node.id);
      created = !existing;
      lowered = existing !== undefined && isDowngrade({ ...existing, manage: false, via: 'share' }, { role: input.role, noDownload: input.noDownload, manage: false, via: 'share' });
      const saved = this.deps.shares.upsert({ id: newId(), nodeId: node.id, userId: target.id, role: input.role, noDownload: input.noDownload, createdBy: user.id, now });
      if (created) {
        this.deps.notifications.insert({
          id: newId(),
          userId: target.id,
          kind: 'share',
          nodeId: node.id,
          actorId: user.id,
          message: `${user.displayName} shared "${node.name}" with you as ${roleLabels[input.role]}.`,
          link: node.kind === 'folder' ? `/folders/${node.id}` : `/files/${node.id}`,
          now,
        });
      }
      return saved;
    })();
    if (lowered) await this.reduceAccess(node, before);
    return { share, created };
  }

  /** Removes a share of this node (not one inherited from a folder above); the person leaves open sessions. */
  async unshare(user: User, node: NodeRecord, shareId: string): Promise<void> {
    this.deps.files.requireManage(user, node);
    const share = this.deps.shares.findById(shareId);
    if (!share || share.nodeId !== node.id) throw new NotFoundError(`"${node.name}" has no such share.`);
    const before = this.snapshotEditors(node);
    this.deps.shares.delete(share.id);
    await this.reduceAccess(node, before);
  }

  /**
   * Who is in the open editing sessions below a node and what they may do now, to compare with after a
   * change of shares or a move. Guests are left out: their access comes from a link to the file itself.
   */
  snapshotEditors(node: NodeRecord): EditorSnapshot {
    const snapshot: EditorSnapshot = [];
    for (const file of this.deps.files.listFilesBelow(node)) {
      const session = this.deps.sessions.findOpen(file.id);
      if (!session) continue;
      const editors = new Map<string, { user: User; access: Access }>();
      for (const id of new Set(session.editors)) {
        const user = this.deps.users.findById(id);
        const access = user && this.deps.files.accessTo(user, file);
        if (user && access) editors.set(id, { user, access });
      }
      if (editors.size > 0) snapshot.push({ fileId: file.id, editors });
    }
    return snapshot;
  }

  /**
   * After access below a node was reduced: closes out of the editor everyone in the snapshot who now
   * has less than they had then, and retires the keys of files nobody is editing, so configurations
   * handed out earlier cannot open a session that changes them.
   */
  async reduceAccess(node: NodeRecord, before: EditorSnapshot): Promise<void> {
    this.deps.sessions.retireIdleKeys(this.deps.files.listFilesBelow(node));
    await this.dropWhoLostAccess(before);
  }

  /** Closes out of the editor everyone in the snapshot who now has less access than they had then. */
  private async dropWhoLostAccess(before: EditorSnapshot): Promise<void> {
    const byFile = new Map(before.map((entry) => [entry.fileId, entry.editors]));
    const files = before.map((entry) => this.deps.nodes.findById(entry.fileId)).filter((file): file is NodeRecord => file !== undefined);
    await this.deps.sessions.dropEditors(files, (editorId, file) => {
      const was = byFile.get(file.id)?.get(editorId);
      return was !== undefined && isDowngrade(was.access, this.deps.files.accessTo(was.user, file));
    });
  }

  /** What other people shared with this user directly, newest first, with each node and its owner's name. */
  sharedWithMe(user: User): Array<{ share: ListedShare; node: ListedNode }> {
    return this.deps.shares.listSharedWith(user.id).flatMap((share) => {
      const node = this.deps.nodes.findById(share.nodeId);
      if (!node) return [];
      return [{ share, node: { ...node, ownerName: this.deps.users.findById(node.ownerId)?.displayName ?? '' } }];
    });
  }

  /** Makes a public link to a file; returns the link's token, which is shown only this once. */
  async createLink(
    user: User,
    file: NodeRecord,
    input: { role: ShareRole; noDownload: boolean; password?: string; expiresAt?: number },
  ): Promise<{ link: LinkEntry; token: string }> {
    this.deps.files.requireManage(user, file);
    const now = this.deps.clock.now();
    if (input.expiresAt !== undefined && input.expiresAt <= now) throw new ValidationError('expiresAt must be in the future.', 'expiresAt');
    const token = newSecretToken();
    const id = newId();
    this.deps.shares.insertLink({
      id,
      nodeId: file.id,
      tokenHash: hashToken(token),
      role: input.role,
      noDownload: input.noDownload,
      passwordHash: input.password === undefined ? null : await hashPassword(input.password),
      expiresAt: input.expiresAt ?? null,
      createdBy: user.id,
      now,
    });
    return { link: this.presentLink(this.deps.shares.findLinkById(id)!), token };
  }

  listLinks(user: User, file: NodeRecord): LinkEntry[] {
    this.deps.files.requireManage(user, file);
    return this.deps.shares.listLinks(file.id).map((link) => this.presentLink(link));
  }

  /** Revokes a link; guests who are in the editor through it are dropped from the session. */
  async revokeLink(user: User, file: NodeRecord, linkId: string): Promise<void> {
    this.deps.files.requireManage(user, file);
    const link = this.deps.shares.findLinkById(linkId);
    if (!link || link.nodeId !== file.id || link.revokedAt !== null) throw new NotFoundError(`"${file.name}" has no such link.`);
    this.deps.shares.revokeLink(link.id, this.deps.clock.now());
    const prefix = `${guestPrefix}${link.id}-`;
    this.deps.sessions.retireIdleKeys([file]);
    await this.deps.sessions.dropEditors([file], (editorId) => editorId.startsWith(prefix));
  }

  private presentLink(link: ShareLinkRecord): LinkEntry {
    return {
      id: link.id,
      role: link.role,
      noDownload: link.noDownload,
      hasPassword: link.passwordHash !== null,
      expiresAt: link.expiresAt,
      expired: link.expiresAt !== null && link.expiresAt <= this.deps.clock.now(),
      createdAt: link.createdAt,
    };
  }

  /** The link behind a token, if it works now: unknown and revoked links are not found, expired ones gone. */
  openLink(token: string): OpenLink {
    const link = token.length > 0 && token.length <= 100 ? this.deps.shares.findLinkByTokenHash(hashToken(token)) : undefined;
    const file = link && this.deps.nodes.findById(link.nodeId);
    if (!link || link.revokedAt !== null || !file || file.kind !== 'file') {
      throw new NotFoundError('This link does not work: it was revoked, or it never existed.');
    }
    if (link.expiresAt !== null && link.expiresAt <= this.deps.clock.now()) {
      throw new GoneError(`This link expired on ${new Date(link.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC. Ask the person who sent it for a new one.`);
    }
    return { link, file, access: { role: link.role, noDownload: link.noDownload, manage: false, via: 'link' } };
  }

  /**
   * Checks a visitor's password for a link. Failures are counted per link, whatever the address, so a
   * link's password cannot be guessed by many machines at once: after 10 within 15 minutes the link
   * waits 5 minutes between tries.
   */
  async unlockLink(link: ShareLinkRecord, password: unknown, address: string): Promise<void> {
    // Every attempt is counted before the (slow) check, so parallel guesses cannot slip past the
    // limit; a right password gives its attempt back.
    const counted: Array<{ limiter: RateLimiterMemory; key: string }> = [];
    for (const { limiter, keyOf } of this.passwordThrottles) {
      const key = keyOf(link, address);
      try {
        await limiter.consume(key);
        counted.push({ limiter, key });
      } catch (rejection) {
        for (const entry of counted) await entry.limiter.reward(entry.key).catch(() => undefined);
        const seconds = Math.max(1, Math.ceil(((rejection as { msBeforeNext?: number }).msBeforeNext ?? 60_000) / 1000));
        throw new TooManyRequestsError(`Too many wrong passwords for this link; try again in ${seconds} seconds.`, seconds);
      }
    }
    const matches = typeof password === 'string' && link.passwordHash !== null && (await verifyPassword(password, link.passwordHash));
    if (!matches) throw new UnauthenticatedError(typeof password === 'string' && password !== '' ? 'Wrong password.' : 'Enter the password for this link.');
    for (const entry of counted) await entry.limiter.reward(entry.key).catch(() => undefined);
  }

  /**
   * The value of the cookie that proves a visitor gave a link's password. It changes when the password
   * does, and is worthless for any other link.
   */
  linkPass(link: ShareLinkRecord): string {
    return crypto.createHmac('sha256', this.deps.appSecret).update(`link-pass\0${link.id}\0${link.passwordHash ?? ''}`).digest('base64url');
  }

  hasLinkPass(link: ShareLinkRecord, presented: unknown): boolean {
    if (link.passwordHash === null) return true;
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(this.linkPass(link));
    const actual = Buffer.from(presented);
    return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
  }

  /** A guest's id with its signature, for the guest cookie. */
  signGuestCookie(guestId: string): string {
    return `${guestId}.${this.guestSignature(guestId)}`;
  }

  /** The guest id in a guest cookie, if the cookie is one this app signed. */
  verifyGuestCookie(value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined;
    const [guestId, signature] = value.split('.');
    if (!guestId || !signature || !/^[A-Za-z0-9_-]{16}$/.test(guestId)) return undefined;
    const expected = Buffer.from(this.guestSignature(guestId));
    const actual = Buffer.from(signature);
    return actual.length === expected.length && crypto.timingSafeEqual(actual, expected) ? guestId : undefined;
  }

  private guestSignature(guestId: string): string {
    return crypto.createHmac('sha256', this.deps.appSecret).update(`guest\0${guestId}`).digest('base64url');
  }

  /** The people who can open a file (its owner and everyone it is shared with), for the editor's mentions. */
  peopleWithAccess(user: User, file: NodeRecord): Array<Pick<User, 'id' | 'username' | 'displayName'>> {
    this.deps.files.getAccess(user, file);
    const owner = this.deps.users.findById(file.ownerId);
    const people = new Map<string, Pick<User, 'id' | 'username' | 'displayName'>>();
    if (owner && !owner.disabled) people.set(owner.id, owner);
    for (const share of this.deps.shares.listOnPath(file.id)) {
      const person = this.deps.users.findById(share.userId);
      if (person && !person.disabled) people.set(person.id, person);
    }
    return [...people.values()]
      .map(({ id, username, displayName }) => ({ id, username, displayName }))
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /**
   * Records a mention from the editor (`onRequestSendNotify`) for each mentioned person who can open the
   * file; returns who was notified and who was not (unknown, or without access).
   */
  async notifyMention(user: User, file: NodeRecord, input: { usernames: string[]; message: string; actionLink?: Record<string, unknown> }): Promise<{ notified: string[]; skipped: string[] }> {
    const access = this.deps.files.getAccess(user, file);
    // Mentions come from comments: only those who may comment (or edit) can send them.
    if (!atLeast(access.role, 'commenter')) {
      throw new ForbiddenError(`"${file.name}" is shared with you as ${roleLabels[access.role]}; only people who may comment can mention others.`);
    }
    try {
      await this.mentionThrottle.consume(`user:${user.id}`, input.usernames.length);
    } catch {
      throw new TooManyRequestsError('Too many mentions in a short time; wait a minute and try again.', 60);
    }
    const notified: string[] = [];
    const skipped: string[] = [];
    const link = `/editor/${file.id}${input.actionLink ? `?action=${encodeURIComponent(JSON.stringify(input.actionLink))}` : ''}`;
    const now = this.deps.clock.now();
    this.deps.db.transaction(() => {
      for (const username of new Set(input.usernames)) {
        const person = this.deps.users.findByUsername(username);
        if (!person || person.disabled || person.id === user.id || !this.deps.files.accessTo(person, file)) {
          skipped.push(username);
          continue;
        }
        this.deps.notifications.insert({
          id: newId(),
          userId: person.id,
          kind: 'mention',
          nodeId: file.id,
          actorId: user.id,
          message: input.message,
          link,
          now,
        });
        notified.push(person.username);
      }
    })();
    return { notified, skipped };
  }

  /** The user's recent notifications; a file they can no longer open is not named or linked. */
  notificationsOf(user: User, limit = 50): NotificationRecord[] {
    return this.deps.notifications.listRecent(user.id, limit).map((entry) => {
      const node = entry.nodeId === null ? undefined : this.deps.nodes.findById(entry.nodeId);
      if (!node || this.deps.files.accessTo(user, node)) return entry;
      return { ...entry, nodeId: null, nodeName: null, link: null };
    });
  }

  unreadCount(user: User): number {
    return this.deps.notifications.countUnread(user.id);
  }

  markAllRead(user: User): number {
    return this.deps.notifications.markAllRead(user.id, this.deps.clock.now());
  }
}
