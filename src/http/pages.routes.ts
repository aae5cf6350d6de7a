import { Router, type Request } from 'express';
import type { NodeRecord } from '../data/node-repository.js';
import type { User } from '../data/user-repository.js';
import type { Services } from '../services.js';
import { shareRoles } from '../data/share-repository.js';
import { canWrite, roleLabels, type Access } from '../domain/access.js';
import { extensionOf } from '../domain/names.js';
import { editorRights } from '../onlyoffice/permissions.js';
import { requireAdmin, requireUser } from './middleware/authenticate.js';
import { parseListingQuery } from './listing-query.js';
import { encodeCursor } from './presenters.js';
import { currentUser } from './request-context.js';

/** A query string for the listing links, keeping sort, order and search. */
function listingLink(base: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  return text ? `${base}?${text}` : base;
}

function param(req: Request, name: string): string {
  return String(req.params[name]);
}

/** The "Edit/Review/Comment/Open in ONLYOFFICE" action a file offers someone with this access, if any. */
function officeActionFor(services: Services, access: Access, node: NodeRecord, unavailable: string | undefined): OfficeAction | undefined {
  if (node.kind !== 'file') return undefined;
  const { format, editable } = services.editor.describe(node);
  if (!format) return undefined;
  const settings = services.editor.settings();
  const rights = editorRights(access, {
    documentType: format.documentType,
    editable,
    wantView: false,
    comments: settings?.customization.comments ?? true,
    chat: false,
  });
  const newTab = settings?.openInNewTab ?? false;
  const { edit, review, comment, fillForms } = rights.permissions;
  const label = edit ? 'Edit' : review ? 'Review' : comment ? 'Comment' : fillForms ? 'Fill in' : 'Open';
  // While the editor cannot work, the button stays but explains why (and its page says so in full).
  return rights.mayOpenForEditing
    ? { mode: 'edit', label: `${label} in ONLYOFFICE`, href: `/editor/${node.id}?mode=edit`, unavailable, newTab }
    : { mode: 'view', label: 'Open in ONLYOFFICE', href: `/editor/${node.id}?mode=view`, unavailable, newTab };
}

/** What the page's buttons may offer for a node. */
function abilitiesOf(access: Access) {
  return { canWrite: canWrite(access), canDownload: !access.noDownload, manage: access.manage, role: access.role, roleLabel: roleLabels[access.role] };
}

interface OfficeAction {
  mode: 'edit' | 'view';
  label: string;
  href: string;
  unavailable?: string;
  /** Open the editor in a new tab (an admin setting). */
  newTab: boolean;
}

/**
 * How the first breadcrumb reads: "Home" in one's own tree, "<Owner>'s files" for an admin looking at
 * someone else's, and nothing when the path starts at a folder shared with the user (the page then
 * starts the trail with "Shared with me").
 */
function rootLabelOf(services: Services, user: User, path: NodeRecord[]): string | undefined {
  const root = path[0];
  if (!root || root.parentId !== null) return undefined;
  if (root.ownerId === user.id) return 'Home';
  return `Files of ${services.repositories.users.findById(root.ownerId)?.displayName ?? 'another user'}`;
}

/** What admins should know about the Document Server connection, shown above the file list. */
function documentServerNotice(services: Services, user: User): { kind: 'warning' | 'ok'; text: string } | undefined {
  if (user.role !== 'admin') return undefined;
  const settings = services.editor.settings();
  if (!settings) {
    return { kind: 'warning', text: 'ONLYOFFICE is not configured, so files cannot be opened in the editor. Set the Document Server address on the settings page (or DOCUMENT_SERVER_URL).' };
  }
  const last = services.settings.lastCheck();
  if (last && !last.ok) {
    const failed = last.steps.find((entry) => entry.status === 'failed');
    return { kind: 'warning', text: `The last Document Server connection check (${new Date(last.at).toLocaleString('en-GB', { timeZone: 'UTC' })} UTC) failed: ${failed?.message ?? 'see the settings page'}` };
  }
  if (!settings.jwtSecret) {
    return { kind: 'warning', text: "The Document Server connection is unauthenticated: no JWT secret is set, so saves reported to this DMS cannot be verified. Set the Document Server's secret on the settings page (or JWT_SECRET)." };
  }
  if (last) {
    return { kind: 'ok', text: `Document Server connection checked ${new Date(last.at).toLocaleString('en-GB', { timeZone: 'UTC' })} UTC: all steps passed${last.version ? ` (version ${last.version})` : ''}.` };
  }
  return undefined;
}

