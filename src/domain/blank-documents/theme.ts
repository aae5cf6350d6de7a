/** A complete DrawingML theme; PowerPoint rejects a theme missing any of these lists. */
import { NS, xml } from './opc.js';

const COLOURS: readonly (readonly [slot: string, rgb: string])[] = [
  ['dk2', '1F2937'],
  ['lt2', 'E5E7EB'],
  ['accent1', '2563EB'],
  ['accent2', 'EA580C'],
  ['accent3', '16A34A'],
  ['accent4', 'CA8A04'],
  ['accent5', '7C3AED'],
  ['accent6', 'DB2777'],
  ['hlink', '1D4ED8'],
  ['folHlink', '6D28D9'],
];

// The schema requires at least three entries in each style list (subtle, moderate, intense).
const SHADES = ['', '<a:tint val="50000"/>', '<a:shade val="75000"/>'];

const solid = (shade: string): string =>
  `<a:solidFill><a:schemeClr val="phClr">${shade}</a:schemeClr></a:solidFill>`;

const line = (width: number): string =>
  `<a:ln w="${width}" cap="flat" cmpd="sng" algn="ctr">${solid('')}` +
  '<a:prstDash val="solid"/><a:miter lim="800000"/></a:ln>';

const font = (latin: string): string =>
  `<a:latin typeface="${latin}"/><a:ea typeface=""/><a:cs typeface=""/>`;

const CLR_SCHEME =
  '<a:clrScheme name="Connector">' +
  '<a:dk1><a:sysClr val="windowText" lastClr="000000"/></a:dk1>' +
  '<a:lt1><a:sysClr val="window" lastClr="FFFFFF"/></a:lt1>' +
  COLOURS.map(([slot, rgb]) => `<a:${slot}><a:srgbClr val="${rgb}"/></a:${slot}>`).join('') +
  '</a:clrScheme>';

const FONT_SCHEME =
  '<a:fontScheme name="Connector">' +
  `<a:majorFont>${font('Calibri Light')}</a:majorFont>` +
  `<a:minorFont>${font('Calibri')}</a:minorFont>` +
  '</a:fontScheme>';

const FMT_SCHEME =
  '<a:fmtScheme name="Connector">' +
  `<a:fillStyleLst>${SHADES.map(solid).join('')}</a:fillStyleLst>` +
  `<a:lnStyleLst>${[6350, 12700, 19050].map(line).join('')}</a:lnStyleLst>` +
  `<a:effectStyleLst>${'<a:effectStyle><a:effectLst/></a:effectStyle>'.repeat(3)}</a:effectStyleLst>` +
  `<a:bgFillStyleLst>${SHADES.map(solid).join('')}</a:bgFillStyleLst>` +
  '</a:fmtScheme>';

/** The XML of `ppt/theme/theme1.xml`. */
export const THEME_XML = xml(
  `<a:theme xmlns:a="${NS.a}" name="Connector">` +
    `<a:themeElements>${CLR_SCHEME}${FONT_SCHEME}${FMT_SCHEME}</a:themeElements>` +
    '<a:objectDefaults/><a:extraClrSchemeLst/></a:theme>',
);
