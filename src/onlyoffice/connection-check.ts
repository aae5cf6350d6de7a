import crypto from 'node:crypto';
import type { DocumentServerSettings } from '../domain/document-server-settings.js';
import { createBlankDocument } from '../domain/blank-documents.js';
import { ConversionFailure, convertAndWait } from './converter.js';
import { downloadSmallFile, fetchHealthcheck, postToDocumentServer } from './document-server-client.js';
import { createRef } from './signed-refs.js';

export type CheckStepId = 'mixed-content' | 'healthcheck' | 'command' | 'conversion';

/** One step of the connection check, with a message that names the cause and the fix. */
export interface CheckStep {
  id: CheckStepId;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  message: string;
}

/** The outcome of a connection check. */
export interface CheckResult {
  ok: boolean;
  at: string;
  version?: string;
  steps: CheckStep[];
}

/** A test file the Document Server is asked to convert, and why fetching it was refused, if it was. */
export interface CheckFile {
  bytes: Buffer;
  jwtSecret?: string;
  jwtHeader: string;
  /** This DMS's address as the Document Server was told it (the signed URL must start with it). */
  connectorUrl: string;
  expiresAt: number;
  refusals: string[];
}

/** The test files of checks in progress, served by `/check-file` to the Document Server. */
export class CheckFiles {
  private readonly files = new Map<string, CheckFile>();

  register(id: string, file: CheckFile): void {
    for (const [key, entry] of this.files) if (entry.expiresAt < Date.now()) this.files.delete(key);
    this.files.set(id, file);
  }

  find(id: string): CheckFile | undefined {
    return this.files.get(id);
  }

  release(id: string): void {
    this.files.delete(id);
  }
}

interface CheckDeps {
  appSecret: string;
  checkFiles: CheckFiles;
  /** This DMS's address as browsers see it (PUBLIC_URL). */
  dmsPublicUrl: string;
  timeoutMs?: number;
  /** How long to wait for an asynchronous conversion in all. */
  conversionTimeoutMs?: number;
  pollIntervalMs?: number;
}

function step(id: CheckStepId, title: string, status: CheckStep['status'], message: string): CheckStep {
  return { id, title, status, message };
}

/**
 * Proves the connection step by step: mixed content, the healthcheck, a signed `version` command,
 * and a conversion round trip of a file this DMS serves through the address the Document Server uses.
 */
export async function checkConnection(settings: DocumentServerSettings, deps: CheckDeps): Promise<CheckResult> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const steps: CheckStep[] = [];
  let version: string | undefined;

  const mixed = deps.dmsPublicUrl.startsWith('https://') && settings.publicUrl.startsWith('http://');
  steps.push(
    mixed
      ? step('mixed-content', 'Browser security (mixed content)', 'failed',
          `This DMS is served over https (${deps.dmsPublicUrl}) but the Document Server address is http (${settings.publicUrl}); browsers block the editor. Give the Document Server an https address.`)
      : step('mixed-content', 'Browser security (mixed content)', 'passed', 'The DMS and Document Server addresses go together.'),
  );

  let reachable = true;
  try {
    const answer = await fetchHealthcheck(settings, timeoutMs);
    steps.push(
      answer === 'true'
        ? step('healthcheck', 'Document Server health', 'passed', `${settings.internalUrl}/healthcheck answered true.`)
        : step('healthcheck', 'Document Server health', 'failed',
            `${settings.internalUrl}/healthcheck answered "${answer.slice(0, 40)}": the Document Server is up but unhealthy; check its database, Redis and RabbitMQ.`),
    );
  } catch (error) {
    reachable = false;
    steps.push(step('healthcheck', 'Document Server health', 'failed', (error as Error).message));
  }

  if (!reachable) {
    const why = 'Skipped: the Document Server cannot be reached.';
    steps.push(step('command', 'Signed command (version)', 'skipped', why));
    steps.push(step('conversion', 'Conversion round trip', 'skipped', why));
    return { ok: false, at: new Date().toISOString(), steps };
  }

  try {
    const answer = await postToDocumentServer(settings, '/command', { c: 'version' }, timeoutMs);
    const error = Number(answer.error);
    if (error === 0) {
      version = typeof answer.version === 'string' ? answer.version : undefined;
      steps.push(step('command', 'Signed command (version)', 'passed', `The Document Server accepted the signed command; its version is ${version ?? 'not reported'}.`));
    } else if (error === 6) {
      steps.push(step('command', 'Signed command (version)', 'failed', settings.jwtSecret
        ? 'The Document Server rejected the token (error 6): the JWT secret here differs from its JWT_SECRET.'
        : 'The Document Server requires a token (error 6): set the JWT secret to its JWT_SECRET.'));
    } else if (error === 7) {
      steps.push(step('command', 'Signed command (version)', 'failed', 'The Document Server says the token expired (error 7): the clocks of the two servers differ; sync them (NTP).'));
    } else {
      steps.push(step('command', 'Signed command (version)', 'failed', `The command service answered error ${answer.error}.`));
    }
  } catch (error) {
    steps.push(step('command', 'Signed command (version)', 'failed', (error as Error).message));
  }

  steps.push(await convertRoundTrip(settings, deps, timeoutMs));
  return { ok: steps.every((entry) => entry.status === 'passed'), at: new Date().toISOString(), version, steps };
}

