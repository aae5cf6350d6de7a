import { ValidationError } from '../errors.js';

const maxNameBytes = 255;
// Path separators, and the C0/C1 control characters (NUL included) that break shells and headers.
// eslint-disable-next-line no-control-regex
const forbidden = /[/\\\u0000-\u001f\u007f-\u009f]/;

/** Trims and checks a file or folder name; throws a ValidationError that names the problem. */
export function validateName(raw: unknown, field = 'name'): string {
  if (typeof raw !== 'string') throw new ValidationError(`The ${field} must be text.`, field);
  const name = raw.normalize('NFC').trim();
  if (name === '') throw new ValidationError(`The ${field} must not be empty.`, field);
  if (name === '.' || name === '..') {
    throw new ValidationError(`"${name}" is not allowed as a ${field}.`, field);
  }
  const bad = forbidden.exec(name);
  if (bad) {
    const what = bad[0] === '/' || bad[0] === '\\' ? `a path separator (${bad[0]})` : 'a control character';
    throw new ValidationError(`The ${field} must not contain ${what}.`, field);
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxNameBytes) {
    throw new ValidationError(
      `The ${field} is ${bytes} bytes long; at most ${maxNameBytes} bytes are allowed.`,
      field,
    );
  }
  return name;
}

/** Splits "report.final.docx" into "report.final" and ".docx" (dotfiles have no extension). */
export function splitExtension(name: string): { stem: string; extension: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { stem: name, extension: '' };
  return { stem: name.slice(0, dot), extension: name.slice(dot) };
}

/** The lower-case extension without the dot ("docx"), or "" when there is none. */
export function extensionOf(name: string): string {
  return splitExtension(name).extension.slice(1).toLowerCase();
}

/**
 * The first of "name.ext", "name (1).ext", "name (2).ext"… that `isTaken` rejects not, cut so the
 * result still fits in 255 bytes.
 */
export function firstFreeName(name: string, isTaken: (candidate: string) => boolean): string {
  if (!isTaken(name)) return name;
  const { stem, extension } = splitExtension(name);
  for (let counter = 1; ; counter += 1) {
    const suffix = ` (${counter})${extension}`;
    let base = stem;
    while (Buffer.byteLength(base + suffix, 'utf8') > maxNameBytes) base = [...base].slice(0, -1).join('');
    const candidate = base + suffix;
    if (!isTaken(candidate)) return candidate;
  }
}
