import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { createApiTokenRepository } from './data/api-token-repository.js';
import { createDocumentKeyRepository } from './data/document-key-repository.js';
import { createSettingsRepository } from './data/settings-repository.js';
import { SettingsService } from './domain/settings.js';
import { CheckFiles } from './onlyoffice/connection-check.js';
import type { Database } from './data/database.js';
import { createNodeRepository } from './data/node-repository.js';
import { createSessionRepository } from './data/session-repository.js';
import { createNotificationRepository } from './data/notification-repository.js';
import { createShareRepository } from './data/share-repository.js';
import { createUserRepository } from './data/user-repository.js';
import { createVersionRepository } from './data/version-repository.js';
import { AccountService } from './domain/accounts.js';
import { CallbackHandler } from './domain/callback-handler.js';
import { ConversionService, type ConversionLimits } from './domain/conversions.js';
import { createConversionNoticeRepository } from './data/conversion-notice-repository.js';
import { EditorService } from './domain/editor.js';
import { EditingSessions } from './domain/editing-sessions.js';
import { FileService } from './domain/files.js';
import { SharingService } from './domain/sharing.js';
import type { Config } from './config.js';
import type { FileStore } from './storage/file-store.js';

/** The repositories and domain services, wired once per app. */
export function createServices(deps: {
  db: Database;
  store: FileStore;
  clock: Clock;
  logger: Logger;
  config: Config;
  appSecret: string;
  /** Overrides for the callback handler's limits (tests of timeouts and size caps). */
  callbackLimits?: { maxSaveBytes?: number; fetchTimeoutMs?: number };
  checkTimeouts?: { timeoutMs?: number; conversionTimeoutMs?: number; pollIntervalMs?: number };
  conversionLimits?: ConversionLimits;
}) {
  const repositories = {
    users: createUserRepository(deps.db),
    sessions: createSessionRepository(deps.db),
    apiTokens: createApiTokenRepository(deps.db),
    nodes: createNodeRepository(deps.db),
    versions: createVersionRepository(deps.db),
    documentKeys: createDocumentKeyRepository(deps.db),
    settings: createSettingsRepository(deps.db),
    shares: createShareRepository(deps.db),
    notifications: createNotificationRepository(deps.db),
  };
  const files = new FileService({ ...deps, ...repositories });
  const checkFiles = new CheckFiles();
  const settings = new SettingsService({ ...deps, settings: repositories.settings, checkFiles });
  const editor = new EditorService({
    ...deps,
    files,
    documentKeys: repositories.documentKeys,
    users: repositories.users,
    shares: repositories.shares,
    documentServer: () => settings.documentServer(),
    unavailableReason: () => settings.unavailableReason(),
  });
  const conversions = new ConversionService({
    ...deps,
    files,
    notices: createConversionNoticeRepository(deps.db),
    settings: () => editor.settings(),
    requireSettings: () => editor.requireSettings(),
    instanceId: editor.instanceId,
    limits: deps.conversionLimits,
  });
  const sessions = new EditingSessions({ ...deps, ...repositories, documentServer: () => settings.documentServer() });
  const sharing = new SharingService({ ...deps, ...repositories, files, sessions });
  return {
    repositories,
    sessions,
    sharing,
    accounts: new AccountService({ ...deps, ...repositories }),
    files,
    editor,
    settings,
    checkFiles,
    conversions,
    callbacks: new CallbackHandler({
      ...deps,
      ...repositories,
      ...deps.callbackLimits,
      files,
      conversions,
      settings: () => editor.settings(),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
