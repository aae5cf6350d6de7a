import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { FileStore, StagedBlob } from '../../storage/file-store.js';
import { UnsupportedMediaTypeError, ValidationError } from '../../errors.js';
import { parseListingQuery } from '../listing-query.js';
import { presentUploadConversion } from './conversions.api.js';
import { presentAccess, presentNode, presentPage, presentVersion } from '../presenters.js';
import { currentUser } from '../request-context.js';
import { sendVersion } from '../send-content.js';
import type { Uploads } from '../uploads.js';
import { jsonBody, parseInput } from '../validate.js';

const newFileSchema = z.object({
  name: z.string({ message: 'name: expected text.' }),
  type: z.enum(['docx', 'xlsx', 'pptx', 'txt'], { message: 'type must be one of docx, xlsx, pptx, txt.' }),
  folderId: z.string({ message: 'folderId: expected text.' }).optional(),
});
const updateSchema = z
  .object({
    name: z.string({ message: 'name: expected text.' }).optional(),
    folderId: z.string({ message: 'folderId: expected text.' }).optional(),
  })
  .strict()
  .refine((value) => value.name !== undefined || value.folderId !== undefined, {
    message: 'Send a new name, a folderId to move to, or both.',
  });
const newFolderSchema = z.object({
  name: z.string({ message: 'name: expected text.' }),
  parentId: z.string({ message: 'parentId: expected text.' }).optional(),
});
const uploadFieldsSchema = z.object({
  folderId: z.string().optional(),
  name: z.string().optional(),
  /** Convert a format that cannot be edited as it is to OOXML; unset = the admin default. */
  convert: z.enum(['true', 'false'], { message: 'convert: expected true or false.' }).optional(),
});
const versionNumberSchema = z.coerce
  .number({ message: 'The version number must be a whole number.' })
  .int('The version number must be a whole number.')
  .positive('The version number must be positive.');

function param(req: Request, name: string): string {
  return String(req.params[name]);
}

/** Whether the caller asked to override an editing lock (`?force=true` or `{"force": true}`). */
function isForced(req: Request): boolean {
  const body = req.body as { force?: unknown } | undefined;
  return req.query.force === 'true' || body?.force === true;
}

const editingQuerySchema = z.object({
  ids: z.string({ message: 'ids: a comma-separated list of file ids is required.' }).max(200 * 24, 'ids: at most 200 ids.'),
});

