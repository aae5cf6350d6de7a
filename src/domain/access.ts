import type { NodeRecord } from '../data/node-repository.js';
import { shareRoles, type ShareRecord, type ShareRole } from '../data/share-repository.js';
import type { User } from '../data/user-repository.js';

/** A share role, or "owner" for the owner and for admins, who may do everything. */
export type AccessRole = ShareRole | 'owner';

/** What one person may do with one file or folder. */
export interface Access {
  role: AccessRole;
  /** Download, print and copy are forbidden (a share option). */
  noDownload: boolean;
  /** May manage the node's shares and links (owners and admins). */
  manage: boolean;
  /** How the access was granted. */
  via: 'owner' | 'admin' | 'share' | 'link';
}

const ranks: Record<AccessRole, number> = {
  viewer: 0,
  form_filler: 1,
  commenter: 2,
  reviewer: 3,
  editor: 4,
  owner: 5,
};

/** How roles are named to people. */
export const roleLabels: Record<AccessRole, string> = {
  viewer: 'viewer',
  form_filler: 'form filler',
  commenter: 'commenter',
  reviewer: 'reviewer',
  editor: 'editor',
  owner: 'owner',
};

export function isShareRole(value: unknown): value is ShareRole {
  return typeof value === 'string' && (shareRoles as readonly string[]).includes(value);
}

/** Whether `role` grants at least what `minimum` grants. */
export function atLeast(role: AccessRole, minimum: AccessRole): boolean {
  return ranks[role] >= ranks[minimum];
}

/** May change content, names and the folder's contents: editors, owners and admins. */
export function canWrite(access: Access): boolean {
  return atLeast(access.role, 'editor');
}

/**
 * A user's access to a node: owners and admins have all of it; anyone else has what the shares on the
 * node and on the folders above it grant together (the strongest role; download unless every share
 * granting that role forbids it). Undefined means no access at all.
 */
export function accessFrom(user: User, node: NodeRecord, shares: () => ShareRecord[]): Access | undefined {
  if (node.ownerId === user.id) return { role: 'owner', noDownload: false, manage: true, via: 'owner' };
  if (user.role === 'admin') return { role: 'owner', noDownload: false, manage: true, via: 'admin' };
  return combineShares(shares());
}

/** The access a set of shares grants together, if any. */
export function combineShares(shares: Array<Pick<ShareRecord, 'role' | 'noDownload'>>): Access | undefined {
  if (shares.length === 0) return undefined;
  const strongest = shares.reduce((best, share) => (ranks[share.role] > ranks[best.role] ? share : best));
  const noDownload = shares.filter((share) => share.role === strongest.role).every((share) => share.noDownload);
  return { role: strongest.role, noDownload, manage: false, via: 'share' };
}

/** Whether `after` is less than `before` (a weaker role, or download newly forbidden, or none). */
export function isDowngrade(before: Access, after: Access | undefined): boolean {
  if (!after) return true;
  return ranks[after.role] < ranks[before.role] || (after.noDownload && !before.noDownload);
}