async function convertRoundTrip(settings: DocumentServerSettings, deps: CheckDeps, timeoutMs: number): Promise<CheckStep> {
  const title = 'Conversion round trip (both directions)';
  const checkId = crypto.randomBytes(12).toString('base64url');
  const expiresAt = Date.now() + 10 * 60 * 1000;
  const file: CheckFile = {
    bytes: createBlankDocument('docx'),
    jwtSecret: settings.jwtSecret,
    jwtHeader: settings.jwtHeader,
    connectorUrl: settings.connectorUrl,
    expiresAt,
    refusals: [],
  };
  deps.checkFiles.register(checkId, file);
  const url = `${settings.connectorUrl}/check-file?ref=${createRef(deps.appSecret, { p: 'convert', f: checkId, e: Math.floor(expiresAt / 1000) })}`;
  const request = { filetype: 'docx', outputtype: 'pdf', key: `check-${checkId}`, title: 'connection-check.docx', url };
  let result: { fileUrl: string };
  try {
    result = await convertAndWait(settings, request, {
      timeoutMs,
      deadlineMs: deps.conversionTimeoutMs ?? 60_000,
      pollIntervalMs: deps.pollIntervalMs ?? 1000,
    });
  } catch (error) {
    if (!(error instanceof ConversionFailure)) return step('conversion', title, 'failed', (error as Error).message);
    if (error.code === -4) {
      const refusal = file.refusals[0];
      return step('conversion', title, 'failed',
        `The Document Server could not download the test file from this DMS at ${settings.connectorUrl} (error -4). ` +
          (refusal
            ? `This DMS refused it: ${refusal}`
            : 'Check that this address (CONNECTOR_INTERNAL_URL) is reachable from the Document Server — inside Docker "localhost" is the Document Server itself — and that it allows private addresses when needed.'));
    }
    return step('conversion', title, 'failed', `Converting the test file failed: ${error.message}.`);
  } finally {
    deps.checkFiles.release(checkId);
  }
  const downloaded = await downloadSmallFile(settings, result.fileUrl, timeoutMs, 20 * 1024 * 1024).catch((error: Error) => error);
  if (downloaded instanceof Error) {
    return step('conversion', title, 'failed', `The Document Server converted the test file, but this DMS could not download the result from ${settings.internalUrl}: ${downloaded.message}`);
  }
  if (downloaded.length === 0) return step('conversion', title, 'failed', 'The Document Server returned an empty converted file.');
  return step('conversion', title, 'passed', `The Document Server fetched a file from this DMS, converted it, and this DMS downloaded the result (${downloaded.length} bytes).`);
}
