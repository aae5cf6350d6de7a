import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../data/database.js';
import type { SettingsAuditEntry, SettingsRepository } from '../data/settings-repository.js';
import type { User } from '../data/user-repository.js';
import { ValidationError } from '../errors.js';
import { checkConnection, type CheckFiles, type CheckResult } from '../onlyoffice/connection-check.js';
import {
  storedSettingsSchema,
  toDocumentServerSettings,
  type DocumentServerSettings,
  type SettingName,
  type StoredSettings,
} from './document-server-settings.js';

/** Where a setting's effective value comes from. */
export type SettingSource = { kind: 'default' } | { kind: 'stored' } | { kind: 'environment'; variable: string };

/** The settings as the page shows them: every value but the secret, and where each comes from. */
export interface SettingsView {
  values: Omit<StoredSettings, 'jwtSecret'>;
  jwtSecretSet: boolean;
  sources: Record<SettingName, SettingSource>;
}

/** What saving settings did. */
export interface SaveOutcome {
  saved: boolean;
  check?: CheckResult;
  changed: SettingName[];
}

const secretNames = new Set<SettingName>(['jwtSecret']);
/** Settings whose change can break the connection, so saving them runs the check first. */
const connectionNames = new Set<SettingName>([
  'documentServerUrl',
  'documentServerInternalUrl',
  'connectorInternalUrl',
  'jwtSecret',
  'jwtHeader',
  'verifyTls',
]);

interface SettingsDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  config: Config;
  appSecret: string;
  settings: SettingsRepository;
  checkFiles: CheckFiles;
  checkTimeouts?: { timeoutMs?: number; conversionTimeoutMs?: number; pollIntervalMs?: number };
}

/** Admin settings in SQLite, under environment variables that win, and the connection check. */
export class SettingsService {
  private cached?: { values: StoredSettings; sources: Record<SettingName, SettingSource> };

  constructor(private readonly deps: SettingsDeps) {}

  /** Values set by environment variables, which the page shows read-only. */
  private environment(): Partial<Record<SettingName, { variable: string; value: unknown }>> {
    const ds = this.deps.config.documentServer;
    const entries: Partial<Record<SettingName, { variable: string; value: unknown }>> = {};
    if (ds.publicUrl) entries.documentServerUrl = { variable: 'DOCUMENT_SERVER_URL', value: ds.publicUrl };
    if (ds.internalUrl) entries.documentServerInternalUrl = { variable: 'DOCUMENT_SERVER_INTERNAL_URL', value: ds.internalUrl };
    if (ds.connectorInternalUrl) entries.connectorInternalUrl = { variable: 'CONNECTOR_INTERNAL_URL', value: ds.connectorInternalUrl };
    if (ds.jwtSecret) entries.jwtSecret = { variable: 'JWT_SECRET', value: ds.jwtSecret };
    if (ds.jwtHeader) entries.jwtHeader = { variable: 'JWT_HEADER', value: ds.jwtHeader };
    return entries;
  }

