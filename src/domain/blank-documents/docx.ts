/** An empty WordprocessingML document: one empty paragraph on an A4 page. */
import { buildPackage, NS, OFFICE_TYPE, xml, type Part } from './opc.js';

const WORD_TYPE = `${OFFICE_TYPE}wordprocessingml.`;

// Twentieths of a point: A4 is 210 × 297 mm, margins are 1 inch.
const SECTION =
  '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>' +
  '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440"' +
  ' w:header="708" w:footer="708" w:gutter="0"/>' +
  '<w:cols w:space="708"/><w:docGrid w:linePitch="360"/></w:sectPr>';

const STYLES =
  `<w:styles xmlns:w="${NS.w}">` +
  '<w:docDefaults><w:rPrDefault><w:rPr>' +
  '<w:rFonts w:ascii="Calibri" w:eastAsia="Calibri" w:hAnsi="Calibri" w:cs="Calibri"/>' +
  '<w:sz w:val="22"/><w:szCs w:val="22"/>' +
  '<w:lang w:val="en-US" w:eastAsia="en-US" w:bidi="ar-SA"/>' +
  '</w:rPr></w:rPrDefault>' +
  '<w:pPrDefault><w:pPr><w:spacing w:after="160" w:line="259" w:lineRule="auto"/></w:pPr>' +
  '</w:pPrDefault></w:docDefaults>' +
  '<w:style w:type="paragraph" w:default="1" w:styleId="Normal">' +
  '<w:name w:val="Normal"/><w:qFormat/></w:style>' +
  '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">' +
  '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/>' +
  '<w:semiHidden/><w:unhideWhenUsed/></w:style>' +
  '</w:styles>';

// compatibilityMode 15 keeps Word from opening the file in "Compatibility Mode".
const SETTINGS =
  `<w:settings xmlns:w="${NS.w}">` +
  '<w:zoom w:percent="100"/><w:defaultTabStop w:val="708"/>' +
  '<w:characterSpacingControl w:val="doNotCompress"/>' +
  '<w:compat><w:compatSetting w:name="compatibilityMode"' +
  ' w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>' +
  '</w:settings>';

const FONT_TABLE =
  `<w:fonts xmlns:w="${NS.w}">` +
  '<w:font w:name="Calibri"><w:panose1 w:val="020F0502020204030204"/>' +
  '<w:charset w:val="00"/><w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>' +
  '</w:fonts>';

/** Builds an empty .docx package. */
export function docx(): Buffer {
  const document: Part = {
    path: 'word/document.xml',
    contentType: `${WORD_TYPE}document.main+xml`,
    xml: xml(
      `<w:document xmlns:w="${NS.w}" xmlns:r="${NS.r}"><w:body><w:p/>${SECTION}</w:body></w:document>`,
    ),
    rels: [
      { id: 'rId1', type: 'styles', target: 'styles.xml' },
      { id: 'rId2', type: 'settings', target: 'settings.xml' },
      { id: 'rId3', type: 'fontTable', target: 'fontTable.xml' },
    ],
  };
  return buildPackage(document, [
    { path: 'word/styles.xml', contentType: `${WORD_TYPE}styles+xml`, xml: xml(STYLES) },
    { path: 'word/settings.xml', contentType: `${WORD_TYPE}settings+xml`, xml: xml(SETTINGS) },
    { path: 'word/fontTable.xml', contentType: `${WORD_TYPE}fontTable+xml`, xml: xml(FONT_TABLE) },
  ]);
}
