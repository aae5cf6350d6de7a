import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentServerStandIn } from './helpers/document-server.js';
import { binary, createServedTestApp, createTestApp, fixture, type BrowserSession, type ServedTestApp } from './helpers/test-app.js';

const secret = 'conversion-shared-secret';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const converted = (from: string, to: string, source: Buffer) => Buffer.concat([Buffer.from(`CONVERTED:${from}->${to}\n`), source]);

let ds: DocumentServerStandIn;
let t: ServedTestApp;
let alice: BrowserSession;

async function start(options: { assemblyFormatAsOrigin?: boolean } = {}) {
  ds = await DocumentServerStandIn.start({ secret, ...options });
  t = await createServedTestApp(() => ({ DOCUMENT_SERVER_URL: ds.url, JWT_SECRET: secret }), {
    conversionLimits: { pollIntervalMs: 10, deadlineMs: 1000 },
  });
  alice = await t.signedInUser('alice');
}

beforeEach(async () => start());
afterEach(async () => {
  await t.app.services.conversions.settled();
  await ds.close();
  await t.close();
});

const post = (url: string, body: Record<string, unknown>, session = alice) =>
  t.request.post(url).set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken).send(body);

async function upload(name: string, data: Buffer, fields: Record<string, string> = {}) {
  let request = t.request.post('/api/files').set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken);
  for (const [field, value] of Object.entries(fields)) request = request.field(field, value);
  const response = await request.attach('file', data, name);
  expect(response.status).toBe(201);
  return response.body as { file: { id: string; name: string; parentId: string }; conversion?: { state: string; job?: { pollUrl: string }; error?: { code: string } } };
}

async function content(url: string): Promise<Buffer> {
  return (await t.request.get(url).set('Cookie', alice.cookie).buffer(true).parse(binary)).body as Buffer;
}

async function names(): Promise<string[]> {
  return (await t.request.get('/api/files').set('Cookie', alice.cookie)).body.items.map((item: { name: string }) => item.name).sort();
}

async function versions(id: string): Promise<Array<{ number: number; kind: string; sha256: string }>> {
  return (await t.request.get(`/api/files/${id}/versions`).set('Cookie', alice.cookie)).body.versions;
}

/** Polls a conversion job until it is no longer running, as the browser does. */
async function pollJob(pollUrl: string) {
  for (;;) {
    const response = await t.request.get(pollUrl).set('Cookie', alice.cookie);
    expect(response.status).toBe(200);
    if (response.body.job.state !== 'running') return response.body.job;
    await sleep(10);
  }
}

