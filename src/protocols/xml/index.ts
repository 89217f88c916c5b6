/**
 * The one hardened XML layer of DERlink. Every protocol core parses and builds XML through
 * this module: an element model with namespace resolution, a serialiser that refuses what
 * XML 1.0 cannot carry, and a parser over fast-xml-parser with size, depth and attribute
 * limits and no entity expansion.
 */
export {
    el,
    NS_XML,
    serialize,
    serializedSize,
    type XmlAttrInput,
    type XmlChild,
    type XmlChildInput,
    XmlElement,
} from './element';
export { XmlError, type XmlErrorCode } from './errors';
export { escapeAttr, escapeText, findInvalidChar } from './escape';
export { DEFAULT_XML_LIMITS, parseXml, type XmlLimits, type XmlParseOptions } from './parse';