/** The server-rendered pages: the file browser, a file's details, users (admins) and the account. */
export function pageRoutes(services: Services): Router {
  const router = Router();
  const { files, accounts } = services;

  router.get('/', requireUser, (req, res) => {
    res.redirect(303, `/folders/${files.getHome(currentUser(req)).id}`);
  });

  router.get(['/folders/:id', '/search'], requireUser, (req, res) => {
    const user = currentUser(req);
    const { page, text, raw } = parseListingQuery(req.query);
    const searching = req.path === '/search';
    const listing = searching
      ? { folder: files.getHome(user), path: [], page: files.search(user, text ?? '', page), total: undefined }
      : files.listFolder(user, param(req, 'id'), page);
    const folderAccess = files.getAccess(user, listing.folder);
    /** Whether a row may be moved out of its folder or deleted: the user may change that folder. */
    const mayLeave = (item: NodeRecord) => {
      if (!searching) return canWrite(folderAccess);
      const parent = item.parentId === null ? undefined : services.repositories.nodes.findById(item.parentId);
      const parentAccess = parent && files.accessTo(user, parent);
      return parentAccess !== undefined && canWrite(parentAccess);
    };
    const base = searching ? '/search' : `/folders/${listing.folder.id}`;
    const unavailable = services.editor.unavailableReason();
    const editing = services.editor.editingStatus(listing.page.items.filter((item) => item.kind === 'file').map((item) => item.id));
    const keep = {
      q: searching ? text : undefined,
      sort: raw.sort,
      order: raw.order,
      limit: raw.limit === 50 ? undefined : String(raw.limit),
    };
    res.render('browser', {
      title: searching ? `Search: ${text ?? ''}` : listing.path.length > 1 ? listing.folder.name : 'Home',
      searching,
      query: text ?? '',
      folder: listing.folder,
      folderAccess: abilitiesOf(folderAccess),
      path: listing.path,
      rootLabel: rootLabelOf(services, user, listing.path),
      items: listing.page.items.map((item) => {
        // Children of a folder one owns are one's own: only shared folders need a lookup per row.
        const access = folderAccess.via === 'share' || searching ? files.getAccess(user, item) : folderAccess;
        return {
          ...item,
          extension: item.kind === 'file' ? extensionOf(item.name) : '',
          office: officeActionFor(services, access, item, unavailable),
          editing: editing.get(item.id),
          abilities: { ...abilitiesOf(access), leave: mayLeave(item) },
          // Converting makes a new file beside this one, or a new version of it: for those who may change it.
          convertTo: item.kind === 'file' && canWrite(access) ? services.conversions.offersFor(item).convertTo : undefined,
        };
      }),
      convertOnUpload: services.editor.settings() ? services.editor.settings()!.convertOnUpload : undefined,
      documentServerNotice: documentServerNotice(services, user),
      total: listing.total,
      sort: raw.sort,
      order: raw.order,
      sortLink: (key: string) =>
        listingLink(base, { ...keep, sort: key, order: raw.sort === key && raw.order === 'asc' ? 'desc' : 'asc' }),
      nextLink: listing.page.next ? listingLink(base, { ...keep, cursor: encodeCursor(listing.page.next)! }) : undefined,
      previousLink: listing.page.previous ? listingLink(base, { ...keep, cursor: encodeCursor(listing.page.previous)! }) : undefined,
      folders: files.listFolderChoices(user),
      roles: shareRoles.map((role) => ({ value: role, label: roleLabels[role] })),
    });
  });

  router.get('/files/:id', requireUser, (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    const access = files.getAccess(user, file);
    const path = files.visiblePath(user, file);
    res.render('file', {
      title: file.name,
      file: { ...file, extension: extensionOf(file.name) },
      abilities: abilitiesOf(access),
      office: officeActionFor(services, access, file, services.editor.unavailableReason()),
      editing: services.editor.editingStatus([file.id]).get(file.id),
      path,
      rootLabel: rootLabelOf(services, user, path),
      versions: files.listVersions(user, file.id),
      shares: services.sharing.listShares(user, file),
      links: access.manage ? services.sharing.listLinks(user, file) : [],
      owner: services.repositories.users.findById(file.ownerId),
      roles: shareRoles.map((role) => ({ value: role, label: roleLabels[role] })),
      conversion: { ...services.conversions.offersFor(file), notices: services.conversions.listNotices(user, file.id) },
    });
  });

  router.get('/shared', requireUser, (req, res) => {
    const user = currentUser(req);
    res.render('shared', {
      title: 'Shared with me',
      items: services.sharing.sharedWithMe(user).map(({ share, node }) => ({
        ...node,
        extension: node.kind === 'file' ? extensionOf(node.name) : '',
        roleLabel: roleLabels[share.role],
        noDownload: share.noDownload,
        sharedAt: share.createdAt,
      })),
    });
  });

  router.get('/notifications', requireUser, (req, res) => {
    const user = currentUser(req);
    const notifications = services.sharing.notificationsOf(user);
    res.render('notifications', { title: 'Notifications', notifications });
  });

  router.get('/users', requireAdmin, (_req, res) => {
    // Admins may reach everyone's files (to manage their sharing, say): each row links to a home folder.
    const users = accounts.listUsers().map((account) => ({ ...account, homeId: services.repositories.nodes.findHome(account.id)?.id }));
    res.render('users', { title: 'Users', users });
  });

  router.get('/account', requireUser, (req, res) => {
    res.render('account', { title: 'Your account', tokens: accounts.listApiTokens(currentUser(req).id) });
  });

  return router;
}
