import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { ConversionJob, UploadConversion } from '../../domain/conversions.js';
import { contentTypeOf } from '../../domain/content-types.js';
import type { Services } from '../../services.js';
import { presentNode } from '../presenters.js';
import { currentUser } from '../request-context.js';
import { jsonBody, parseInput } from '../validate.js';

/** A format named by its file extension ("docx" or ".docx"), in the field `field`. */
const formatSchema = (field: string) =>
  z
    .string({ message: `${field}: expected a file extension such as docx or pdf.` })
    .trim()
    .regex(/^\.?[A-Za-z0-9]{1,10}$/, `${field}: expected a file extension such as docx or pdf.`);

const convertSchema = z
  .object({
    to: formatSchema('to'),
    password: z.string({ message: 'password: expected text.' }).min(1, 'password: must not be empty.').max(255, 'password: at most 255 characters.').optional(),
    asNewVersion: z.boolean({ message: 'asNewVersion: expected true or false.' }).optional(),
    from: formatSchema('from').optional(),
    force: z.boolean({ message: 'force: expected true or false.' }).optional(),
  })
  .strict();

const downloadAsSchema = z.object({
  format: formatSchema('format'),
  from: formatSchema('from').optional(),
});

/** A conversion job as the browser polls it. */
export function presentConversionJob(job: ConversionJob) {
  return {
    id: job.id,
    state: job.state,
    percent: job.percent,
    pollUrl: `/api/files/${job.fileId}/conversions/${job.id}`,
    ...(job.result ? { file: presentNode(job.result) } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

/** What converting an upload did. */
export function presentUploadConversion(conversion: UploadConversion) {
  if (conversion.state === 'done') return { state: 'done' as const };
  if (conversion.state === 'running') return { state: 'running' as const, job: presentConversionJob(conversion.job) };
  return { state: 'failed' as const, error: conversion.error };
}

function fileId(req: Request): string {
  return String(req.params.id);
}

/** Conversions through the Document Server: convert to, poll a conversion, download as, and notices. */
export function conversionsApi(services: Services): Router {
  const router = Router();
  const { conversions, files } = services;

  router.post('/files/:id/convert', async (req, res) => {
    const user = currentUser(req);
    const input = parseInput(convertSchema, jsonBody(req));
    const file = files.getFile(user, fileId(req));
    // Converting changes the file (a new version) or its folder (a new file beside it).
    if (input.asNewVersion) files.requireWrite(user, file, 'convert it');
    else files.requireWriteToParent(user, file, 'convert it into a new file beside it');
    // A new version replaces what open editors show, so their session is closed first (or refused).
    if (input.asNewVersion) await services.sessions.release([file], { force: input.force === true, action: 'converting it' });
    const outcome = await conversions.convert(user, file.id, input);
    if ('file' in outcome) {
      res.status(201).json({ file: presentNode(outcome.file) });
      return;
    }
    res.status(202).json({ job: presentConversionJob(outcome.job) });
  });

  router.get('/files/:id/conversions/:jobId', (req, res) => {
    const job = conversions.getJob(currentUser(req), fileId(req), String(req.params.jobId));
    res.json({ job: presentConversionJob(job) });
  });

  router.get('/files/:id/download-as', async (req, res) => {
    const input = parseInput(downloadAsSchema, req.query);
    const result = await conversions.downloadAs(currentUser(req), fileId(req), input.format, input.from);
    res.attachment(result.name);
    res.set({
      'Content-Type': contentTypeOf(result.name),
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, no-cache',
    });
    await pipeline(result.stream, res);
  });

  router.get('/files/:id/conversion-notices', (req, res) => {
    const notices = conversions.listNotices(currentUser(req), fileId(req));
    res.json({ notices: notices.map((notice) => ({ id: notice.id, message: notice.message, createdAt: new Date(notice.createdAt).toISOString() })) });
  });

  router.delete('/files/:id/conversion-notices', (req, res) => {
    conversions.clearNotices(currentUser(req), fileId(req));
    res.status(204).end();
  });

  return router;
}
