/** An empty PresentationML deck: one blank 16:9 slide on a blank layout. */
import { buildPackage, NS, OFFICE_TYPE, xml, type Part } from './opc.js';
import { THEME_XML } from './theme.js';

const PRES_TYPE = `${OFFICE_TYPE}presentationml.`;
const XMLNS = `xmlns:a="${NS.a}" xmlns:r="${NS.r}" xmlns:p="${NS.p}"`;

// Every slide, layout and master needs a shape tree, even an empty one.
const EMPTY_SHAPE_TREE =
  '<p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>' +
  '<p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/>' +
  '<a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr></p:spTree>';

const USE_MASTER_COLOURS = '<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr>';

const COLOUR_MAP =
  '<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2"' +
  ' accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6"' +
  ' hlink="hlink" folHlink="folHlink"/>';

/** Level-1 text style in hundredths of a point, with the theme's major (mj) or minor (mn) font. */
const level1 = (size: number, font: 'mj' | 'mn'): string =>
  `<a:lvl1pPr marL="0" indent="0" algn="l"><a:buNone/><a:defRPr sz="${size}" kern="1200">` +
  '<a:solidFill><a:schemeClr val="tx1"/></a:solidFill>' +
  `<a:latin typeface="+${font}-lt"/><a:ea typeface="+${font}-ea"/><a:cs typeface="+${font}-cs"/>` +
  '</a:defRPr></a:lvl1pPr>';

const MASTER =
  `<p:sldMaster ${XMLNS}><p:cSld>` +
  '<p:bg><p:bgRef idx="1001"><a:schemeClr val="bg1"/></p:bgRef></p:bg>' +
  `${EMPTY_SHAPE_TREE}</p:cSld>${COLOUR_MAP}` +
  // Layout ids share one number space with master ids and must exceed them.
  '<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst>' +
  '<p:txStyles>' +
  `<p:titleStyle>${level1(4400, 'mj')}</p:titleStyle>` +
  `<p:bodyStyle>${level1(2800, 'mn')}</p:bodyStyle>` +
  `<p:otherStyle>${level1(1800, 'mn')}</p:otherStyle>` +
  '</p:txStyles></p:sldMaster>';

const LAYOUT =
  `<p:sldLayout ${XMLNS} type="blank" preserve="1">` +
  `<p:cSld name="Blank">${EMPTY_SHAPE_TREE}</p:cSld>${USE_MASTER_COLOURS}</p:sldLayout>`;

const SLIDE = `<p:sld ${XMLNS}><p:cSld>${EMPTY_SHAPE_TREE}</p:cSld>${USE_MASTER_COLOURS}</p:sld>`;

const PRESENTATION =
  `<p:presentation ${XMLNS} saveSubsetFonts="1">` +
  '<p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>' +
  '<p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst>' +
  '<p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>' +
  '</p:presentation>';

const VIEW_PROPS =
  `<p:viewPr ${XMLNS}><p:normalViewPr>` +
  '<p:restoredLeft sz="15620"/><p:restoredTop sz="94660"/></p:normalViewPr>' +
  '<p:gridSpacing cx="76200" cy="76200"/></p:viewPr>';

// The default table style id names PowerPoint's built-in "Medium Style 2 – Accent 1".
const TABLE_STYLES = `<a:tblStyleLst xmlns:a="${NS.a}" def="{5C22544A-7EE6-4342-B048-85BDC9FD1C3A}"/>`;

/** Builds an empty .pptx package. */
export function pptx(): Buffer {
  const presentation: Part = {
    path: 'ppt/presentation.xml',
    contentType: `${PRES_TYPE}presentation.main+xml`,
    xml: xml(PRESENTATION),
    rels: [
      { id: 'rId1', type: 'slideMaster', target: 'slideMasters/slideMaster1.xml' },
      { id: 'rId2', type: 'slide', target: 'slides/slide1.xml' },
      { id: 'rId3', type: 'presProps', target: 'presProps.xml' },
      { id: 'rId4', type: 'viewProps', target: 'viewProps.xml' },
      { id: 'rId5', type: 'theme', target: 'theme/theme1.xml' },
      { id: 'rId6', type: 'tableStyles', target: 'tableStyles.xml' },
    ],
  };
  const toLayout = [
    { id: 'rId1', type: 'slideLayout', target: '../slideLayouts/slideLayout1.xml' },
  ];
  return buildPackage(presentation, [
    {
      path: 'ppt/slideMasters/slideMaster1.xml',
      contentType: `${PRES_TYPE}slideMaster+xml`,
      xml: xml(MASTER),
      rels: [...toLayout, { id: 'rId2', type: 'theme', target: '../theme/theme1.xml' }],
    },
    {
      path: 'ppt/slideLayouts/slideLayout1.xml',
      contentType: `${PRES_TYPE}slideLayout+xml`,
      xml: xml(LAYOUT),
      rels: [{ id: 'rId1', type: 'slideMaster', target: '../slideMasters/slideMaster1.xml' }],
    },
    {
      path: 'ppt/slides/slide1.xml',
      contentType: `${PRES_TYPE}slide+xml`,
      xml: xml(SLIDE),
      rels: toLayout,
    },
    { path: 'ppt/theme/theme1.xml', contentType: `${OFFICE_TYPE}theme+xml`, xml: THEME_XML },
    {
      path: 'ppt/presProps.xml',
      contentType: `${PRES_TYPE}presProps+xml`,
      xml: xml(`<p:presentationPr ${XMLNS}/>`),
    },
    { path: 'ppt/viewProps.xml', contentType: `${PRES_TYPE}viewProps+xml`, xml: xml(VIEW_PROPS) },
    {
      path: 'ppt/tableStyles.xml',
      contentType: `${PRES_TYPE}tableStyles+xml`,
      xml: xml(TABLE_STYLES),
    },
  ]);
}
