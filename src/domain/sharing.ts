import crypto from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../data/database.js';
import type { ListedNode, NodeRecord, NodeRepository } from '../data/node-repository.js';
import type { NotificationRecord, NotificationRepository } from '../data/notification-repository.js';
import type { ListedShare, ShareLinkRecord, ShareRecord, ShareRepository, ShareRole } from '../data/share-repository.js';
import type { User, UserRepository } from '../data/user-repository.js';
import { GoneError, NotFoundError, TooManyRequestsError, UnauthenticatedError, ValidationError } from '../errors.js';
import { hashToken, newId, newSecretToken } from '../ids.js';
import { combineShares, isDowngrade, roleLabels, type Access } from './access.js';
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

/** A share as a share list shows it; `inheritedFrom` names the folder above when it comes from there. */
export interface ShareEntry extends ListedShare {
  inheritedFrom: { id: string; name: string } | null;
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
  private readonly passwordThrottle = new RateLimiterMemory({ points: 9, duration: 900, blockDuration: 300 });

  constructor(private readonly deps: SharingDeps) {}

  /** The shares of a node and of the folders above it; anyone who can see the node can see who else can. */
  listShares(user: User, node: NodeRecord): ShareEntry[] {
    this.deps.files.getAccess(user, node);
    return this.deps.shares.listOnPath(node.id).map((share) => ({
      ...share,
      inheritedFrom: share.nodeId === node.id ? null : { id: share.nodeId, name: share.nodeName },
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
    const before = this.accessBelow(target, node);
    const now = this.deps.clock.now();
    let created = false;
    const share = this.deps.db.transaction(() => {
      const existing = this.deps.shares.listForUserOnPath(target.id, node.id).find((entry) => entry.nodeId === node.id);
      created = !existing;
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
    await this.dropWhoLostAccess(target, before);
    return { share, created };
  }

  /** Removes a share of this node (not one inherited from a folder above); the person leaves open sessions. */
  async unshare(user: User, node: NodeRecord, shareId: string): Promise<void> {
    this.deps.files.requireManage(user, node);
    const share = this.deps.shares.findById(shareId);
    if (!share || share.nodeId !== node.id) throw new NotFoundError(`"${node.name}" has no such share.`);
    const target = this.deps.users.findById(share.userId);
    const before = target ? this.accessBelow(target, node) : new Map<string, Access>();
    this.deps.shares.delete(share.id);
    if (target) await this.dropWhoLostAccess(target, before);
  }

  /** What `person` may do with each file below `node` that is open in the editor now. */
  private accessBelow(person: User, node: NodeRecord): Map<string, Access> {
    const result = new Map<string, Access>();
    for (const file of this.deps.files.listFilesBelow(node)) {
      if (!this.deps.sessions.findOpen(file.id)) continue;
      const access = combineShares(this.deps.shares.listForUserOnPath(person.id, file.id));
      if (access) result.set(file.id, access);
    }
    return result;
  }

  private async dropWhoLostAccess(person: User, before: Map<string, Access>): Promise<void> {
    const files = [...before.keys()].map((id) => this.deps.nodes.findById(id)).filter((file): file is NodeRecord => file !== undefined);
    await this.deps.sessions.dropEditors(files, (editorId, file) => {
      if (editorId !== person.id) return false;
      const after = this.deps.files.accessTo(person, file);
      return isDowngrade(before.get(file.id)!, after);
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
  async unlockLink(link: ShareLinkRecord, password: unknown): Promise<void> {
    const key = `link:${link.id}`;
    const state = await this.passwordThrottle.get(key);
    if (state && state.consumedPoints > this.passwordThrottle.points && state.msBeforeNext > 0) {
      const seconds = Math.ceil(state.msBeforeNext / 1000);
      throw new TooManyRequestsError(`Too many wrong passwords for this link; try again in ${seconds} seconds.`, seconds);
    }
    const matches = typeof password === 'string' && link.passwordHash !== null && (await verifyPassword(password, link.passwordHash));
    if (!matches) {
      await this.passwordThrottle.consume(key).catch(() => undefined);
      throw new UnauthenticatedError(typeof password === 'string' && password !== '' ? 'Wrong password.' : 'Enter the password for this link.');
    }
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
  notifyMention(user: User, file: NodeRecord, input: { usernames: string[]; message: string; actionLink?: Record<string, unknown> }): { notified: string[]; skipped: string[] } {
    this.deps.files.getAccess(user, file);
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

  notificationsOf(user: User, limit = 50): NotificationRecord[] {
    return this.deps.notifications.listRecent(user.id, limit);
  }

  unreadCount(user: User): number {
    return this.deps.notifications.countUnread(user.id);
  }

  markAllRead(user: User): number {
    return this.deps.notifications.markAllRead(user.id, this.deps.clock.now());
  }
}
