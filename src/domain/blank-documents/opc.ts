/** Open Packaging Conventions plumbing shared by the docx, xlsx and pptx builders. */
import { strToU8, zipSync, type Zippable } from 'fflate';

export const NS = {
  r: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships',
  w: 'http://schemas.openxmlformats.org/wordprocessingml/2006/main',
  s: 'http://schemas.openxmlformats.org/spreadsheetml/2006/main',
  p: 'http://schemas.openxmlformats.org/presentationml/2006/main',
  a: 'http://schemas.openxmlformats.org/drawingml/2006/main',
} as const;

/** Prefix of the content types of the Office parts (e.g. `${OFFICE_TYPE}theme+xml`). */
export const OFFICE_TYPE = 'application/vnd.openxmlformats-officedocument.';

const OFFICE_REL = `${NS.r}/`;
const PACKAGE_REL = 'http://schemas.openxmlformats.org/package/2006/relationships';
const RELS_TYPE = 'application/vnd.openxmlformats-package.relationships+xml';

// Fixed so that the same kind always yields the same bytes.
const FIXED_TIME = '2026-01-01T00:00:00Z';
const APPLICATION = 'onlyoffice-connector';

/** A relationship from a part; `type` is the last segment of an Office relationship type. */
export interface Relationship {
  id: string;
  type: string;
  target: string;
}

/** One XML part of a package, with the relationships it owns. */
export interface Part {
  path: string;
  contentType: string;
  xml: string;
  rels?: readonly Relationship[];
}

/** Prepends the XML declaration Office writes on every part. */
export function xml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`;
}

/** The relationships part path of a part: `a/b.xml` → `a/_rels/b.xml.rels`. */
function relsPathOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}_rels/${path.slice(slash + 1)}.rels`;
}

function relsXml(rels: readonly Relationship[]): string {
  const items = rels
    .map((rel) => `<Relationship Id="${rel.id}" Type="${rel.type}" Target="${rel.target}"/>`)
    .join('');
  return xml(`<Relationships xmlns="${PACKAGE_REL}">${items}</Relationships>`);
}

function contentTypesXml(parts: readonly Part[]): string {
  const overrides = parts
    .map((part) => `<Override PartName="/${part.path}" ContentType="${part.contentType}"/>`)
    .join('');
  return xml(
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      `<Default Extension="rels" ContentType="${RELS_TYPE}"/>` +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      `${overrides}</Types>`,
  );
}

function docPropsParts(): [core: Part, app: Part] {
  const core = xml(
    '<cp:coreProperties' +
      ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"' +
      ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"' +
      ' xmlns:dcmitype="http://purl.org/dc/dcmitype/"' +
      ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<cp:revision>1</cp:revision>' +
      `<dcterms:created xsi:type="dcterms:W3CDTF">${FIXED_TIME}</dcterms:created>` +
      `<dcterms:modified xsi:type="dcterms:W3CDTF">${FIXED_TIME}</dcterms:modified>` +
      '</cp:coreProperties>',
  );
  const app = xml(
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"' +
      ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">' +
      `<Application>${APPLICATION}</Application><DocSecurity>0</DocSecurity>` +
      '<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>' +
      '<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>' +
      '</Properties>',
  );
  return [
    {
      path: 'docProps/core.xml',
      contentType: 'application/vnd.openxmlformats-package.core-properties+xml',
      xml: core,
    },
    { path: 'docProps/app.xml', contentType: `${OFFICE_TYPE}extended-properties+xml`, xml: app },
  ];
}

/**
 * Zips a package: `main` is the officeDocument part, `others` every other part reachable
 * from it; content types, package relationships and document properties are added here.
 */
export function buildPackage(main: Part, others: readonly Part[]): Buffer {
  const [core, app] = docPropsParts();
  const parts = [main, ...others, core, app];
  const rootRels = [
    { id: 'rId1', type: `${OFFICE_REL}officeDocument`, target: main.path },
    { id: 'rId2', type: `${PACKAGE_REL}/metadata/core-properties`, target: core.path },
    { id: 'rId3', type: `${OFFICE_REL}extended-properties`, target: app.path },
  ];
  // [Content_Types].xml goes first: some readers sniff the archive's first entry.
  const files: Zippable = {
    '[Content_Types].xml': strToU8(contentTypesXml(parts)),
    '_rels/.rels': strToU8(relsXml(rootRels)),
  };
  for (const part of parts) {
    files[part.path] = strToU8(part.xml);
    if (part.rels) {
      const rels = part.rels.map((rel) => ({ ...rel, type: `${OFFICE_REL}${rel.type}` }));
      files[relsPathOf(part.path)] = strToU8(relsXml(rels));
    }
  }
  return Buffer.from(zipSync(files, { level: 6, mtime: new Date(FIXED_TIME) }));
}