describe('Convert to …', () => {
  it('converts a .doc asynchronously (progress polled) into a new .docx beside it; the original is untouched', async () => {
    const doc = fixture('sample.doc');
    const { file } = await upload('Report.doc', doc);

    const started = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
    expect(started.status).toBe(202);
    expect(started.body.job).toMatchObject({ state: 'running', percent: 0 });
    const job = await pollJob(started.body.job.pollUrl);
    expect(job).toMatchObject({ state: 'done', percent: 100, file: { name: 'Report.docx', extension: 'docx' } });
    expect(job.file.contentType).toContain('wordprocessingml');
    expect(await content(`/api/files/${job.file.id}/content`)).toEqual(converted('doc', 'docx', doc));
    expect((await versions(job.file.id)).map((v) => v.kind)).toEqual(['convert']);

    expect(await names()).toEqual(['Report.doc', 'Report.docx']);
    expect(await versions(file.id)).toEqual([expect.objectContaining({ number: 1, kind: 'upload', sha256: sha256(doc) })]);

    // The request was signed (the stand-in only sees verified claims), asynchronous, and pointed at this DMS.
    const request = ds.conversions[0]!.claims;
    expect(request).toMatchObject({ async: true, filetype: 'doc', outputtype: 'docx', title: 'Report.doc' });
    expect(String(request.url).startsWith(`${t.url}/download?ref=`)).toBe(true);
  });

  it('answers with the finished file when the Document Server is done at once, and can store it as a new version under the new name', async () => {
    ds.conversionPolls = 1;
    const doc = fixture('sample.doc');
    const { file } = await upload('Minutes.doc', doc);
    const response = await post(`/api/files/${file.id}/convert`, { to: '.docx', asNewVersion: true });
    expect(response.status).toBe(201);
    expect(response.body.file).toMatchObject({ id: file.id, name: 'Minutes.docx' });
    expect(await names()).toEqual(['Minutes.docx']);
    expect((await versions(file.id)).map((v) => [v.number, v.kind])).toEqual([[2, 'convert'], [1, 'upload']]);
    expect(await content(`/api/files/${file.id}/versions/1/content`)).toEqual(doc);
    expect(await content(`/api/files/${file.id}/content`)).toEqual(converted('doc', 'docx', doc));
  });

  it('as a new version, refuses while the file is open in the editor unless forced, which closes the editors first', async () => {
    ds.conversionPolls = 1;
    const admin = await t.signedInUser('root', 'admin');
    await t.request.put('/api/settings').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).send({ editableLossyFormats: ['odt'] });
    const { file } = await upload('Open.odt', fixture('sample.odt'));
    const config = (await t.request.get(`/api/files/${file.id}/editor-config`).set('Cookie', alice.cookie)).body.config;
    const session = await ds.openEditor(config);
    await session.connect({ id: alice.user.id, name: 'Alice' });
    const refused = await post(`/api/files/${file.id}/convert`, { to: 'docx', asNewVersion: true });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('file_locked');
    expect(await names()).toEqual(['Open.odt']);
    const forced = await post(`/api/files/${file.id}/convert`, { to: 'docx', asNewVersion: true, force: true });
    expect(forced.status).toBe(201);
    expect(forced.body.file.name).toBe('Open.docx');
    expect(ds.commands.some((command) => command.claims.c === 'drop')).toBe(true);
  });

  it('turns each Document Server error code into a message naming the cause, and stores nothing', async () => {
    const doc = fixture('sample.doc');
    const { file } = await upload('Report.doc', doc);
    const expectations: Array<[number, number, string, string]> = [
      [-1, 502, 'document_server_failed', 'unknown or storage error'],
      [-2, 502, 'document_server_failed', 'timed out'],
      [-3, 422, 'conversion_failed', 'damaged'],
      [-4, 502, 'document_server_failed', 'could not download the file from this DMS'],
      [-6, 502, 'document_server_failed', 'queue or result database'],
      [-7, 502, 'document_server_failed', 'malformed'],
      [-8, 502, 'document_server_failed', 'JWT secret'],
      [-10, 413, 'too_large', 'size limit'],
    ];
    for (const [code, status, errorCode, cause] of expectations) {
      ds.conversionError = code;
      const response = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
      expect(response.status, `error ${code}`).toBe(status);
      expect(response.body.error.code, `error ${code}`).toBe(errorCode);
      expect(response.body.error.message).toContain(`(${code})`);
      expect(response.body.error.message).toContain(cause);
    }
    expect(await names()).toEqual(['Report.doc']);
    expect(await versions(file.id)).toEqual([expect.objectContaining({ sha256: sha256(doc) })]);
    expect(t.listBlobFiles()).toHaveLength(1);
  });

  it('an error that arrives while the browser polls fails the job with the cause', async () => {
    const { file } = await upload('Report.doc', fixture('sample.doc'));
    ds.conversionPolls = 3;
    const started = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
    expect(started.status).toBe(202);
    ds.conversionError = -6;
    const job = await pollJob(started.body.job.pollUrl);
    expect(job).toMatchObject({ state: 'failed', error: { code: 'document_server_failed' } });
    expect(job.error.message).toContain('(-6)');
    expect(await names()).toEqual(['Report.doc']);
  });

  it('a Document Server that never finishes: the job fails with a timeout and nothing is stored', async () => {
    ds.conversionStalls = true;
    const { file } = await upload('Report.doc', fixture('sample.doc'));
    const started = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
    const job = await pollJob(started.body.job.pollUrl);
    expect(job).toMatchObject({ state: 'failed', error: { code: 'conversion_timeout' } });
    expect(job.error.message).toContain('did not finish');
    expect(await names()).toEqual(['Report.doc']);
  });

  it('asks for the password of a protected file, refuses a wrong one, and converts with the right one', async () => {
    ds.conversionPolls = 1;
    const doc = fixture('sample.doc');
    ds.protectInput(doc, 'open sesame');
    const { file } = await upload('Secret.doc', doc);

    const missing = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({ code: 'password_required' });
    expect(missing.body.error.message).toContain('password-protected');
    const wrong = await post(`/api/files/${file.id}/convert`, { to: 'docx', password: 'guess' });
    expect(wrong.body.error).toMatchObject({ code: 'password_incorrect' });
    const right = await post(`/api/files/${file.id}/convert`, { to: 'docx', password: 'open sesame' });
    expect(right.status).toBe(201);
    expect(right.body.file.name).toBe('Secret.docx');
    expect(ds.conversions.at(-1)!.claims.password).toBe('open sesame');
  });

  it('asks for the type of a file whose format cannot be detected, then converts it as that type', async () => {
    ds.conversionPolls = 1;
    const bytes = Buffer.from('plain words without any tell-tale header');
    const { file } = await upload('notes', bytes);
    const unknown = await post(`/api/files/${file.id}/convert`, { to: 'docx' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'type_needed' });
    expect(unknown.body.error.message).toContain('(-9)');
    expect(ds.conversions[0]!.claims.filetype).toBeUndefined();

    const typed = await post(`/api/files/${file.id}/convert`, { to: 'docx', from: 'txt' });
    expect(typed.status).toBe(201);
    expect(typed.body.file.name).toBe('notes.docx');
    expect(await content(`/api/files/${typed.body.file.id}/content`)).toEqual(converted('txt', 'docx', bytes));
  });

  it('refuses bad input with a 400 that names the problem, and changes nothing', async () => {
    const { file } = await upload('Report.doc', fixture('sample.doc'));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ to: 'exe' }, 'to:'],
      [{ to: 'doc' }, 'already a .doc file'],
      [{}, 'to'],
      [{ to: 'docx', asNewVersion: 'yes' }, 'asNewVersion'],
      [{ to: 'docx', from: 'nonsense' }, 'from:'],
      [{ to: 'docx', surprise: 1 }, 'surprise'],
    ];
    for (const [body, fragment] of cases) {
      const response = await post(`/api/files/${file.id}/convert`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.message).toContain(fragment);
    }
    const bob = await t.signedInUser('bob');
    expect((await post(`/api/files/${file.id}/convert`, { to: 'docx' }, bob)).status).toBe(404);
    expect((await t.request.get(`/api/files/${file.id}/conversions/nope`).set('Cookie', alice.cookie)).status).toBe(404);
    expect(ds.conversions).toHaveLength(0);
    expect(await names()).toEqual(['Report.doc']);
  });
});

