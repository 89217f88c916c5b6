import type { BasicType } from '../model/types';

/**
 * Facts of IEC 61850-6 (SCL, Ed2 2009 "2007B" / Ed2.1 "2007B4") the importer uses, as data.
 * Clause numbers are those of 61850-6 Ed2; attribute defaults are those of the SCL schema
 * (SCL_IED.xsd / SCL_DataTypeTemplates.xsd, 2007B4) that the clauses reproduce in their tables.
 */

/** SCL namespace (IEC 61850-6, the schema targetNamespace). A file without any namespace is accepted as well. */
export const NS_SCL = 'http://www.iec.ch/61850/2003/SCL';

/**
 * SCL bType → 7-2 basic type of the model (IEC 61850-6 §9.5, the bType attribute of DA/BDA;
 * schema tBasicTypeEnum). `Struct` is a constructed attribute (its DAType gives the members); `Enum`
 * an ENUMERATED with an EnumType. Dbpos and Tcmd are the 2-bit CODED ENUMs; their literals are in
 * CODED_ENUM_BITS. INT24/INT24U/INT128 have no 7-2 basic type of their own and map to the next wider one.
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

/** Longest value (characters) of the sized string bTypes (61850-6 §9.5; the digits of the name). */
export const STRING_SIZES: Readonly<Record<string, number>> = Object.freeze({
    VisString32: 32,
    VisString64: 64,
    VisString65: 65,
    VisString129: 129,
    VisString255: 255,
    Unicode255: 255,
    ObjRef: 129,
    Currency: 3,
});

/** Literals of the CODED ENUM types as 2-bit strings (IEC 61850-7-3 §6.5 Dbpos, 7-2 Tcmd). */
export const CODED_ENUM_BITS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
    Dbpos: { 'intermediate-state': '00', off: '01', on: '10', 'bad-state': '11' },
    Tcmd: { stop: '00', lower: '01', higher: '10', reserved: '11' },
});

/**
 * Defaults of absent SCL attributes. Where 61850-6 makes an attribute required, the importer
 * refuses its absence instead (listed in REQUIRED_NOTE for the reader, enforced in the code).
 *
 * | attribute                         | default | schema type (61850-6 Ed2 §9.3 IED, §9.5 templates) |
 * |-----------------------------------|---------|-----------------------------------------------|
 * | ReportControl@buffered            | false   | tReportControl                                |
 * | ReportControl@indexed             | true    | tReportControl (Ed2)                          |
 * | ReportControl@intgPd, @bufTime    | 0       | tControlWithTriggerOpt, tReportControl        |
 * | ReportControl@rptID               | ''      | tReportControl: optional; '' = none configured (8-1 then reports the RCB reference) |
 * | ReportControl/OptFields           | the row below | required by the schema; accepted absent  |
 * | RptEnabled@max (or no RptEnabled) | 1       | tRptEnabled                                   |
 * | TrgOps dchg/qchg/dupd/period      | false   | tTrgOps                                       |
 * | TrgOps@gi                         | true    | tTrgOps (Ed2)                                 |
 * | OptFields (all but bufOvfl)       | false   | agOptFields                                   |
 * | OptFields@bufOvfl                 | true    | agOptFields (Ed2; false in Ed1)               |
 * | LogControl@logEna, @reasonCode    | true    | tLogControl                                   |
 * | LogControl@intgPd                 | 0       | tControlWithTriggerOpt                        |
 * | SettingControl@actSG              | 1       | tSettingControl                               |
 * | LN@prefix, FCDA@prefix            | ''      | tLN, tFCDA                                    |
 * | FCDA@ldInst                       | the data set's own LD | tFCDA (optional)                |
 * | DA/BDA/SDO@count                  | scalar  | tAbstractDataAttribute, tSDO (0 or absent = not an array) |
 * | DA@dchg/qchg/dupd                 | false   | tDA                                           |
 */
