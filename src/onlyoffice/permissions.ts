import { atLeast, canWrite, type Access } from '../domain/access.js';
import type { DocumentType } from './formats.js';

/** `document.permissions` as the editor understands them. */
export interface EditorPermissions {
  edit: boolean;
  review: boolean;
  comment: boolean;
  fillForms: boolean;
  modifyFilter: boolean;
  download: boolean;
  print: boolean;
  copy: boolean;
  chat: boolean;
  protect: boolean;
}

export type EditorMode = 'edit' | 'view';

/** The editor's mode and permissions for one person and one file. */
export interface EditorRights {
  mode: EditorMode;
  permissions: EditorPermissions;
  /** Whether the person may join the editing session at all (and so gets a callback URL in edit mode). */
  mayOpenForEditing: boolean;
}

export interface RightsOptions {
  documentType: DocumentType;
  /** The format can be edited (natively, or lossily where an admin allowed it). */
  editable: boolean;
  /** The person asked for the viewer. */
  wantView: boolean;
  /** The admin settings for comments and chat. */
  comments: boolean;
  chat: boolean;
}

/**
 * Maps access onto the editor, per document type: editors edit; reviewers track changes in text
 * documents and comment elsewhere; commenters comment; form fillers fill PDF forms; viewers view. A
 * role that grants nothing for this type of document opens the viewer. Download, print and copy
 * follow the share's "no download" option.
 */
export function editorRights(access: Access, options: RightsOptions): EditorRights {
  const { documentType, editable } = options;
  const writer = canWrite(access);
  const permissions: EditorPermissions = {
    edit: editable && writer,
    review: editable && documentType === 'word' && atLeast(access.role, 'reviewer'),
    comment: editable && options.comments && documentType !== 'diagram' && atLeast(access.role, 'commenter'),
    fillForms: editable && documentType === 'pdf' && (writer || access.role === 'form_filler'),
    modifyFilter: editable && documentType === 'cell' && writer,
    download: !access.noDownload,
    print: !access.noDownload,
    copy: !access.noDownload,
    chat: false,
    protect: editable && documentType !== 'diagram' && writer,
  };
  const mayOpenForEditing = permissions.edit || permissions.review || permissions.comment || permissions.fillForms;
  permissions.chat = mayOpenForEditing && options.chat;
  return { mode: mayOpenForEditing && !options.wantView ? 'edit' : 'view', permissions, mayOpenForEditing };
}