describe('Download as …', () => {
  it('streams the converted bytes; the key follows the source version and target, so a changed file is never served an old result', async () => {
    const docx = fixture('sample.docx');
    const { file } = await upload('Plan.docx', docx);
    const download = (format: string) => t.request.get(`/api/files/${file.id}/download-as?format=${format}`).set('Cookie', alice.cookie).buffer(true).parse(binary);

    const first = await download('pdf');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/pdf');
    expect(first.headers['content-disposition']).toContain('Plan.pdf');
    expect(first.body).toEqual(converted('docx', 'pdf', docx));

    const again = await download('pdf');
    expect(again.body).toEqual(first.body);
    const keys = ds.conversions.map((entry) => entry.claims.key);
    expect(new Set(keys).size).toBe(1);

    const odt = await download('odt');
    expect(odt.headers['content-disposition']).toContain('Plan.odt');
    expect(ds.conversions.at(-1)!.claims.key).not.toBe(keys[0]);

    const changed = Buffer.concat([docx, Buffer.from('changed')]);
    await t.request.put(`/api/files/${file.id}/content`).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken).attach('file', changed, 'Plan.docx');
    const fresh = await download('pdf');
    expect(fresh.body).toEqual(converted('docx', 'pdf', changed));
    expect(ds.conversions.at(-1)!.claims.key).not.toBe(keys[0]);

    const refused = await t.request.get(`/api/files/${file.id}/download-as?format=xlsx`).set('Cookie', alice.cookie);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('.docx files convert to');
  });

  it('fetches the result only from the Document Server: a result link that redirects elsewhere is refused', async () => {
    const { file } = await upload('Plan.docx', fixture('sample.docx'));
    ds.cacheFault = (_req, res) => {
      res.writeHead(302, { Location: 'http://127.0.0.1:9/elsewhere.pdf' }).end();
      return true;
    };
    const response = await t.request.get(`/api/files/${file.id}/download-as?format=pdf`).set('Cookie', alice.cookie);
    expect(response.status).toBe(502);
    expect(response.body.error.message).toContain('redirected');
    const converting = await post(`/api/files/${file.id}/convert`, { to: 'odt' });
    const job = converting.status === 202 ? await pollJob(converting.body.job.pollUrl) : converting.body;
    expect(job.error.message).toContain('redirected');
    expect(await names()).toEqual(['Plan.docx']);
  });

  it('says so when no Document Server is configured', async () => {
    const local = createTestApp();
    try {
      const carol = await local.signedInUser('carol');
      const uploaded = await local.request.post('/api/files').set('Cookie', carol.cookie).set('X-CSRF-Token', carol.csrfToken).attach('file', fixture('sample.docx'), 'a.docx');
      const response = await local.request.get(`/api/files/${uploaded.body.file.id}/download-as?format=pdf`).set('Cookie', carol.cookie);
      expect(response.status).toBe(409);
      expect(response.body.error.message).toMatch(/not configured/i);
    } finally {
      local.close();
    }
  });
});

