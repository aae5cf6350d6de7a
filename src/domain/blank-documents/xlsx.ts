/** An empty SpreadsheetML workbook with one sheet, "Sheet1". */
import { buildPackage, NS, OFFICE_TYPE, xml, type Part } from './opc.js';

const SHEET_TYPE = `${OFFICE_TYPE}spreadsheetml.`;

const WORKBOOK =
  `<workbook xmlns="${NS.s}" xmlns:r="${NS.r}">` +
  '<bookViews><workbookView xWindow="0" yWindow="0" windowWidth="16384" windowHeight="8192"/>' +
  '</bookViews>' +
  '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>' +
  '<calcPr calcId="191029"/></workbook>';

const SHEET =
  `<worksheet xmlns="${NS.s}" xmlns:r="${NS.r}">` +
  '<dimension ref="A1"/>' +
  '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>' +
  '<sheetFormatPr defaultRowHeight="15"/><sheetData/>' +
  '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>' +
  '</worksheet>';

// Excel reserves fills 0 and 1 (none and gray125); a stylesheet without them is "repaired".
const STYLES =
  `<styleSheet xmlns="${NS.s}">` +
  '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>' +
  '<fills count="2"><fill><patternFill patternType="none"/></fill>' +
  '<fill><patternFill patternType="gray125"/></fill></fills>' +
  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
  '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>' +
  '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
  '<dxfs count="0"/><tableStyles count="0"/>' +
  '</styleSheet>';

/** Builds an empty .xlsx package. */
export function xlsx(): Buffer {
  const workbook: Part = {
    path: 'xl/workbook.xml',
    contentType: `${SHEET_TYPE}sheet.main+xml`,
    xml: xml(WORKBOOK),
    rels: [
      { id: 'rId1', type: 'worksheet', target: 'worksheets/sheet1.xml' },
      { id: 'rId2', type: 'styles', target: 'styles.xml' },
    ],
  };
  return buildPackage(workbook, [
    {
      path: 'xl/worksheets/sheet1.xml',
      contentType: `${SHEET_TYPE}worksheet+xml`,
      xml: xml(SHEET),
    },
    { path: 'xl/styles.xml', contentType: `${SHEET_TYPE}styles+xml`, xml: xml(STYLES) },
  ]);
}
