import { posix } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { createBlankDocument, type BlankKind } from '../src/domain/blank-documents.js';

const OFFICE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const CORE_REL =
  'http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties';
const OFFICE_TYPE = 'application/vnd.openxmlformats-officedocument.';

const COMMON_PARTS = [
  '[Content_Types].xml',
  '_rels/.rels',
  'docProps/core.xml',
  'docProps/app.xml',
];

interface OoxmlCase {
  kind: Exclude<BlankKind, 'txt'>;
  main: string;
  mainType: string;
  root: { name: string; ns: string };
  parts: string[];
}

const CASES: OoxmlCase[] = [
  {
    kind: 'docx',
    main: 'word/document.xml',
    mainType: `${OFFICE_TYPE}wordprocessingml.document.main+xml`,
    root: {
      name: 'w:document',
      ns: 'http://schemas.openxmlformats.org/wordprocessingml/2006/main',
    },
    parts: ['word/_rels/document.xml.rels', 'word/styles.xml', 'word/settings.xml'],
  },
  {
    kind: 'xlsx',
    main: 'xl/workbook.xml',
    mainType: `${OFFICE_TYPE}spreadsheetml.sheet.main+xml`,
    root: { name: 'workbook', ns: 'http://schemas.openxmlformats.org/spreadsheetml/2006/main' },
    parts: ['xl/_rels/workbook.xml.rels', 'xl/worksheets/sheet1.xml', 'xl/styles.xml'],
  },
  {
    kind: 'pptx',
    main: 'ppt/presentation.xml',
    mainType: `${OFFICE_TYPE}presentationml.presentation.main+xml`,
    root: {
      name: 'p:presentation',
      ns: 'http://schemas.openxmlformats.org/presentationml/2006/main',
    },
    parts: [
      'ppt/_rels/presentation.xml.rels',
      'ppt/slideMasters/slideMaster1.xml',
      'ppt/slideMasters/_rels/slideMaster1.xml.rels',
      'ppt/slideLayouts/slideLayout1.xml',
      'ppt/slideLayouts/_rels/slideLayout1.xml.rels',
      'ppt/slides/slide1.xml',
      'ppt/slides/_rels/slide1.xml.rels',
      'ppt/theme/theme1.xml',
      'ppt/presProps.xml',
      'ppt/viewProps.xml',
      'ppt/tableStyles.xml',
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// A small, strict checker for the XML subset Office writes: one root, balanced tags, quoted and
// unique attributes, known entities only, and every namespace prefix declared in scope.

const NAME = '[A-Za-z_][\\w.-]*(?::[A-Za-z_][\\w.-]*)?';
const START_TAG = new RegExp(
  `<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`,
  'y',
);
const END_TAG = new RegExp(`</(${NAME})\\s*>`, 'y');
const TEXT = /[^<]+/y;
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const BAD_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

interface Root {
  name: string;
  ns: string | undefined;
}

function prefixOf(qname: string): string | undefined {
  const colon = qname.indexOf(':');
  return colon === -1 ? undefined : qname.slice(0, colon);
}

/** Throws unless `text` is well-formed, namespace-correct XML; returns the root element. */
function checkXml(text: string): Root {
  const body = text.replace(/^<\?xml\s[^?]*\?>/, '');
  const stack: { name: string; scope: Map<string, string> }[] = [];
  let root: Root | undefined;
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${pos}: ${JSON.stringify(body.slice(pos, pos + 60))}`);
  };
  while (pos < body.length) {
    START_TAG.lastIndex = END_TAG.lastIndex = TEXT.lastIndex = pos;
    let match: RegExpExecArray | null;
    if ((match = START_TAG.exec(body))) {
      const [whole, name = '', attrs = '', selfClosing] = match;
      if (stack.length === 0 && root) fail('second root element');
      const scope = new Map(stack.at(-1)?.scope);
      const seen = new Set<string>();
      const attributes = [...attrs.matchAll(ATTRIBUTE)].map(([, key = '', dq, sq]) => ({
        key,
        value: dq ?? sq ?? '',
      }));
      for (const { key, value } of attributes) {
        if (seen.has(key)) fail(`duplicate attribute ${key}`);
        seen.add(key);
        if (BAD_AMPERSAND.test(value)) fail(`bad entity in attribute ${key}`);
        if (key === 'xmlns') scope.set('', value);
        else if (key.startsWith('xmlns:')) scope.set(key.slice(6), value);
      }
      for (const qname of [name, ...attributes.map((a) => a.key)]) {
        const prefix = prefixOf(qname);
        if (prefix && prefix !== 'xmlns' && prefix !== 'xml' && !scope.has(prefix)) {
          fail(`undeclared prefix ${prefix}`);
        }
      }
      if (stack.length === 0) root = { name, ns: scope.get(prefixOf(name) ?? '') };
      if (!selfClosing) stack.push({ name, scope });
      pos += whole.length;
    } else if ((match = END_TAG.exec(body))) {
      const open = stack.pop();
      if (open?.name !== match[1]) fail(`</${match[1]}> closes <${open?.name ?? 'nothing'}>`);
      pos += match[0].length;
    } else if ((match = TEXT.exec(body))) {
      if (stack.length === 0 && match[0].trim() !== '') fail('text outside the root element');
      if (BAD_AMPERSAND.test(match[0])) fail('bad entity in text');
      pos += match[0].length;
    } else {
      fail('unexpected markup');
    }
  }
  if (stack.length > 0) fail(`unclosed <${stack.at(-1)?.name}>`);
  return root ?? fail('no root element');
}

// ---------------------------------------------------------------------------------------------

function unpack(kind: BlankKind): Map<string, string> {
  const files = unzipSync(new Uint8Array(createBlankDocument(kind)));
  return new Map(Object.entries(files).map(([path, bytes]) => [path, strFromU8(bytes)]));
}

function attributesOf(xml: string, element: string): Record<string, string>[] {
  const tags = xml.match(new RegExp(`<${element}\\s[^>]*>`, 'g')) ?? [];
  return tags.map((tag) =>
    Object.fromEntries(
      [...tag.matchAll(/([\w:]+)="([^"]*)"/g)].map(([, k = '', v = '']) => [k, v]),
    ),
  );
}

function count(xml: string, element: string): number {
  return xml.match(new RegExp(`<${element}[\\s/>]`, 'g'))?.length ?? 0;
}

/** Names of the child elements of the first `element` in `xml`. */
function childrenOf(xml: string, element: string): string[] {
  const inner = new RegExp(`<${element}(?:\\s[^>]*)?>(.*?)</${element}>`, 's').exec(xml)?.[1] ?? '';
  const names: string[] = [];
  let depth = 0;
  for (const [, close, name, selfClosing] of inner.matchAll(/<(\/?)([\w:]+)[^>]*?(\/?)>/g)) {
    if (close) depth--;
    else {
      if (depth === 0) names.push(name ?? '');
      if (!selfClosing) depth++;
    }
  }
  return names;
}

/** The part that owns a relationships part: `a/_rels/b.xml.rels` → `a/b.xml`; `_rels/.rels` → ''. */
function sourceOf(relsPath: string): string {
  return relsPath.replace(/(^|\/)_rels\/([^/]*)\.rels$/, '$1$2');
}

function resolveTarget(source: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  return posix.normalize(posix.join(posix.dirname(source), target));
}

describe('the XML checker used below', () => {
  it('accepts well-formed XML and reports the root', () => {
    expect(
      checkXml('<?xml version="1.0"?>\n<x:a xmlns:x="urn:x"><x:b c="1 &amp; 2"/>t</x:a>'),
    ).toEqual({
      name: 'x:a',
      ns: 'urn:x',
    });
  });

  it.each([
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['two roots', '<a/><b/>'],
    ['an undeclared element prefix', '<x:a/>'],
    ['an undeclared attribute prefix', '<a r:id="1"/>'],
    ['a prefix used outside its scope', '<a><b xmlns:x="urn:x"/><x:c/></a>'],
    ['a duplicate attribute', '<a b="1" b="2"/>'],
    ['an unquoted attribute', '<a b=1/>'],
    ['a bare ampersand', '<a>fish & chips</a>'],
    ['text outside the root', '<a/>junk'],
    ['nothing at all', ''],
  ])('rejects %s', (_, xml) => {
    expect(() => checkXml(xml)).toThrow();
  });
});

describe.each(CASES)('createBlankDocument($kind)', ({ kind, main, mainType, root, parts }) => {
  const files = unpack(kind);
  const contentTypes = files.get('[Content_Types].xml') ?? '';
  const relsFiles = [...files.keys()].filter((path) => path.endsWith('.rels'));

  it('contains the required parts', () => {
    for (const path of [...COMMON_PARTS, main, ...parts]) {
      expect(files.has(path), path).toBe(true);
    }
  });

  it('has only well-formed XML parts', () => {
    for (const [path, text] of files) {
      expect(() => checkXml(text), path).not.toThrow();
      expect(text.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'), path).toBe(
        true,
      );
    }
  });

  it('declares a content type for every part, and every declared part exists', () => {
    const defaults = new Map(
      attributesOf(contentTypes, 'Default').map((d) => [d.Extension, d.ContentType]),
    );
    expect(defaults.get('rels')).toBe('application/vnd.openxmlformats-package.relationships+xml');
    expect(defaults.get('xml')).toBe('application/xml');
    const overrides = new Map(
      attributesOf(contentTypes, 'Override').map((o) => [o.PartName ?? '', o.ContentType]),
    );
    for (const partName of overrides.keys()) {
      expect(files.has(partName.slice(1)), partName).toBe(true);
    }
    for (const path of files.keys()) {
      if (path === '[Content_Types].xml' || path.endsWith('.rels')) continue;
      expect(overrides.has(`/${path}`), `override for ${path}`).toBe(true);
    }
    expect(overrides.get(`/${main}`)).toBe(mainType);
  });

  it('resolves every relationship to an existing part, with unique ids', () => {
    expect(relsFiles.length).toBeGreaterThan(1);
    for (const relsPath of relsFiles) {
      const source = sourceOf(relsPath);
      if (source) expect(files.has(source), `source of ${relsPath}`).toBe(true);
      const rels = attributesOf(files.get(relsPath) ?? '', 'Relationship');
      expect(rels.length, relsPath).toBeGreaterThan(0);
      expect(new Set(rels.map((r) => r.Id)).size, `ids in ${relsPath}`).toBe(rels.length);
      for (const rel of rels) {
        expect(rel.TargetMode, relsPath).toBeUndefined();
        const target = resolveTarget(source, rel.Target ?? '');
        expect(files.has(target), `${relsPath} → ${rel.Target}`).toBe(true);
      }
    }
  });

  it('links the package to the main part and both property parts', () => {
    const rels = attributesOf(files.get('_rels/.rels') ?? '', 'Relationship');
    const byType = new Map(rels.map((r) => [r.Type, r.Target]));
    expect(byType.get(`${OFFICE_REL}/officeDocument`)).toBe(main);
    expect(byType.get(CORE_REL)).toBe('docProps/core.xml');
    expect(byType.get(`${OFFICE_REL}/extended-properties`)).toBe('docProps/app.xml');
  });

  it('refers only to relationship ids its parts own', () => {
    for (const [path, text] of files) {
      const used = [...text.matchAll(/\br:(?:id|embed|link)="([^"]*)"/g)].map(([, id]) => id);
      if (used.length === 0) continue;
      const relsPath = `${posix.dirname(path)}/_rels/${posix.basename(path)}.rels`;
      const owned = new Set(
        attributesOf(files.get(relsPath) ?? '', 'Relationship').map((r) => r.Id),
      );
      for (const id of used) expect(owned.has(id), `${path} uses ${id}`).toBe(true);
    }
  });

  it('has the expected root element in the main part', () => {
    expect(checkXml(files.get(main) ?? '')).toEqual(root);
  });

  it('carries fixed document properties', () => {
    const core = files.get('docProps/core.xml') ?? '';
    expect(core).toContain('>2026-01-01T00:00:00Z</dcterms:created>');
    expect(core).toContain('>2026-01-01T00:00:00Z</dcterms:modified>');
  });

  it('produces the same bytes every time', () => {
    expect(createBlankDocument(kind).equals(createBlankDocument(kind))).toBe(true);
  });
});

describe('blank document contents', () => {
  it('docx: one empty paragraph on a sized page, with a default Normal style', () => {
    const files = unpack('docx');
    const document = files.get('word/document.xml') ?? '';
    expect(count(document, 'w:p')).toBe(1);
    expect(document).toMatch(/<w:body><w:p\/><w:sectPr>.*<\/w:sectPr><\/w:body>/);
    const [size] = attributesOf(document, 'w:pgSz');
    expect(['11906 16838', '12240 15840']).toContain(`${size?.['w:w']} ${size?.['w:h']}`);
    expect(attributesOf(document, 'w:pgMar')).toHaveLength(1);
    const styles = files.get('word/styles.xml') ?? '';
    expect(styles).toContain('<w:docDefaults>');
    expect(attributesOf(styles, 'w:style')).toContainEqual(
      expect.objectContaining({ 'w:styleId': 'Normal', 'w:default': '1', 'w:type': 'paragraph' }),
    );
  });

  it('xlsx: one empty sheet called Sheet1, and the two reserved fills', () => {
    const files = unpack('xlsx');
    expect(attributesOf(files.get('xl/workbook.xml') ?? '', 'sheet')).toEqual([
      { name: 'Sheet1', sheetId: '1', 'r:id': 'rId1' },
    ]);
    const sheet = files.get('xl/worksheets/sheet1.xml') ?? '';
    for (const part of [
      '<dimension ref="A1"/>',
      '<sheetViews>',
      '<sheetFormatPr ',
      '<sheetData/>',
    ]) {
      expect(sheet).toContain(part);
    }
    const styles = files.get('xl/styles.xml') ?? '';
    expect(attributesOf(styles, 'patternFill').map((f) => f.patternType)).toEqual([
      'none',
      'gray125',
    ]);
    for (const list of ['fonts', 'fills', 'borders', 'cellStyleXfs', 'cellXfs', 'cellStyles']) {
      const [declared] = attributesOf(styles, list);
      expect(declared?.count, list).toBeDefined();
    }
  });

  it('pptx: one 16:9 slide on a blank layout, and a complete theme', () => {
    const files = unpack('pptx');
    const presentation = files.get('ppt/presentation.xml') ?? '';
    expect(attributesOf(presentation, 'p:sldSz')).toEqual([{ cx: '12192000', cy: '6858000' }]);
    expect(attributesOf(presentation, 'p:notesSz')).toHaveLength(1);
    expect(attributesOf(presentation, 'p:sldId')).toHaveLength(1);
    expect(attributesOf(presentation, 'p:sldMasterId')).toHaveLength(1);
    expect(
      attributesOf(files.get('ppt/slideLayouts/slideLayout1.xml') ?? '', 'p:sldLayout')[0],
    ).toMatchObject({ type: 'blank' });
    const theme = files.get('ppt/theme/theme1.xml') ?? '';
    expect(childrenOf(theme, 'a:clrScheme')).toEqual(
      ['dk1', 'lt1', 'dk2', 'lt2', 'accent1', 'accent2', 'accent3', 'accent4', 'accent5', 'accent6']
        .concat('hlink', 'folHlink')
        .map((slot) => `a:${slot}`),
    );
    for (const font of ['a:majorFont', 'a:minorFont']) {
      expect(childrenOf(theme, font).slice(0, 3)).toEqual(['a:latin', 'a:ea', 'a:cs']);
    }
    expect(childrenOf(theme, 'a:fmtScheme')).toEqual([
      'a:fillStyleLst',
      'a:lnStyleLst',
      'a:effectStyleLst',
      'a:bgFillStyleLst',
    ]);
    for (const list of ['a:fillStyleLst', 'a:lnStyleLst', 'a:effectStyleLst', 'a:bgFillStyleLst']) {
      expect(childrenOf(theme, list).length, list).toBeGreaterThanOrEqual(3);
    }
  });

  it('txt: an empty file', () => {
    expect(createBlankDocument('txt')).toHaveLength(0);
  });
});