describe('converting on upload', () => {
  it('converts a legacy upload when asked, keeps the original as version 1, and follows the admin default otherwise', async () => {
    ds.conversionPolls = 1;
    const xls = fixture('sample.xls');
    const asked = await upload('Budget.xls', xls, { convert: 'true' });
    expect(asked.file.name).toBe('Budget.xlsx');
    expect(asked.conversion).toEqual({ state: 'done' });
    expect((await versions(asked.file.id)).map((v) => v.kind)).toEqual(['convert', 'upload']);
    expect(await content(`/api/files/${asked.file.id}/content`)).toEqual(converted('xls', 'xlsx', xls));

    const byDefault = await upload('Old.doc', fixture('sample.doc'));
    expect(byDefault.file.name).toBe('Old.doc');
    expect(byDefault.conversion).toBeUndefined();

    const admin = await t.signedInUser('root', 'admin');
    const saved = await t.request.put('/api/settings').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).send({ convertOnUpload: true });
    expect(saved.status).toBe(200);
    expect((await upload('Other.doc', fixture('sample.doc'))).file.name).toBe('Other.docx');
    expect((await upload('Kept.doc', fixture('sample.doc'), { convert: 'false' })).file.name).toBe('Kept.doc');
    // Files that can be edited as they are stay as they are.
    expect((await upload('Plan.docx', fixture('sample.docx'))).conversion).toBeUndefined();
  });

  it('a failed conversion keeps the upload as it is and says why', async () => {
    ds.conversionError = -3;
    const result = await upload('Broken.doc', fixture('sample.doc'), { convert: 'true' });
    expect(result.file.name).toBe('Broken.doc');
    expect(result.conversion).toMatchObject({ state: 'failed', error: { code: 'conversion_failed' } });
  });
});

