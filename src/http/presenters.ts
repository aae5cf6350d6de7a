import type { ApiToken } from '../data/api-token-repository.js';
import type { NotificationRecord } from '../data/notification-repository.js';
import type { ListedShare } from '../data/share-repository.js';
import type { Access } from '../domain/access.js';
import type { LinkEntry, ShareEntry } from '../domain/sharing.js';
import type { ListedNode, NodeRecord, Page, PageCursor } from '../data/node-repository.js';
import type { User } from '../data/user-repository.js';
import type { VersionRecord } from '../data/version-repository.js';
import { contentTypeOf } from '../domain/content-types.js';
import { extensionOf } from '../domain/names.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A cursor as the opaque string clients pass back. */
export function encodeCursor(cursor: PageCursor | undefined): string | null {
  return cursor ? Buffer.from(JSON.stringify(cursor)).toString('base64url') : null;
}

export function presentUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    role: user.role,
    disabled: user.disabled,
    createdAt: iso(user.createdAt),
  };
}

export function presentNode(node: NodeRecord | ListedNode) {
  const base = {
    id: node.id,
    type: node.kind,
    name: node.name,
    parentId: node.parentId,
    ownerId: node.ownerId,
    ...('ownerName' in node ? { ownerName: node.ownerName } : {}),
    createdAt: iso(node.createdAt),
    modifiedAt: iso(node.updatedAt),
  };
  if (node.kind === 'folder') return base;
  return { ...base, size: node.size, extension: extensionOf(node.name), contentType: contentTypeOf(node.name) };
}

export function presentPage(page: Page) {
  return {
    items: page.items.map(presentNode),
    next: encodeCursor(page.next),
    previous: encodeCursor(page.previous),
  };
}

export function presentVersion(version: VersionRecord) {
  return {
    number: version.number,
    kind: version.kind,
    author: version.authorId === null ? null : { id: version.authorId, name: version.authorName },
    size: version.size,
    sha256: version.sha256,
    createdAt: iso(version.createdAt),
    contentUrl: `/api/files/${version.fileId}/versions/${version.number}/content`,
  };
}

export function presentApiToken(token: ApiToken) {
  return {
    id: token.id,
    name: token.name,
    createdAt: iso(token.createdAt),
    lastUsedAt: token.lastUsedAt === null ? null : iso(token.lastUsedAt),
  };
}

/** What the caller may do with a node. */
export function presentAccess(access: Access) {
  const writer = access.role === 'owner' || access.role === 'editor';
  return { role: access.role, manage: access.manage, canWrite: writer, canDownload: !access.noDownload };
}

export function presentShare(share: ShareEntry) {
  return {
    id: share.id,
    user: { id: share.userId, username: share.username, displayName: share.displayName },
    role: share.role,
    noDownload: share.noDownload,
    inheritedFrom: share.inheritedFrom,
    createdAt: iso(share.createdAt),
  };
}

/** A share as "Shared with me" lists it: the node, who shared it and how. */
export function presentSharedWithMe(share: ListedShare, node: NodeRecord | ListedNode) {
  return { ...presentNode(node), role: share.role, noDownload: share.noDownload, sharedAt: iso(share.createdAt) };
}

export function presentLink(link: LinkEntry) {
  return {
    id: link.id,
    role: link.role,
    noDownload: link.noDownload,
    hasPassword: link.hasPassword,
    expiresAt: link.expiresAt === null ? null : iso(link.expiresAt),
    expired: link.expired,
    createdAt: iso(link.createdAt),
  };
}

export function presentNotification(notification: NotificationRecord) {
  return {
    id: notification.id,
    kind: notification.kind,
    message: notification.message,
    link: notification.link,
    from: notification.actorId === null ? null : { id: notification.actorId, name: notification.actorName },
    file: notification.nodeId === null ? null : { id: notification.nodeId, name: notification.nodeName },
    read: notification.readAt !== null,
    createdAt: iso(notification.createdAt),
  };
}