  /** The stored values only (defaults filled in). */
  private stored(): StoredSettings {
    const raw = this.deps.settings.readAll();
    const parsed = storedSettingsSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    // A value stored by an older version that no longer validates falls back to its default.
    const cleaned: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      const single = storedSettingsSchema.shape[name as SettingName]?.safeParse(value);
      if (single?.success) cleaned[name] = single.data;
    }
    return storedSettingsSchema.parse(cleaned);
  }

  /** The effective values: environment, else stored, else default. */
  effective(): { values: StoredSettings; sources: Record<SettingName, SettingSource> } {
    if (this.cached) return this.cached;
    const raw = this.deps.settings.readAll();
    const values = { ...this.stored() } as Record<SettingName, unknown>;
    const sources = {} as Record<SettingName, SettingSource>;
    const environment = this.environment();
    for (const name of Object.keys(storedSettingsSchema.shape) as SettingName[]) {
      const fromEnvironment = environment[name];
      if (fromEnvironment) {
        values[name] = fromEnvironment.value;
        sources[name] = { kind: 'environment', variable: fromEnvironment.variable };
      } else {
        sources[name] = name in raw ? { kind: 'stored' } : { kind: 'default' };
      }
    }
    this.cached = { values: values as StoredSettings, sources };
    return this.cached;
  }

  /** The settings for the page and the admin API: never the secret. */
  view(): SettingsView {
    const { values, sources } = this.effective();
    const { jwtSecret, ...rest } = values;
    return { values: rest, jwtSecretSet: jwtSecret !== '', sources };
  }

  /** The Document Server connection and editor settings, or undefined while no address is set. */
  documentServer(): DocumentServerSettings | undefined {
    return toDocumentServerSettings(this.effective().values, this.deps.config.publicUrl);
  }

  listAudit(limit = 50): SettingsAuditEntry[] {
    return this.deps.settings.listAudit(limit);
  }

  /** The last stored check, if any ran. */
  lastCheck(): (CheckResult & { trigger: string }) | undefined {
    const stored = this.deps.settings.findLastCheck();
    return stored && { ...(JSON.parse(stored.result) as CheckResult), trigger: stored.trigger };
  }

  /** Why the editor cannot be used now (not configured, or the last check failed), or undefined. */
  unavailableReason(): string | undefined {
    if (!this.documentServer()) {
      return 'ONLYOFFICE is not configured yet: an admin must set the Document Server address (DOCUMENT_SERVER_URL or the settings page).';
    }
    const last = this.lastCheck();
    if (last && !last.ok) {
      const failed = last.steps.find((entry) => entry.status === 'failed');
      return `ONLYOFFICE is unavailable: the last connection check (${last.at}) failed${failed ? `: ${failed.message}` : '.'} An admin can re-run it on the settings page.`;
    }
    return undefined;
  }

  /** Runs the connection check with the given (or the effective) settings and records the result. */
  async runCheck(trigger: 'manual' | 'save' | 'periodic' | 'cli', candidate = this.documentServer()): Promise<CheckResult> {
    const result: CheckResult = candidate
      ? await checkConnection(candidate, {
          appSecret: this.deps.appSecret,
          checkFiles: this.deps.checkFiles,
          dmsPublicUrl: this.deps.config.publicUrl,
          ...this.deps.checkTimeouts,
        })
      : {
          ok: false,
          at: new Date(this.deps.clock.now()).toISOString(),
          steps: [{ id: 'healthcheck', title: 'Document Server address', status: 'failed', message: 'No Document Server address is set.' }],
        };
    this.deps.settings.insertCheck({ at: this.deps.clock.now(), ok: result.ok, trigger, result: JSON.stringify(result) });
    this.deps.logger.info({ ok: result.ok, trigger, failed: result.steps.filter((s) => s.status === 'failed').map((s) => s.id) }, 'Document Server connection checked');
    return result;
  }

  /**
   * Validates and saves settings. When connection settings change, the check runs with the new values
   * first; if it fails the old settings stay, unless `saveAnyway`.
   */
  async update(actor: User, input: Record<string, unknown>, options: { saveAnyway?: boolean; clearSecret?: boolean } = {}): Promise<SaveOutcome> {
    const environment = this.environment();
    const current = this.stored();
    const next: Record<string, unknown> = { ...current };
    for (const [name, value] of Object.entries(input)) {
      if (!(name in storedSettingsSchema.shape)) throw new ValidationError(`${name}: not a setting.`, name);
      if (environment[name as SettingName]) {
        throw new ValidationError(`${name} is set by the environment variable ${environment[name as SettingName]!.variable} and cannot be changed here.`, name);
      }
      // The secret field is write-only: left empty, it keeps the stored secret.
      if (name === 'jwtSecret' && value === '') continue;
      next[name] = value;
    }
    if (options.clearSecret) next.jwtSecret = '';
    const parsed = storedSettingsSchema.safeParse(next);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      throw new ValidationError(`${field}: ${issue.message}.`, field);
    }
    const changed = (Object.keys(parsed.data) as SettingName[]).filter(
      (name) => JSON.stringify(parsed.data[name]) !== JSON.stringify(current[name]),
    );
    if (changed.length === 0) return { saved: true, changed };

    let check: CheckResult | undefined;
    if (changed.some((name) => connectionNames.has(name))) {
      const candidateValues = { ...parsed.data } as Record<SettingName, unknown>;
      for (const [name, entry] of Object.entries(environment)) candidateValues[name as SettingName] = entry.value;
      const candidate = toDocumentServerSettings(candidateValues as StoredSettings, this.deps.config.publicUrl);
      if (candidate) {
        check = await this.runCheck('save', candidate);
        if (!check.ok && !options.saveAnyway) return { saved: false, check, changed };
      }
    }

    const now = this.deps.clock.now();
    this.deps.db.transaction(() => {
      for (const name of changed) {
        this.deps.settings.upsert(name, parsed.data[name], actor.id, now);
        this.deps.settings.insertAudit({
          at: now,
          userId: actor.id,
          name,
          oldValue: secretNames.has(name) ? null : JSON.stringify(current[name]),
          newValue: secretNames.has(name) ? (parsed.data[name] === '' ? '(removed)' : current[name] === '' ? '(set)' : '(changed)') : JSON.stringify(parsed.data[name]),
        });
      }
    })();
    this.cached = undefined;
    return { saved: true, check, changed };
  }
}
