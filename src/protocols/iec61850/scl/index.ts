/**
 * SCL import (IEC 61850-6 ICD/CID/IID) for the IEC 61850 core: `importScl(text, options)` gives
 * the model tree of one IED, the EnumTypes and the warnings; problems are SclError with a code
 * (`SCL_MALFORMED` for XML, `SCL_INVALID` for SCL), the element path, line, column and source line.
 */
export { SclError, type SclErrorCode, type SclErrorWhere, type SclWarning } from './errors';
export { importScl, type SclImportOptions, type SclModel } from './importer';
export { elementOffsets, startTagOffsets } from './positions';
export {
    BTYPES,
    CODED_ENUM_BITS,
    ELEMENTS,
    MAX_COUNT,
    MAX_NODES,
    MAX_TYPE_DEPTH,
    MAX_WARNINGS,
    NS_SCL,
    REQUIRED_NOTE,
    SCL_DEFAULTS,
    STRING_SIZES,
} from './tables';
export { parseVal, type ValResult } from './values';
