import { extensionOf } from '../domain/names.js';

/** The editor a format opens in (protocol §5). */
export type DocumentType = 'word' | 'cell' | 'slide' | 'pdf' | 'diagram';

/** What ONLYOFFICE can do with a format, from the Document Server's format matrix. */
export interface FormatInfo {
  extension: string;
  documentType: DocumentType;
  /** Editable as is. */
  editable: boolean;
  /** Editable, but saving may lose what the format can hold beyond OOXML: only where an admin allows it. */
  lossy: boolean;
  /** The formats the Document Server can convert it to. */
  convertTo: string[];
}

const wordTargets = ['docx', 'docm', 'dotx', 'dotm', 'odt', 'ott', 'rtf', 'txt', 'pdf', 'pdfa', 'epub', 'fb2', 'html', 'md', 'png', 'jpg'];
const cellTargets = ['xlsx', 'xlsm', 'xltx', 'xltm', 'ods', 'ots', 'csv', 'pdf', 'pdfa', 'png', 'jpg'];
const slideTargets = ['pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm', 'odp', 'otp', 'pdf', 'pdfa', 'png', 'jpg'];
const pdfTargets = ['pdf', 'pdfa', 'docx', 'png', 'jpg'];
const diagramTargets = ['pdf', 'png', 'jpg'];

const families: Array<{
  documentType: DocumentType;
  edit: string[];
  lossy: string[];
  viewOnly: string[];
  targets: string[];
}> = [
  {
    documentType: 'word',
    edit: ['docx', 'docm', 'dotx', 'dotm'],
    lossy: ['epub', 'fb2', 'html', 'odt', 'ott', 'rtf', 'txt'],
    viewOnly: ['doc', 'dot', 'fodt', 'hml', 'htm', 'hwp', 'hwpx', 'md', 'mht', 'mhtml', 'pages', 'stw', 'sxw', 'wps', 'wpt', 'xml'],
    targets: wordTargets,
  },
  {
    documentType: 'cell',
    edit: ['xlsx', 'xlsm', 'xlsb', 'xltx', 'xltm'],
    lossy: ['csv', 'tsv', 'ods', 'ots'],
    viewOnly: ['xls', 'xlt', 'et', 'ett', 'fods', 'numbers', 'sxc'],
    targets: cellTargets,
  },
  {
    documentType: 'slide',
    edit: ['pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm'],
    lossy: ['odp', 'otp'],
    viewOnly: ['ppt', 'pps', 'pot', 'dps', 'dpt', 'fodp', 'key', 'odg', 'sxi'],
    targets: slideTargets,
  },
  { documentType: 'pdf', edit: ['pdf'], lossy: [], viewOnly: ['djvu', 'oxps', 'xps', 'docxf', 'oform'], targets: pdfTargets },
  {
    documentType: 'diagram',
    edit: [],
    lossy: [],
    viewOnly: ['vsdx', 'vsdm', 'vssx', 'vssm', 'vstx', 'vstm'],
    targets: diagramTargets,
  },
];

const table = new Map<string, FormatInfo>();
for (const family of families) {
  const add = (extension: string, editable: boolean, lossy: boolean) =>
    table.set(extension, {
      extension,
      documentType: family.documentType,
      editable,
      lossy,
      convertTo: family.targets.filter((target) => target !== extension),
    });
  for (const extension of family.edit) add(extension, true, false);
  for (const extension of family.lossy) add(extension, false, true);
  for (const extension of family.viewOnly) add(extension, false, false);
}

/** Every extension ONLYOFFICE can lossily edit (the choices for the admin setting). */
export const lossyExtensions = [...table.values()].filter((format) => format.lossy).map((format) => format.extension);

/** The format of a file name, if ONLYOFFICE can open it at all. */
export function findFormat(fileName: string): FormatInfo | undefined {
  return table.get(extensionOf(fileName));
}

/** Whether files of this format may be edited, given the lossy formats an admin allowed. */
export function isEditableFormat(format: FormatInfo, allowedLossy: readonly string[]): boolean {
  return format.editable || (format.lossy && allowedLossy.includes(format.extension));
}

/** Every format the Document Server can convert something to. */
export const conversionTargets = [...new Set([...table.values()].flatMap((format) => format.convertTo))].sort();

/** The Office Open XML format of a document type, for converting files that cannot be edited as they are. */
export function officeOpenXmlTarget(format: FormatInfo): string | undefined {
  const target = ({ word: 'docx', cell: 'xlsx', slide: 'pptx' } as Partial<Record<DocumentType, string>>)[format.documentType];
  return target !== undefined && format.convertTo.includes(target) ? target : undefined;
}
