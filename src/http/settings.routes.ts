import { Router, type Request, type Response } from 'express';
import type { SettingName, StoredSettings } from '../domain/document-server-settings.js';
import type { SaveOutcome } from '../domain/settings.js';
import { DomainError } from '../errors.js';
import { lossyExtensions } from '../onlyoffice/formats.js';
import type { Services } from '../services.js';
import { requireAdmin } from './middleware/authenticate.js';
import { currentUser } from './request-context.js';
import { jsonBody } from './validate.js';

const booleanNames: SettingName[] = ['verifyTls', 'coEditingChangeable', 'forceSave', 'chat', 'comments', 'help', 'feedback', 'compactHeader', 'openInNewTab', 'convertOnUpload'];
const textNames: SettingName[] = ['documentServerUrl', 'documentServerInternalUrl', 'connectorInternalUrl', 'jwtSecret', 'jwtHeader', 'coEditingMode', 'reviewDisplay'];

/** Turns the settings form (strings, missing checkboxes) into typed values, skipping environment-set fields. */
function fromForm(body: Record<string, unknown>, fromEnvironment: (name: SettingName) => boolean): Partial<Record<SettingName, unknown>> {
  const input: Partial<Record<SettingName, unknown>> = {};
  for (const name of textNames) if (!fromEnvironment(name) && typeof body[name] === 'string') input[name] = body[name];
  for (const name of booleanNames) if (!fromEnvironment(name)) input[name] = body[name] === 'on' || body[name] === 'true';
  const formats = body.editableLossyFormats;
  input.editableLossyFormats = formats === undefined ? [] : Array.isArray(formats) ? formats : [formats];
  for (const name of ['recheckIntervalMinutes', 'checkpointRetention'] as const) {
    const text = body[name];
    if (typeof text === 'string') input[name] = text.trim() === '' || !Number.isFinite(Number(text)) ? text : Number(text);
  }
  return input;
}

function outcomeMessage(outcome: SaveOutcome): string {
  if (!outcome.saved) return 'Not saved: the connection check failed with the new values, so the previous settings stay. Fix the cause below, or tick "Save even if the connection check fails".';
  if (outcome.changed.length === 0) return 'Nothing changed.';
  if (outcome.check && !outcome.check.ok) return 'Saved, although the connection check failed.';
  return outcome.check ? 'Saved; the connection check passed.' : 'Saved.';
}

/** The admin settings page and its JSON API. The JWT secret is write-only everywhere. */
export function settingsRoutes(services: Services, publicUrl: string): Router {
  const router = Router();
  const { settings } = services;

  function render(res: Response, status: number, extra: { outcome?: SaveOutcome; error?: string } = {}) {
    res.status(status).render('settings', {
      title: 'Settings',
      view: settings.view(),
      lossyExtensions,
      publicUrl,
      lastCheck: settings.lastCheck(),
      audit: settings.listAudit(),
      outcome: extra.outcome && { ...extra.outcome, message: outcomeMessage(extra.outcome) },
      error: extra.error,
    });
  }

  router.get('/settings', requireAdmin, (_req, res) => render(res, 200));

  router.post('/settings', requireAdmin, async (req: Request, res: Response) => {
    const body = jsonBody(req);
    const sources = settings.view().sources;
    try {
      const outcome = await settings.update(currentUser(req), fromForm(body, (name) => sources[name].kind === 'environment'), {
        saveAnyway: body.saveAnyway === 'on',
        clearSecret: body.clearSecret === 'on',
      });
      render(res, outcome.saved ? 200 : 422, { outcome });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      render(res, 400, { error: error.message });
    }
  });

  router.post('/settings/check', requireAdmin, async (_req, res) => {
    await settings.runCheck('manual');
    render(res, 200);
  });

  router.get('/api/settings', requireAdmin, (_req, res) => {
    res.json({ settings: settings.view(), lastCheck: settings.lastCheck() ?? null, audit: settings.listAudit() });
  });

  router.put('/api/settings', requireAdmin, async (req, res) => {
    const { saveAnyway, clearSecret, ...values } = jsonBody(req);
    const outcome = await settings.update(currentUser(req), values as Partial<StoredSettings>, {
      saveAnyway: saveAnyway === true,
      clearSecret: clearSecret === true,
    });
    res.status(outcome.saved ? 200 : 422).json({ ...outcome, message: outcomeMessage(outcome), settings: settings.view() });
  });

  router.post('/api/settings/check', requireAdmin, async (_req, res) => {
    const check = await settings.runCheck('manual');
    res.json({ check });
  });

  return router;
}
