import type { BasicType } from '../model/types';

/**
 * Facts of IEC 61850-6 (SCL, Ed2 2009 / Ed2.1) the importer uses, as data.
 */

/** SCL namespace (IEC 61850-6 §8.1). */
export const NS_SCL = 'http://www.iec.ch/61850/2003/SCL';

/**
 * SCL bType → 7-2 basic type of the model (IEC 61850-6 §9.5.4 Table 45, "tBasicTypeEnum").
 * `Struct` is a constructed attribute (its DAType gives the members); `Enum` an ENUMERATED with
 * an EnumType. Dbpos and Tcmd are the 2-bit CODED ENUMs; their literals are in CODED_ENUM_BITS.
 */
export const BTYPES: Readonly<Record<string, BasicType | 'Struct'>> = Object.freeze({
    BOOLEAN: 'BOOLEAN',
    INT8: 'INT8',
    INT16: 'INT16',
    INT24: 'INT32',
    INT32: 'INT32',
    INT64: 'INT64',
    INT128: 'INT64',
    INT8U: 'INT8U',
    INT16U: 'INT16U',
    INT24U: 'INT32U',
    INT32U: 'INT32U',
    FLOAT32: 'FLOAT32',
    FLOAT64: 'FLOAT64',
    Enum: 'ENUMERATED',
    Dbpos: 'CODED ENUM',
    Tcmd: 'CODED ENUM',
    Check: 'Check',
    Quality: 'Quality',
    Timestamp: 'Timestamp',
    EntryTime: 'EntryTime',
    EntryID: 'EntryID',
    Octet64: 'OCTET STRING',
    VisString32: 'VISIBLE STRING',
    VisString64: 'VISIBLE STRING',
    VisString65: 'VISIBLE STRING',
    VisString129: 'VISIBLE STRING',
    VisString255: 'VISIBLE STRING',
    Unicode255: 'UNICODE STRING',
    ObjRef: 'ObjectReference',
    Currency: 'VISIBLE STRING',
    TrgOps: 'TriggerConditions',
    OptFlds: 'RCBReportOptions',
    SvOptFlds: 'RCBReportOptions',
    LogOptFlds: 'RCBReportOptions',
    PhyComAddr: 'OCTET STRING',
    Struct: 'Struct',
});

/** Literals of the CODED ENUM types as 2-bit strings (IEC 61850-7-3 §6.5 Dbpos, 7-2 Tcmd). */
export const CODED_ENUM_BITS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
    Dbpos: { 'intermediate-state': '00', off: '01', on: '10', 'bad-state': '11' },
    Tcmd: { stop: '00', lower: '01', higher: '10', reserved: '11' },
});

/** Defaults of absent SCL attributes (IEC 61850-6 §9.3.8 ReportControl, §9.3.9 LogControl, Tables 23-30). */
export const SCL_DEFAULTS = Object.freeze({
    reportBuffered: false,
    reportIndexed: true,
    reportIntgPd: 0,
    reportBufTime: 0,
    reportConfRev: 0,
    rptEnabledMax: 1,
    logEna: true,
    logReasonCode: true,
    logIntgPd: 0,
    sgActSG: 1,
});

/** Elements the model does not use; each gets one warning naming it (IEC 61850-6 §9). */
export const UNSUPPORTED_IN_LN: ReadonlySet<string> = new Set([
    'GSEControl',
    'SampledValueControl',
    'Inputs',
    'Outputs',
    'LogicalNodeFunctions',
]);

/** Top-level parts of an SCL file the importer reads past without a warning (they configure other tools). */
export const IGNORED_TOP_LEVEL: ReadonlySet<string> = new Set([
    'Header',
    'Substation',
    'Communication',
    'Line',
    'Process',
    'Private',
]);

/** Largest array (count) accepted for one attribute or data object; a guard against hostile files. */
export const MAX_COUNT = 1024;
/** Most model nodes one import may build. */
export const MAX_NODES = 500_000;
/** Deepest type nesting (DO → SDO → DA → BDA…). */
export const MAX_TYPE_DEPTH = 16;
