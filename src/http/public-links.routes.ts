import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import { roleLabels } from '../domain/access.js';
import { guestUserId, type OpenLink } from '../domain/sharing.js';
import { DomainError, ForbiddenError, TooManyRequestsError } from '../errors.js';
import type { Services } from '../services.js';
import type { FileStore } from '../storage/file-store.js';
import { clientAddress } from './api/accounts.api.js';
import { cookieNames } from './auth.routes.js';
import { preSessionCsrf } from './middleware/csrf.js';
import { editorQuerySchema, renderEditorPage } from './onlyoffice.routes.js';
import { sendVersion } from './send-content.js';
import { parseInput } from './validate.js';

const guestCookie = 'dms_guest';
const guestNameCookie = 'dms_guest_name';
/** The name a guest gives, shown to co-editors with "(guest)" after it. */
const guestNameSchema = z
  .string({ message: 'name: expected text.' })
  .trim()
  .max(60, 'name: at most 60 characters.')
  .refine((text) => !/[\p{Cc}<>]/u.test(text), 'name: letters, digits, spaces and punctuation only.')
  .optional();

/**
 * Public links (`/s/<token>`): anyone with the link sees the file, gives the password when there is
 * one, and opens it in the editor as a guest under a name of their choosing, or downloads it.
 */
export function publicLinkRoutes(services: Services, store: FileStore, config: Config): Router {
  const router = Router();
  const { sharing, editor } = services;
  const names = cookieNames(config);
  const formCsrf = preSessionCsrf(names.preSessionCsrf, names.secure);
  const cookieOptions = (path: string, maxAgeMs: number) => ({ httpOnly: true, sameSite: 'lax' as const, secure: names.secure, path, maxAge: maxAgeMs });
  const passCookie = (link: OpenLink['link']) => `dms_link_${link.id}`;

  /** The link in the URL; throws not found (unknown, revoked) or gone (expired). */
  const linkOf = (req: Request): OpenLink => sharing.openLink(String(req.params.token));
  const unlocked = (req: Request, open: OpenLink) => sharing.hasLinkPass(open.link, (req.cookies as Record<string, unknown>)[passCookie(open.link)]);

  function renderLanding(req: Request, res: Response, open: OpenLink, status = 200, error?: string) {
    const locked = !unlocked(req, open);
    const guestName = (req.cookies as Record<string, unknown>)[guestNameCookie];
    res.status(status).render('link', {
      title: open.file.name,
      file: open.file,
      link: open.link,
      roleLabel: roleLabels[open.link.role],
      locked,
      error,
      formCsrf: locked ? formCsrf.issue(req, res) : undefined,
      guestName: typeof guestName === 'string' ? guestName : '',
      editorUnavailable: editor.unavailableReason(),
      openable: editor.describe(open.file).format !== undefined,
      base: `/s/${String(req.params.token)}`,
    });
  }

  router.get('/s/:token', (req, res) => {
    renderLanding(req, res, linkOf(req));
  });

  router.post('/s/:token', formCsrf.verify, async (req, res) => {
    const open = linkOf(req);
    try {
      await sharing.unlockLink(open.link, (req.body as Record<string, unknown> | undefined)?.password, clientAddress(req));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
      renderLanding(req, res, open, error instanceof TooManyRequestsError ? 429 : 401, error.message);
      return;
    }
    res.cookie(passCookie(open.link), sharing.linkPass(open.link), cookieOptions(`/s/${String(req.params.token)}`, 12 * 3600_000));
    res.redirect(303, `/s/${String(req.params.token)}`);
  });

  /** The link, once its password (if any) was given; a locked link sends the visitor back to the form. */
  function unlockedLink(req: Request, res: Response): OpenLink | undefined {
    const open = linkOf(req);
    if (unlocked(req, open)) return open;
    res.redirect(303, `/s/${String(req.params.token)}`);
    return undefined;
  }

  router.get('/s/:token/editor', (req, res) => {
    const open = unlockedLink(req, res);
    if (!open) return;
    const { action: _action, name: nameInput, ...query } = parseInput(editorQuerySchema.extend({ name: guestNameSchema }), req.query);
    // A name given now is remembered for the next visit; without one, the remembered name is used.
    const remembered = guestNameSchema.safeParse((req.cookies as Record<string, unknown>)[guestNameCookie]);
    const name = nameInput || (remembered.success ? (remembered.data ?? '') : '');
    if (nameInput) res.cookie(guestNameCookie, nameInput, cookieOptions('/s/', 30 * 24 * 3600_000));
    // The guest's id is signed, so nobody can take on another guest's identity in the editor.
    let guestId = sharing.verifyGuestCookie((req.cookies as Record<string, unknown>)[guestCookie]);
    if (!guestId) {
      guestId = crypto.randomBytes(12).toString('base64url');
      res.cookie(guestCookie, sharing.signGuestCookie(guestId), cookieOptions('/s/', 30 * 24 * 3600_000));
    }
    const setup = editor.buildConfigFor(
      { id: guestUserId(open.link.id, guestId), name: name ? `${name} (guest)` : 'Guest', guest: true },
      open.file,
      open.access,
      { ...query, userAgent: req.get('user-agent'), acceptLanguage: req.get('accept-language'), backUrl: `/s/${String(req.params.token)}` },
    );
    renderEditorPage(res, setup);
  });

  router.get('/s/:token/download', async (req, res) => {
    const open = unlockedLink(req, res);
    if (!open) return;
    if (open.access.noDownload) throw new ForbiddenError(`Downloading "${open.file.name}" is turned off for this link.`);
    const version = services.repositories.versions.findById(open.file.currentVersionId!)!;
    await sendVersion(res, store, version, open.file.name);
  });

  return router;
}
