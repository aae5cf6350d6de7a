import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { createApiTokenRepository } from './data/api-token-repository.js';
import type { Database } from './data/database.js';
import { createNodeRepository } from './data/node-repository.js';
import { createSessionRepository } from './data/session-repository.js';
import { createUserRepository } from './data/user-repository.js';
import { createVersionRepository } from './data/version-repository.js';
import { AccountService } from './domain/accounts.js';
import { FileService } from './domain/files.js';
import type { FileStore } from './storage/file-store.js';

/** The repositories and domain services, wired once per app. */
export function createServices(deps: { db: Database; store: FileStore; clock: Clock; logger: Logger }) {
  const repositories = {
    users: createUserRepository(deps.db),
    sessions: createSessionRepository(deps.db),
    apiTokens: createApiTokenRepository(deps.db),
    nodes: createNodeRepository(deps.db),
    versions: createVersionRepository(deps.db),
  };
  return {
    repositories,
    accounts: new AccountService({ ...deps, ...repositories }),
    files: new FileService({ ...deps, ...repositories }),
  };
}

export type Services = ReturnType<typeof createServices>;
