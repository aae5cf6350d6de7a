import { Router, type Request } from 'express';
import type { NodeRecord } from '../data/node-repository.js';
import type { User } from '../data/user-repository.js';
import type { Services } from '../services.js';
import { extensionOf } from '../domain/names.js';
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

/** The "Edit/Open in ONLYOFFICE" action a file offers this user, if any. */
function officeActionFor(services: Services, user: User, node: NodeRecord, unavailable: string | undefined): OfficeAction | undefined {
  if (node.kind !== 'file') return undefined;
  const { format, editable } = services.editor.describe(node);
  if (!format) return undefined;
  const mayChange = editable && node.ownerId === user.id;
  const newTab = services.editor.settings()?.openInNewTab ?? false;
  // While the editor cannot work, the button stays but explains why (and its page says so in full).
  return mayChange
    ? { mode: 'edit', label: 'Edit in ONLYOFFICE', href: `/editor/${node.id}?mode=edit`, unavailable, newTab }
    : { mode: 'view', label: 'Open in ONLYOFFICE', href: `/editor/${node.id}?mode=view`, unavailable, newTab };
}

interface OfficeAction {
  mode: 'edit' | 'view';
  label: string;
  href: string;
  unavailable?: string;
  /** Open the editor in a new tab (an admin setting). */
  newTab: boolean;
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
      path: listing.path,
      items: listing.page.items.map((item) => ({
        ...item,
        extension: item.kind === 'file' ? extensionOf(item.name) : '',
        office: officeActionFor(services, user, item, unavailable),
        editing: editing.get(item.id),
        convertTo: item.kind === 'file' ? services.conversions.offersFor(item).convertTo : undefined,
      })),
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
    });
  });

  router.get('/files/:id', requireUser, (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    res.render('file', {
      title: file.name,
      file: { ...file, extension: extensionOf(file.name) },
      office: officeActionFor(services, user, file, services.editor.unavailableReason()),
      editing: services.editor.editingStatus([file.id]).get(file.id),
      path: files.getPath(file),
      versions: files.listVersions(user, file.id),
      conversion: { ...services.conversions.offersFor(file), notices: services.conversions.listNotices(user, file.id) },
    });
  });

  router.get('/users', requireAdmin, (_req, res) => {
    res.render('users', { title: 'Users', users: accounts.listUsers() });
  });

  router.get('/account', requireUser, (req, res) => {
    res.render('account', { title: 'Your account', tokens: accounts.listApiTokens(currentUser(req).id) });
  });

  return router;
}
