import type { ApiToken } from '../data/api-token-repository.js';
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
