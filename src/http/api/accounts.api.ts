import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { requireAdmin, requireUser } from '../middleware/authenticate.js';
import { presentApiToken, presentUser } from '../presenters.js';
import { currentUser } from '../request-context.js';
import { jsonBody, parseInput } from '../validate.js';

const tokenRequestSchema = z.object({
  username: z.string({ message: 'username: expected text.' }),
  password: z.string({ message: 'password: expected text.' }),
  name: z.string({ message: 'name: expected text.' }).optional(),
});
const userUpdateSchema = z
  .object({
    displayName: z.string({ message: 'displayName: expected text.' }).optional(),
    role: z.enum(['admin', 'user'], { message: 'role must be admin or user.' }).optional(),
    disabled: z.boolean({ message: 'disabled: expected true or false.' }).optional(),
  })
  .strict();

/** The caller's address, for the sign-in throttle. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** Personal API tokens, the caller's own account, and (for admins) user management. */
export function accountsApi(services: Services): Router {
  const router = Router();
  const { accounts } = services;

  router.post('/auth/token', async (req, res) => {
    const input = parseInput(tokenRequestSchema, jsonBody(req));
    const user = await accounts.authenticate(input.username, input.password, clientAddress(req));
    const { token, record } = accounts.issueApiToken(user.id, input.name ?? `API token ${new Date().toISOString().slice(0, 10)}`);
    res.status(201).json({ token, tokenInfo: presentApiToken(record), user: presentUser(user) });
  });

  router.get('/account', requireUser, (req, res) => {
    res.json({ user: presentUser(currentUser(req)) });
  });

  router.post('/account/password', requireUser, async (req, res) => {
    const body = jsonBody(req);
    await accounts.changeOwnPassword(currentUser(req).id, body.currentPassword, body.newPassword, req.sessionToken);
    res.status(204).end();
  });

  router.get('/account/tokens', requireUser, (req, res) => {
    res.json({ tokens: accounts.listApiTokens(currentUser(req).id).map(presentApiToken) });
  });

  router.post('/account/tokens', requireUser, (req, res) => {
    const { token, record } = accounts.issueApiToken(currentUser(req).id, jsonBody(req).name);
    res.status(201).json({ token, tokenInfo: presentApiToken(record) });
  });

  router.delete('/account/tokens/:id', requireUser, (req, res) => {
    accounts.revokeApiToken(currentUser(req).id, String(req.params.id));
    res.status(204).end();
  });

  router.get('/users', requireAdmin, (_req, res) => {
    res.json({ users: accounts.listUsers().map(presentUser) });
  });

  router.post('/users', requireAdmin, async (req, res) => {
    const user = await accounts.createUser(jsonBody(req) as never);
    res.status(201).json({ user: presentUser(user) });
  });

  router.patch('/users/:id', requireAdmin, (req, res) => {
    const actor = currentUser(req);
    const id = String(req.params.id);
    const input = parseInput(userUpdateSchema, jsonBody(req));
    accounts.getUser(id);
    if (input.displayName !== undefined || input.role !== undefined) accounts.updateProfile(actor, id, input);
    if (input.disabled !== undefined) accounts.setDisabled(actor, id, input.disabled);
    res.json({ user: presentUser(accounts.getUser(id)) });
  });

  router.post('/users/:id/password', requireAdmin, async (req, res) => {
    await accounts.resetPassword(String(req.params.id), jsonBody(req).password);
    res.status(204).end();
  });

  return router;
}