/** Files and folders as JSON: list, search, metadata, upload, create, content, rename, move, delete, versions. */
export function filesApi(services: Services, store: FileStore, uploads: Uploads): Router {
  const router = Router();
  const { files } = services;

  router.get('/files', (req, res) => {
    const user = currentUser(req);
    const { page, text } = parseListingQuery(req.query);
    if (req.query.folderId !== undefined && typeof req.query.folderId !== 'string') {
      throw new ValidationError('folderId: give one folder id.', 'folderId');
    }
    const folderId = req.query.folderId ?? files.getHome(user).id;
    if (text !== undefined) {
      res.json({ query: text, ...presentPage(files.search(user, text, page)) });
      return;
    }
    const listing = files.listFolder(user, folderId, page);
    const editing = services.editor.editingStatus(listing.page.items.filter((item) => item.kind === 'file').map((item) => item.id));
    const presented = presentPage(listing.page);
    res.json({
      folder: presentNode(listing.folder),
      access: presentAccess(files.getAccess(user, listing.folder)),
      path: listing.path.map(presentNode),
      total: listing.total,
      ...presented,
      items: presented.items.map((item) => (item.type === 'file' ? { ...item, editing: editing.get(item.id) ?? null } : item)),
    });
  });

  router.post('/files', uploads.multipartFile, async (req, res) => {
    const user = currentUser(req);
    const { staged, originalName } = uploads.stagedFile(req);
    let fields: z.output<typeof uploadFieldsSchema>;
    try {
      fields = parseInput(uploadFieldsSchema, req.body ?? {});
    } catch (error) {
      staged.discard();
      throw error;
    }
    const folderId = fields.folderId || files.getHome(user).id;
    const file = files.addFile(user, folderId, fields.name || originalName, staged);
    const conversion = await services.conversions.convertUpload(user, file, fields.convert === undefined ? undefined : fields.convert === 'true');
    res.status(201).json({
      file: presentNode(conversion?.state === 'done' ? conversion.file : file),
      ...(conversion ? { conversion: presentUploadConversion(conversion) } : {}),
    });
  });

  router.post('/files/new', async (req, res) => {
    const user = currentUser(req);
    const input = parseInput(newFileSchema, jsonBody(req));
    const file = await files.createBlank(user, input.folderId ?? files.getHome(user).id, input.name, input.type);
    res.status(201).json({ file: presentNode(file) });
  });

  router.get('/files/:id', (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    const version = files.getVersion(user, file.id);
    const editing = services.editor.editingStatus([file.id]).get(file.id) ?? null;
    res.json({
      file: { ...presentNode(file), version: presentVersion(version), editing, access: presentAccess(files.getAccess(user, file)) },
      path: files.visiblePath(user, file).map(presentNode),
    });
  });

  router.get('/files/:id/content', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    files.requireDownload(user, file);
    await sendVersion(res, store, files.getVersion(user, file.id), file.name);
  });

  router.put('/files/:id/content', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    files.requireWrite(user, file, 'change its content');
    // The general JSON and form parsers have already consumed such bodies; refusing them beats
    // storing an empty version.
    if (req.is(['application/json', 'application/x-www-form-urlencoded'])) {
      throw new UnsupportedMediaTypeError('Send the new content as the raw request body (for example application/octet-stream) or as the multipart field "file".');
    }
    let staged: StagedBlob;
    if (req.is('multipart/form-data')) {
      await new Promise<void>((resolve, reject) => uploads.multipartFile(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
      staged = uploads.stagedFile(req).staged;
    } else {
      staged = await uploads.stageRawBody(req);
    }
    // Only once the new bytes are safely staged are the editors (if forced) closed.
    try {
      await services.sessions.release([file], { force: isForced(req), action: 'replacing its content' });
    } catch (error) {
      staged.discard();
      throw error;
    }
    const version = files.replaceContent(user, file.id, staged);
    res.json({ file: presentNode(files.getFile(user, file.id)), version: presentVersion(version) });
  });

  router.patch(['/files/:id', '/folders/:id'], async (req, res) => {
    const user = currentUser(req);
    const input = parseInput(updateSchema, jsonBody(req));
    const kind = req.path.startsWith('/files/') ? 'file' : 'folder';
    let node = kind === 'file' ? files.getFile(user, param(req, 'id')) : files.getFolder(user, param(req, 'id'));
    if (input.name !== undefined) {
      node = files.rename(user, node.id, input.name);
      if (node.kind === 'file') await services.sessions.announceRename(node);
    }
    if (input.folderId !== undefined) {
      // Moving out of a shared folder takes access away from its sharees: close them out of the editor.
      const before = services.sharing.snapshotEditors(node);
      const from = node.parentId;
      node = files.move(user, node.id, input.folderId);
      if (node.parentId !== from) await services.sharing.reduceAccess(node, before);
    }
    res.json({ [kind]: presentNode(node) });
  });

  router.delete(['/files/:id', '/folders/:id'], async (req, res) => {
    const user = currentUser(req);
    const id = param(req, 'id');
    const node = req.path.startsWith('/files/') ? files.getFile(user, id) : files.getFolder(user, id);
    files.assertDeletable(user, node);
    await services.sessions.release(files.listFilesBelow(node), { force: isForced(req), action: 'deleting it' });
    files.remove(user, id);
    res.status(204).end();
  });

  router.get('/files/:id/versions', (req, res) => {
    const user = currentUser(req);
    res.json({ versions: files.listVersions(user, param(req, 'id')).map(presentVersion) });
  });

  router.get('/files/:id/versions/:number/content', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    files.requireDownload(user, file);
    const number = parseInput(versionNumberSchema, req.params.number);
    await sendVersion(res, store, files.getVersion(user, file.id, number), file.name);
  });

  router.post('/files/:id/versions/:number/restore', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    const number = parseInput(versionNumberSchema, req.params.number);
    files.requireWrite(user, file, 'restore a version');
    files.getVersion(user, file.id, number);
    await services.sessions.release([file], { force: isForced(req), action: 'restoring an earlier version' });
    const version = await files.restore(user, file.id, number);
    res.status(201).json({ file: presentNode(files.getFile(user, file.id)), version: presentVersion(version) });
  });

  router.post('/files/:id/forcesave', async (req, res) => {
    const user = currentUser(req);
    const file = files.getFile(user, param(req, 'id'));
    files.requireWrite(user, file, 'save it');
    const outcome = await services.sessions.forceSave(file, user);
    res.status(outcome.started ? 202 : 200).json(outcome);
  });

  router.get('/editing', (req, res) => {
    const user = currentUser(req);
    const ids = parseInput(editingQuerySchema, req.query).ids.split(',').filter(Boolean).slice(0, 200);
    const visible = ids.filter((id) => {
      try {
        files.getFile(user, id);
        return true;
      } catch {
        return false;
      }
    });
    res.json({ editing: Object.fromEntries(services.editor.editingStatus(visible)) });
  });

  router.get('/folders/home', (req, res) => {
    const user = currentUser(req);
    res.json({ folder: presentNode(files.getHome(user)) });
  });

  router.get('/folders/:id', (req, res) => {
    const user = currentUser(req);
    const folder = files.getFolder(user, param(req, 'id'));
    res.json({ folder: presentNode(folder), access: presentAccess(files.getAccess(user, folder)), path: files.visiblePath(user, folder).map(presentNode) });
  });

  router.post('/folders', (req, res) => {
    const user = currentUser(req);
    const input = parseInput(newFolderSchema, jsonBody(req));
    const folder = files.createFolder(user, input.parentId ?? files.getHome(user).id, input.name);
    res.status(201).json({ folder: presentNode(folder) });
  });

  return router;
}
