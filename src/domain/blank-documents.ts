import { docx } from './blank-documents/docx.js';
import { pptx } from './blank-documents/pptx.js';
import { xlsx } from './blank-documents/xlsx.js';

/** The kinds of new, empty file the system can create. */
export type BlankKind = 'docx' | 'xlsx' | 'pptx' | 'txt';

const builders: Record<BlankKind, () => Buffer> = {
  docx,
  xlsx,
  pptx,
  txt: () => Buffer.alloc(0),
};

/** Builds a valid, empty document of the given kind (the bytes of a new file). */
export function createBlankDocument(kind: BlankKind): Buffer {
  return builders[kind]();
}