describe('lossy formats edited in place', () => {
  async function openAndSave(name: string, original: Buffer, edited: Buffer) {
    const admin = await t.signedInUser('root', 'admin');
    await t.request.put('/api/settings').set('Cookie', admin.cookie).set('X-CSRF-Token', admin.csrfToken).send({ editableLossyFormats: ['odt'] });
    const { file } = await upload(name, original);
    const config = (await t.request.get(`/api/files/${file.id}/editor-config`).set('Cookie', alice.cookie)).body.config;
    expect(config.editorConfig.mode).toBe('edit');
    const session = await ds.openEditor(config);
    await session.connect({ id: alice.user.id, name: 'Alice' });
    session.edit(alice.user.id, edited);
    const outcome = await session.disconnect(alice.user.id);
    expect(outcome).toMatchObject({ status: 2, success: true });
    expect(session.callbacks.at(-1)!.body.filetype).toBe('docx');
    return file.id;
  }

  beforeEach(async () => {
    await ds.close();
    await t.close();
    await start({ assemblyFormatAsOrigin: false });
  });

  it('an .odt saved back as OOXML is converted back and stored as .odt', async () => {
    const edited = Buffer.from('the edited document, as the editor assembled it');
    const id = await openAndSave('report.odt', fixture('sample.odt'), edited);
    expect(await names()).toEqual(['report.odt']);
    expect((await versions(id)).map((v) => v.kind)).toEqual(['edit', 'upload']);
    expect(await content(`/api/files/${id}/content`)).toEqual(converted('docx', 'odt', edited));
    expect(ds.conversions.at(-1)!.claims).toMatchObject({ filetype: 'docx', outputtype: 'odt' });
  });

  it('when converting back fails, the original stays, the result is kept beside it, and the user is told', async () => {
    ds.conversionError = -3;
    const original = fixture('sample.odt');
    const edited = Buffer.from('edited but not convertible');
    const id = await openAndSave('report.odt', original, edited);
    expect(await names()).toEqual(['report (edited).docx', 'report.odt']);
    expect(await versions(id)).toEqual([expect.objectContaining({ kind: 'upload', sha256: sha256(original) })]);
    const notices = (await t.request.get(`/api/files/${id}/conversion-notices`).set('Cookie', alice.cookie)).body.notices;
    expect(notices).toHaveLength(1);
    expect(notices[0].message).toContain('report (edited).docx');
    expect(notices[0].message).toContain('(-3)');
    const page = await t.request.get(`/files/${id}`).set('Cookie', alice.cookie);
    expect(page.text).toContain('could not be converted back to .odt');

    const cleared = await t.request.delete(`/api/files/${id}/conversion-notices`).set('Cookie', alice.cookie).set('X-CSRF-Token', alice.csrfToken);
    expect(cleared.status).toBe(204);
    expect((await t.request.get(`/api/files/${id}/conversion-notices`).set('Cookie', alice.cookie)).body.notices).toEqual([]);
  });
});

describe('the file page', () => {
  it('offers "Convert to .docx" for a .doc and lists the download formats of the format table', async () => {
    const { file } = await upload('Report.doc', fixture('sample.doc'));
    const page = await t.request.get(`/files/${file.id}`).set('Cookie', alice.cookie);
    expect(page.text).toContain('data-convert-to="docx"');
    expect(page.text).toContain(`/api/files/${file.id}/download-as?format=pdf`);
    expect(page.text).toContain(`/api/files/${file.id}/download-as?format=odt`);
    const { file: docx } = await upload('Plan.docx', fixture('sample.docx'));
    expect((await t.request.get(`/files/${docx.id}`).set('Cookie', alice.cookie)).text).not.toContain('data-convert-to=');
    expect(page.text).toContain('id="convert-dialog"');

    // The file browser links the conversion from the row menu and offers it on upload (unticked by default).
    const browser = await t.request.get(`/folders/${docx.parentId}`).set('Cookie', alice.cookie);
    expect(browser.text).toContain(`href="/files/${file.id}?convert=1"`);
    expect(browser.text).not.toContain(`href="/files/${docx.id}?convert=1"`);
    expect(browser.text).toMatch(/<input type="checkbox" id="upload-convert">/);
  });
});
