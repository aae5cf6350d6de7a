import path from 'node:path';
import { z } from 'zod';

const booleanFromString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const httpUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
  .transform((value) => value.replace(/\/+$/, ''));

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const optionalHttpUrl = optionalText.pipe(httpUrl.optional());

/** The environment variables the server reads, with their defaults. */
const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: optionalHttpUrl,
  DATA_DIR: z.string().min(1).default('./storage'),
  MAX_UPLOAD_MB: z.coerce.number().positive().max(1024 * 1024).default(100),
  ADMIN_USERNAME: optionalText,
  ADMIN_PASSWORD: optionalText,
  SESSION_SECRET: optionalText.pipe(
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  TRUST_PROXY: optionalText.pipe(booleanFromString.optional()).default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DOCUMENT_SERVER_URL: optionalHttpUrl,
  DOCUMENT_SERVER_INTERNAL_URL: optionalHttpUrl,
  CONNECTOR_INTERNAL_URL: optionalHttpUrl,
  JWT_SECRET: optionalText,
  JWT_HEADER: optionalText,
});

/** Typed, validated configuration; the only view of process.env the app has. */
export interface Config {
  port: number;
  host: string;
  /** The address browsers use, without a trailing slash. */
  publicUrl: string;
  dataDir: string;
  maxUploadBytes: number;
  initialAdmin?: { username: string; password: string };
  /** Explicit secret; when absent the server generates one and keeps it in the data directory. */
  sessionSecret?: string;
  trustProxy: boolean;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  documentServer: {
    publicUrl?: string;
    internalUrl?: string;
    connectorInternalUrl?: string;
    jwtSecret?: string;
    /** Unset means "not set by the environment" (the settings page or the default decides). */
    jwtHeader?: string;
  };
}

/** Raised when an environment variable has a value the server cannot run with. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, `${issue.message} (got ${JSON.stringify(env[variable] ?? '')})`);
  }
  const values = parsed.data;
  if ((values.ADMIN_USERNAME === undefined) !== (values.ADMIN_PASSWORD === undefined)) {
    const missing = values.ADMIN_USERNAME === undefined ? 'ADMIN_USERNAME' : 'ADMIN_PASSWORD';
    throw new ConfigError(missing, 'must be set together with its partner (ADMIN_USERNAME and ADMIN_PASSWORD)');
  }
  if (values.ADMIN_PASSWORD !== undefined && values.ADMIN_PASSWORD.length < 8) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be at least 8 characters');
  }
  if (values.JWT_HEADER !== undefined && !/^[A-Za-z0-9-]+$/.test(values.JWT_HEADER)) {
    throw new ConfigError('JWT_HEADER', 'must be an HTTP header name (letters, digits and dashes)');
  }
  return {
    port: values.PORT,
    host: values.HOST,
    publicUrl: values.PUBLIC_URL ?? `http://localhost:${values.PORT}`,
    dataDir: path.resolve(values.DATA_DIR),
    maxUploadBytes: Math.floor(values.MAX_UPLOAD_MB * 1024 * 1024),
    initialAdmin:
      values.ADMIN_USERNAME !== undefined && values.ADMIN_PASSWORD !== undefined
        ? { username: values.ADMIN_USERNAME, password: values.ADMIN_PASSWORD }
        : undefined,
    sessionSecret: values.SESSION_SECRET,
    trustProxy: values.TRUST_PROXY,
    logLevel: values.LOG_LEVEL,
    documentServer: {
      publicUrl: values.DOCUMENT_SERVER_URL,
      internalUrl: values.DOCUMENT_SERVER_INTERNAL_URL,
      connectorInternalUrl: values.CONNECTOR_INTERNAL_URL,
      jwtSecret: values.JWT_SECRET,
      jwtHeader: values.JWT_HEADER,
    },
  };
}