export const SCL_DEFAULTS = Object.freeze({
    reportBuffered: false,
    reportIndexed: true,
    reportIntgPd: 0,
    reportBufTime: 0,
    rptEnabledMax: 1,
    trgOps: Object.freeze({ dchg: false, qchg: false, dupd: false, period: false, gi: true }),
    optFields: Object.freeze({
        seqNum: false,
        timeStamp: false,
        dataSet: false,
        reasonCode: false,
        dataRef: false,
        entryID: false,
        configRef: false,
        bufOvfl: true,
    }),
    logEna: true,
    logReasonCode: true,
    logIntgPd: 0,
    sgActSG: 1,
});

/** Required attributes the importer enforces (schema use="required", 61850-6 Ed2). */
export const REQUIRED_NOTE = Object.freeze({
    IED: ['name'],
    LDevice: ['inst'],
    LN0: ['lnClass (= LLN0)', 'lnType'],
    LN: ['lnClass', 'inst', 'lnType'],
    LNodeType: ['id', 'lnClass'],
    DOType: ['id', 'cdc'],
    DAType: ['id'],
    EnumType: ['id'],
    EnumVal: ['ord'],
    DO: ['name', 'type'],
    SDO: ['name', 'type'],
    DA: ['name', 'bType', 'fc', 'type (Struct, Enum)'],
    BDA: ['name', 'bType', 'type (Struct, Enum)'],
    DOI: ['name'],
    SDI: ['name'],
    DAI: ['name'],
    DataSet: ['name'],
    FCDA: ['fc', 'lnClass', 'doName'],
    ReportControl: ['name', 'confRev'],
    LogControl: ['name', 'logName'],
    SettingControl: ['numOfSGs'],
});

/**
 * What the importer does with each element it meets, by parent element (61850-6 §9.3, §9.5).
 * `read`: imported into the model. `silent`: read past without a warning (capabilities, descriptions,
 * other tools' configuration). Anything else gets one warning per element kind, naming it:
 * "<kind> is not supported and was ignored". Elements of other namespaces (the schema's
 * `xs:any namespace="##other"` extension point) are read past silently everywhere.
 */
export const ELEMENTS: Readonly<Record<string, { read: readonly string[]; silent: readonly string[] }>> = Object.freeze(
    {
        // Header: file history; Communication: addresses of other protocols (8-1 IP, GOOSE MAC), not used
        // by 8-2 where the XMPP account is the address; Substation/Line/Process: single-line diagram.
        SCL: {
            read: ['IED', 'DataTypeTemplates'],
            silent: ['Header', 'Communication', 'Substation', 'Line', 'Process', 'Private', 'Text'],
        },
        // Services: the IED's declared capabilities (the ACSI engine has its own limits).
        IED: { read: ['AccessPoint'], silent: ['Services', 'Private', 'Text', 'Labels'] },
        AccessPoint: {
            read: ['Server'],
            silent: ['Services', 'GOOSESecurity', 'SMVSecurity', 'Private', 'Text'],
        },
        Server: { read: ['LDevice'], silent: ['Authentication', 'Private', 'Text'] },
        LDevice: { read: ['LN0', 'LN'], silent: ['Private', 'Text'] },
        LN: {
            read: ['DOI', 'DataSet', 'ReportControl', 'LogControl', 'SettingControl', 'Log'],
            silent: ['Private', 'Text', 'Labels'],
        },
        DataTypeTemplates: { read: ['LNodeType', 'DOType', 'DAType', 'EnumType'], silent: ['Private', 'Text'] },
    },
);

/** Largest array (count) accepted for one attribute or data object; a guard against hostile files. */
export const MAX_COUNT = 1024;
/**
 * Most model nodes one import may build, counting every array element with its members (what a
 * server walking the model would visit); a guard against types that multiply (A has ten B, B ten C…).
 */
export const MAX_NODES = 500_000;
/** Deepest type nesting (DO → SDO → DA → BDA…). */
export const MAX_TYPE_DEPTH = 16;
/** Most warnings one import records; one more says that the rest were left out. */
export const MAX_WARNINGS = 200;
