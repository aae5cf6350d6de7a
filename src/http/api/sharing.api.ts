import { Router, type Request } from 'express';
import { z } from 'zod';
import type { NodeRecord } from '../../data/node-repository.js';
import { shareRoles } from '../../data/share-repository.js';
import type { User } from '../../data/user-repository.js';
import type { Services } from '../../services.js';
import { presentLink, presentNotification, presentShare, presentSharedWithMe } from '../presenters.js';
import { currentUser } from '../request-context.js';
import { jsonBody, parseInput } from '../validate.js';

const roleSchema = z.enum(shareRoles, { message: `role must be one of ${shareRoles.join(', ')}.` });

const shareSchema = z
  .object({
    username: z.string({ message: 'username: expected text.' }).trim().min(1, 'username: name the person to share with.').max(64, 'username: at most 64 characters.'),
    role: roleSchema,
    noDownload: z.boolean({ message: 'noDownload: expected true or false.' }).optional(),
  })
  .strict();

const linkSchema = z
  .object({
    role: roleSchema,
    noDownload: z.boolean({ message: 'noDownload: expected true or false.' }).optional(),
    password: z.string({ message: 'password: expected text.' }).min(4, 'password: at least 4 characters.').max(200, 'password: at most 200 characters.').optional(),
    expiresAt: z.iso.datetime({ offset: true, message: 'expiresAt: expected a date and time such as 2026-12-31T18:00:00Z.' }).optional(),
  })
  .strict();

const mentionSchema = z.object({
  emails: z.array(z.string().max(255), { message: 'emails: expected a list of the mentioned people.' }).min(1, 'emails: mention someone.').max(100, 'emails: at most 100 people.'),
  message: z.string({ message: 'message: expected text.' }).max(2000, 'message: at most 2,000 characters.'),
  actionLink: z
    .record(z.string(), z.unknown())
    .refine((value) => JSON.stringify(value).length <= 1500, 'actionLink: at most 1,500 characters as JSON.')
    .optional(),
});

function param(req: Request, name: string): string {
  return String(req.params[name]);
}

/** Shares, public links, "shared with me", mentions and notifications, as JSON. */
export function sharingApi(services: Services, publicUrl: string): Router {
  const router = Router();
  const { files, sharing } = services;

  /** The file or folder the route names, as this user sees it. */
  const nodeOf = (req: Request, user: User): NodeRecord =>
    req.path.startsWith('/files/') ? files.getFile(user, param(req, 'id')) : files.getFolder(user, param(req, 'id'));

  router.get(['/files/:id/shares', '/folders/:id/shares'], (req, res) => {
    const user = currentUser(req);
    const node = nodeOf(req, user);
    res.json({ shares: sharing.listShares(user, node).map(presentShare), canManage: files.getAccess(user, node).manage });
  });

  router.post(['/files/:id/shares', '/folders/:id/shares'], async (req, res) => {
    const user = currentUser(req);
    const node = nodeOf(req, user);
    const input = parseInput(shareSchema, jsonBody(req));
    const { share, created } = await sharing.share(user, node, { ...input, noDownload: input.noDownload ?? false });
    const entry = sharing.listShares(user, node).find((candidate) => candidate.id === share.id)!;
    res.status(created ? 201 : 200).json({ share: presentShare(entry) });
  });

  router.delete(['/files/:id/shares/:shareId', '/folders/:id/shares/:shareId'], async (req, res) => {
    const user = currentUser(req);
    await sharing.unshare(user, nodeOf(req, user), param(req, 'shareId'));
    res.status(204).end();
  });

  router.get('/files/:id/links', (req, res) => {
    const user = currentUser(req);
    res.json({ links: sharing.listLinks(user, files.getFile(user, param(req, 'id'))).map(presentLink) });
  });

  router.post('/files/:id/links', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    const input = parseInput(linkSchema, jsonBody(req));
    const { link, token } = await sharing.createLink(user, file, {
      role: input.role,
      noDownload: input.noDownload ?? false,
      password: input.password,
      expiresAt: input.expiresAt === undefined ? undefined : Date.parse(input.expiresAt),
    });
    res.status(201).json({ link: { ...presentLink(link), url: `${publicUrl}/s/${token}` } });
  });

  router.delete('/files/:id/links/:linkId', async (req, res) => {
    const user = currentUser(req);
    await sharing.revokeLink(user, files.getFile(user, param(req, 'id')), param(req, 'linkId'));
    res.status(204).end();
  });

  router.get('/shared-with-me', (req, res) => {
    res.json({ items: sharing.sharedWithMe(currentUser(req)).map(({ share, node }) => presentSharedWithMe(share, node)) });
  });

  router.get('/files/:id/people', (req, res) => {
    const user = currentUser(req);
    res.json({ people: sharing.peopleWithAccess(user, files.getFile(user, param(req, 'id'))) });
  });

  router.post('/files/:id/mentions', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    const input = parseInput(mentionSchema, jsonBody(req));
    res.json(await sharing.notifyMention(user, file, { usernames: input.emails, message: input.message, actionLink: input.actionLink }));
  });

  router.get('/notifications', (req, res) => {
    const user = currentUser(req);
    res.json({ unread: sharing.unreadCount(user), notifications: sharing.notificationsOf(user).map(presentNotification) });
  });

  router.post('/notifications/read', (req, res) => {
    res.json({ marked: sharing.markAllRead(currentUser(req)) });
  });

  return router;
}
