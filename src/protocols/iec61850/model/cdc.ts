import { CONSTRUCTED_TYPES, CTL_MODEL, enumOrdinal, type Presence, type TypeMember } from './cdc-types';
import { badInput } from './errors';
import type { Fc } from './fc';
import { BASIC_TYPES, type BasicType, type DataAttribute, type DataObject } from './types';

/**
 * Common data classes (IEC 61850-7-3 Ed2.1) used by the heat-pump and typical DER models: every
 * data attribute of each class with type, FC, trigger option and presence, plus the control
 * service attributes SBO/SBOw/Oper/Cancel that the 8-1 mapping (reused by 8-2) adds with FC CO.
 *
 * Source of the facts: the 7-3 code component IEC_61850-7-3_2007B5.nsd (Ed2.1, 2007B5) and the
 * 8-1 code component IEC_61850-8-1_2003A2.nsd for the control services; `cdcNs` comes from 7-3
 * Ed2 (2010, also libiec61850's CDC_OPTION_AC_DLNDA) and was dropped from the Ed2.1 NSD.
 * `clause` is the sub-clause of IEC 61850-7-3:2010+AMD1:2020 (Ed2.1 numbering, read from its
 * table of contents); where we could not read it, the group clause with `clauseVerified: false`.
 * The group clauses this file used before (7.6 controllable analogue … 7.9 description) were Ed2
 * (2010) numbering; Ed2.1 puts APC under 7.5 and shifts settings and description to 7.6-7.8.
 *
 * Presence codes are the NSD names (see PRESENCE_CONDITIONS in ./cdc-types); `condition` carries
 * their group number or sibling name. Types are keys of BASIC_TYPES (with `size` for strings and
 * `enumType` for ENUMERATED/CODED ENUM) or names of CONSTRUCTED_TYPES. Settings (SPG, ING, ENG,
 * TSG, ASG) take FC SP, or SG/SE inside setting groups (`fcAlt`).
 *
 * `statistics: true` repeats the NSD flag of the CDCs usable for statistical data; the NSD gives
 * them no extra attributes. Not modelled: the other 7-3 CDCs (ACT, ACD, SEC, HST, VSS, SAV, WYE,
 * DEL, SEQ, HMV…, BSC, ISC, BAC, CUG, VSG, CURVE, CSG, CSD, VSD, service tracking).
 */
export type Trigger = 'dchg' | 'qchg' | 'dupd';

export interface CdcAttribute {
    name: string;
    /** A basic type, or the name of a constructed attribute type (7-3 §6: AnalogueValue, Unit, Originator…). */
    type: BasicType | string;
    fc: Fc;
    /** The trigger option; `dchg` where the NSD gives dchg+dupd (those are listed in CdcInfo.alsoDupd). */
    trg?: Trigger;
    /** `M`, `O` or a conditional presence code (PRESENCE_CONDITIONS). */
    presence: 'M' | 'O' | Presence;
    /** Argument of a conditional presence: the group number or the sibling attribute. */
    condition?: string;
    /** Characters/octets of a string attribute (VisString64/129/255, Unicode255). */
    size?: number;
    /** The enumeration of an ENUMERATED or CODED ENUM attribute (ENUMERATIONS, or Dbpos). */
    enumType?: string;
    /** Other FCs allowed for this attribute (SG, SE: settings inside a setting group). */
    fcAlt?: readonly Fc[];
    /** The attribute comes from the 8-1 mapping of the control services, not from a 7-3 table. */
    scsm?: '8-1';
    /** Present in 7-3 Ed2 (2010) only. */
    removedIn?: 'Ed2.1';
}

export interface CdcInfo {
    /** Sub-clause of IEC 61850-7-3 Ed2.1 (e.g. '7.3.2'), or the group clause when unverified. */
    clause: string;
    clauseVerified: boolean;
    /** The 7-3 group: status, measurand, control, status setting, analogue setting, description. */
    group: string;
    attributes: readonly CdcAttribute[];
    /** Attributes whose trigger options are dchg and dupd (trg says dchg). */
    alsoDupd?: readonly string[];
    /** The type of ctlVal in Oper/SBOw/Cancel, for controllable CDCs. */
    ctlVal?: string;
    /** stVal/setVal/ctlVal are ENUMERATED with an enumeration chosen per data object (ENS, ENC, ENG). */
    enumParameterized?: boolean;
    /** May be used as a statistical data object (7-3 Ed2.1 «statistics»). */
    statistics?: boolean;
}

type Extra = Pick<CdcAttribute, 'condition' | 'fcAlt' | 'removedIn' | 'scsm'>;
type Row = [name: string, type: string, fc: Fc, trg: Trigger | '', presence: string, extra?: Extra];

/**
 * Type tokens of the rows, as the NSD and SCL spell them: VisStringN, Unicode255, Octet64,
 * ObjRef, Dbpos, Enum or Enum:<EnumerationKind>; anything else is a BASIC_TYPES key or a
 * constructed type name.
 */
function typeOf(token: string): Pick<CdcAttribute, 'type' | 'size' | 'enumType'> {
    const vs = /^VisString(\d+)$/.exec(token);
    if (vs) return { type: 'VISIBLE STRING', size: Number(vs[1]) };
    if (token === 'Unicode255') return { type: 'UNICODE STRING', size: 255 };
    if (token === 'Octet64') return { type: 'OCTET STRING', size: 64 };
    if (token === 'ObjRef') return { type: 'ObjectReference' };
    if (token === 'Dbpos' || token === 'Tcmd') return { type: 'CODED ENUM', enumType: token };
    if (token === 'Enum') return { type: 'ENUMERATED' };
    if (token.startsWith('Enum:')) return { type: 'ENUMERATED', enumType: token.slice(5) };
    return { type: token };
}

const g = (n: number): Extra => ({ condition: String(n) });
const sib = (name: string): Extra => ({ condition: name });
const SETTING: Extra = { fcAlt: ['SG', 'SE'] };

/** Quality and time stamp of the status/measurand part. */
const qt = (fc: Fc): Row[] => [
    ['q', 'Quality', fc, 'qchg', 'M'],
    ['t', 'Timestamp', fc, '', 'M'],
];
/** SubstitutionCDC: substitution (FC SV) and blocking (FC BL). */
const subst = (type: string, val = 'subVal'): Row[] => [
    ['subEna', 'BOOLEAN', 'SV', '', 'MFsubst'],
    [val, type, 'SV', '', 'MFsubst'],
    ['subQ', 'Quality', 'SV', '', 'MFsubst'],
    ['subID', 'VisString64', 'SV', '', 'MFsubst'],
    ['blkEna', 'BOOLEAN', 'BL', '', 'O'],
];
/** BasePrimitiveCDC: description and name-space attributes every CDC carries. */
const base: Row[] = [
    ['d', 'VisString255', 'DC', '', 'O'],
    ['dU', 'Unicode255', 'DC', '', 'O'],
    ['cdcNs', 'VisString255', 'EX', '', 'AC_DLNDA_M', { removedIn: 'Ed2.1' }],
    ['cdcName', 'VisString255', 'EX', '', 'O'],
    ['dataNs', 'VisString255', 'EX', '', 'MOdataNs'],
];
/** Originator and number of the last command (FC ST, or MX for APC). */
const lastCmd = (fc: Fc): Row[] => [
    ['origin', 'Originator', fc, '', 'O'],
    ['ctlNum', 'INT8U', fc, '', 'O'],
];
/** Selection state and the operate-received attributes (ControlTestingCDC, FC OR). */
const ctlState = (fc: Fc): Row[] => [
    ['stSeld', 'BOOLEAN', fc, 'dchg', 'MOsbo'],
    ['opRcvd', 'BOOLEAN', 'OR', 'dchg', 'O'],
    ['opOk', 'BOOLEAN', 'OR', 'dchg', 'O'],
    ['tOpOk', 'Timestamp', 'OR', '', 'O'],
];
const ctlModel: Row[] = [
    ['ctlModel', 'Enum:CtlModelKind', 'CF', 'dchg', 'M'],
    ['sboTimeout', 'INT32U', 'CF', 'dchg', 'MOsbo'],
    ['sboClass', 'Enum:SboClassKind', 'CF', 'dchg', 'O'],
];
const operTimeout: Row = ['operTimeout', 'INT32U', 'CF', 'dchg', 'MOenhanced'];
/** The control services as data attributes with FC CO (8-1 ServiceCDCs); ctlVal per CdcInfo.ctlVal. */
const services: Row[] = [
    ['SBO', 'VisString129', 'CO', '', 'MOsboNormal', { scsm: '8-1' }],
    ['SBOw', 'SBOw', 'CO', '', 'MOsboEnhanced', { scsm: '8-1' }],
    ['Oper', 'Oper', 'CO', '', 'MOctrl', { scsm: '8-1' }],
    ['Cancel', 'Cancel', 'CO', '', 'MOsbo', { scsm: '8-1' }],
];
const units: Row = ['units', 'Unit', 'CF', 'dchg', 'O'];
const cf = (name: string, type: string, presence = 'O', extra?: Extra): Row =>
    extra ? [name, type, 'CF', 'dchg', presence, extra] : [name, type, 'CF', 'dchg', presence];

interface Def {
    clause: string;
    verified?: false;
    group: string;
    rows: Row[];
    alsoDupd?: string[];
    ctlVal?: string;
    enumParameterized?: true;
    statistics?: true;
}

const STATUS = 'status information (7.3)';
const MEASURAND = 'measurand information (7.4)';
const CONTROL = 'controls (7.5)';
const STATUS_SETTING = 'status settings (7.6)';
const ANALOGUE_SETTING = 'analogue settings (7.7)';
const DESCRIPTION = 'description information (7.8)';

const DEFS: Record<string, Def> = {
    SPS: {
        clause: '7.3.2',
        group: STATUS,
        rows: [['stVal', 'BOOLEAN', 'ST', 'dchg', 'M'], ...qt('ST'), ...subst('BOOLEAN'), ...base],
    },
    DPS: {
        clause: '7.3.3',
        group: STATUS,
        rows: [['stVal', 'Dbpos', 'ST', 'dchg', 'M'], ...qt('ST'), ...subst('Dbpos'), ...base],
    },
    INS: {
        clause: '7.3.4',
        group: STATUS,
        statistics: true,
        alsoDupd: ['stVal'],
        rows: [['stVal', 'INT32', 'ST', 'dchg', 'M'], ...qt('ST'), ...subst('INT32'), units, ...base],
    },
    ENS: {
        clause: '7.3.5',
        group: STATUS,
        enumParameterized: true,
        alsoDupd: ['stVal'],
        rows: [['stVal', 'Enum', 'ST', 'dchg', 'M'], ...qt('ST'), ...subst('Enum'), ...base],
    },
    BCR: {
        clause: '7.3.9',
        group: STATUS,
        statistics: true,
        rows: [
            ['actVal', 'INT64', 'ST', 'dchg', 'AllAtLeastOneGroup', g(2)],
            ['frVal', 'INT64', 'ST', 'dupd', 'AllAtLeastOneGroup', g(1)],
            ['frTm', 'Timestamp', 'ST', '', 'AllAtLeastOneGroup', g(1)],
            ['q', 'Quality', 'ST', 'qchg', 'M'],
            ['t', 'Timestamp', 'ST', '', 'AllAtLeastOneGroup', g(2)],
            units,
            cf('pulsQty', 'FLOAT32', 'M'),
            cf('frEna', 'BOOLEAN', 'AllAtLeastOneGroup', g(1)),
            cf('strTm', 'Timestamp', 'OF', sib('frVal')),
            cf('frPd', 'INT32', 'AllAtLeastOneGroup', g(1)),
            cf('frRs', 'BOOLEAN', 'AllAtLeastOneGroup', g(1)),
            ...base,
        ],
    },
    ORS: {
        clause: '7.3.12',
        group: STATUS,
        rows: [['stVal', 'ObjRef', 'ST', 'dchg', 'M'], ...qt('ST'), ...base],
    },
    TCS: {
        clause: '7.3.13',
        group: STATUS,
        alsoDupd: ['stVal'],
        rows: [['stVal', 'Timestamp', 'ST', 'dchg', 'M'], ...qt('ST'), ...base],
    },
    MV: {
        clause: '7.4.3',
        group: MEASURAND,
        statistics: true,
        alsoDupd: ['mag'],
        rows: [
            ['instMag', 'AnalogueValue', 'MX', '', 'O'],
            ['mag', 'AnalogueValue', 'MX', 'dchg', 'M'],
            ['range', 'Enum:RangeKind', 'MX', 'dchg', 'O'],
            ...qt('MX'),
            ...subst('AnalogueValue', 'subMag'),
            units,
            cf('db', 'INT32U'),
            cf('zeroDb', 'INT32U'),
            cf('sVC', 'ScaledValueConfig', 'MFscaledAV'),
            cf('rangeC', 'RangeConfig', 'MO', sib('range')),
            cf('smpRate', 'INT32U'),
            cf('dbRef', 'FLOAT32', 'MO', sib('db')),
            cf('zeroDbRef', 'FLOAT32', 'MO', sib('zeroDb')),
            ...base,
        ],
    },
    CMV: {
        clause: '7.4.4',
        group: MEASURAND,
        statistics: true,
        alsoDupd: ['cVal'],
        rows: [
            ['instCVal', 'Vector', 'MX', '', 'O'],
            ['cVal', 'Vector', 'MX', 'dchg', 'M'],
            ['range', 'Enum:RangeKind', 'MX', 'dchg', 'O'],
            ['rangeAng', 'Enum:RangeKind', 'MX', 'dchg', 'O'],
            ...qt('MX'),
            ...subst('Vector', 'subCVal'),
            units,
            cf('db', 'INT32U'),
            cf('dbAng', 'INT32U'),
            cf('zeroDb', 'INT32U'),
            cf('rangeC', 'RangeConfig', 'MO', sib('range')),
            cf('rangeAngC', 'RangeConfig', 'MO', sib('rangeAng')),
            cf('magSVC', 'ScaledValueConfig', 'MFscaledMagV'),
            cf('angSVC', 'ScaledValueConfig', 'MFscaledAngV'),
            cf('angRef', 'Enum:PhaseAngleReferenceKind'),
            cf('smpRate', 'INT32U'),
            cf('dbRef', 'FLOAT32', 'MO', sib('db')),
            cf('zeroDbRef', 'FLOAT32', 'MO', sib('zeroDb')),
            cf('dbAngRef', 'FLOAT32', 'MO', sib('dbAng')),
            ...base,
        ],
    },
    SPC: {
        clause: '7.5.3',
        group: CONTROL,
        ctlVal: 'BOOLEAN',
        rows: [
            ...lastCmd('ST'),
            ['stVal', 'BOOLEAN', 'ST', 'dchg', 'MAllOrNonePerGroup', g(1)],
            ['q', 'Quality', 'ST', 'qchg', 'MAllOrNonePerGroup', g(1)],
            ['t', 'Timestamp', 'ST', '', 'MAllOrNonePerGroup', g(1)],
            ...ctlState('ST'),
            ...subst('BOOLEAN'),
            ...services,
            cf('pulseConfig', 'PulseConfig'),
            ...ctlModel,
            operTimeout,
            ...base,
        ],
    },
    DPC: {
        clause: '7.5.4',
        group: CONTROL,
        ctlVal: 'BOOLEAN',
        rows: [
            ...lastCmd('ST'),
            ['stVal', 'Dbpos', 'ST', 'dchg', 'M'],
            ...qt('ST'),
            ...ctlState('ST'),
            ...subst('Dbpos'),
            ...services,
            cf('pulseConfig', 'PulseConfig'),
            ...ctlModel,
            operTimeout,
            ...base,
        ],
    },
    INC: {
        clause: '7.5.5',
        group: CONTROL,
        ctlVal: 'INT32',
        statistics: true,
        alsoDupd: ['stVal'],
        rows: [
            ...lastCmd('ST'),
            ['stVal', 'INT32', 'ST', 'dchg', 'M'],
            ...qt('ST'),
            ...ctlState('ST'),
            ...subst('INT32'),
            ...services,
            ...ctlModel,
            cf('minVal', 'INT32'),
            cf('maxVal', 'INT32'),
            cf('stepSize', 'INT32U'),
            operTimeout,
            units,
            ...base,
        ],
    },
    ENC: {
        clause: '7.5.6',
        group: CONTROL,
        ctlVal: 'ENUMERATED',
        enumParameterized: true,
        rows: [
            ...lastCmd('ST'),
            ['stVal', 'Enum', 'ST', 'dchg', 'M'],
            ...qt('ST'),
            ...ctlState('ST'),
            ...subst('Enum'),
            ...services,
            ...ctlModel,
            operTimeout,
            ...base,
        ],
    },
    APC: {
        clause: '7.5.9',
        group: CONTROL,
        ctlVal: 'AnalogueValueCtl',
        statistics: true,
        rows: [
            ...lastCmd('MX'),
            ['mxVal', 'AnalogueValue', 'MX', 'dchg', 'MAllOrNonePerGroup', g(1)],
            ['q', 'Quality', 'MX', 'qchg', 'MAllOrNonePerGroup', g(1)],
            ['t', 'Timestamp', 'MX', '', 'MAllOrNonePerGroup', g(1)],
            ...ctlState('MX'),
            ...subst('AnalogueValue'),
            ...services,
            ...ctlModel,
            units,
            cf('db', 'INT32U'),
            cf('sVC', 'ScaledValueConfig', 'MFscaledAV'),
            cf('minVal', 'AnalogueValue'),
            cf('maxVal', 'AnalogueValue'),
            cf('stepSize', 'AnalogueValue'),
            operTimeout,
            cf('dbRef', 'FLOAT32', 'MO', sib('db')),
            ...base,
        ],
    },
    SPG: {
        clause: '7.6.2',
        group: STATUS_SETTING,
        rows: [['setVal', 'BOOLEAN', 'SP', 'dchg', 'M', SETTING], ...base],
    },
    ING: {
        clause: '7.6.3',
        group: STATUS_SETTING,
        rows: [
            ['setVal', 'INT32', 'SP', 'dchg', 'M', SETTING],
            cf('minVal', 'INT32'),
            cf('maxVal', 'INT32'),
            cf('stepSize', 'INT32U'),
            units,
            ...base,
        ],
    },
    // Ed2.1 table of contents: 7.6.4, title illegible in the copy we read.
    ENG: {
        clause: '7.6',
        verified: false,
        group: STATUS_SETTING,
        enumParameterized: true,
        rows: [['setVal', 'Enum', 'SP', 'dchg', 'M', SETTING], ...base],
    },
    // Ed2.1 table of contents: 7.6.5, title illegible in the copy we read.
    ORG: {
        clause: '7.6',
        verified: false,
        group: STATUS_SETTING,
        rows: [
            ['setSrcRef', 'ObjRef', 'SP', 'dchg', 'M'],
            ['setTstRef', 'ObjRef', 'SP', 'dchg', 'AllOrNonePerGroup', g(1)],
            ['setSrcCB', 'ObjRef', 'SP', 'dchg', 'O'],
            ['setTstCB', 'ObjRef', 'SP', 'dchg', 'OF', sib('setTstRef')],
            ['intAddr', 'VisString255', 'SP', 'dchg', 'O'],
            ['tstEna', 'BOOLEAN', 'SP', 'dchg', 'AllOrNonePerGroup', g(1)],
            ['purpose', 'VisString255', 'DC', '', 'O'],
            ...base,
        ],
    },
    TSG: {
        clause: '7.6.6',
        group: STATUS_SETTING,
        rows: [
            ['setTm', 'Timestamp', 'SP', 'dchg', 'AtLeastOne', { ...g(1), ...SETTING }],
            ['setCal', 'CalendarTime', 'SP', 'dchg', 'AtLeastOne', { ...g(1), ...SETTING }],
            ...base,
        ],
    },
    ASG: {
        clause: '7.7.2',
        group: ANALOGUE_SETTING,
        rows: [
            ['setMag', 'AnalogueValueCtl', 'SP', 'dchg', 'M', SETTING],
            units,
            cf('sVC', 'ScaledValueConfig', 'MFscaledAV'),
            cf('minVal', 'AnalogueValue'),
            cf('maxVal', 'AnalogueValue'),
            cf('stepSize', 'AnalogueValue'),
            ...base,
        ],
    },
    DPL: {
        clause: '7.8.2',
        group: DESCRIPTION,
        rows: [
            ['vendor', 'VisString255', 'DC', '', 'M'],
            ...['hwRev', 'swRev', 'serNum', 'model', 'location'].map((n): Row => [n, 'VisString255', 'DC', '', 'O']),
            ['name', 'VisString64', 'DC', '', 'O'],
            ...['owner', 'ePSName', 'primeOper', 'secondOper'].map((n): Row => [n, 'VisString255', 'DC', '', 'O']),
            ...['latitude', 'longitude', 'altitude'].map((n): Row => [n, 'FLOAT32', 'DC', '', 'O']),
            ['mRID', 'VisString255', 'DC', '', 'O'],
            ...base,
        ],
    },
    LPL: {
        clause: '7.8.3',
        group: DESCRIPTION,
        rows: [
            ['paramRev', 'INT32', 'ST', 'dchg', 'O'],
            ['valRev', 'INT32', 'ST', 'dchg', 'O'],
            ['vendor', 'VisString255', 'DC', '', 'M'],
            ['swRev', 'VisString255', 'DC', '', 'M'],
            ['ldNs', 'VisString255', 'EX', '', 'MFln0'],
            ['lnNs', 'VisString255', 'EX', '', 'MOlnNs'],
            ['configRev', 'VisString255', 'DC', '', 'MOln0'],
            ...base,
        ],
    },
};

function attribute([name, token, fc, trg, presence, extra]: Row): CdcAttribute {
    const { type, size, enumType } = typeOf(token);
    // Key order name, type, fc, trg, presence, then the optional facts (tests compare simple rows whole).
    const out: CdcAttribute = trg ? { name, type, fc, trg, presence } : { name, type, fc, presence };
    if (size !== undefined) out.size = size;
    if (enumType !== undefined) out.enumType = enumType;
    if (extra?.condition !== undefined) out.condition = extra.condition;
    if (extra?.fcAlt) out.fcAlt = Object.freeze([...extra.fcAlt]);
    if (extra?.scsm) out.scsm = extra.scsm;
    if (extra?.removedIn) out.removedIn = extra.removedIn;
    return Object.freeze(out);
}

export const CDCS: Readonly<Record<string, CdcInfo>> = Object.freeze(
    Object.fromEntries(
        Object.entries(DEFS).map(([cdc, d]) => {
            const info: CdcInfo = {
                clause: d.clause,
                clauseVerified: d.verified !== false,
                group: d.group,
                attributes: Object.freeze(d.rows.map(attribute)),
            };
            if (d.alsoDupd) info.alsoDupd = Object.freeze(d.alsoDupd);
            if (d.ctlVal) info.ctlVal = d.ctlVal;
            if (d.enumParameterized) info.enumParameterized = true;
            if (d.statistics) info.statistics = true;
            return [cdc, Object.freeze(info)];
        }),
    ),
);

/** All trigger options of an attribute of a CDC (empty when it has none or is unknown). */
export function attributeTriggers(cdc: string, name: string): Trigger[] {
    const info = CDCS[cdc];
    const a = info?.attributes.find((x) => x.name === name);
    if (!a?.trg) return [];
    return info?.alsoDupd?.includes(name) ? [a.trg, 'dupd'] : [a.trg];
}

// ---------------------------------------------------------------------------------------------
// Conformance check

export interface CdcFinding {
    severity: 'error' | 'warning';
    /** Path of the attribute below the data object (`mag.f`, `Oper.origin`), or '' for the object. */
    attribute: string;
    message: string;
}

export interface CdcCheckOptions {
    /** Do not warn about attributes and sub data objects the CDC does not define. */
    allowExtension?: boolean;
    /** The data object is in LLN0 (true) or another LN (false): evaluates MFln0 / MOln0 (LPL). */
    inLln0?: boolean;
}

/** What a presence spec needs (CDC attributes and constructed type members alike). */
interface Spec {
    name: string;
    presence: string;
    condition?: string;
}

/** Context of the presence conditions that depend on the rest of the data object. */
interface PresenceContext {
    ctlModel?: number;
    inLln0?: boolean;
    /** For MFscaledAV / MFscaledMagV / MFscaledAngV: whether integer values are used. */
    scaled?: { av: boolean; mag: boolean; ang: boolean };
}

const SBO_MODELS: readonly number[] = [CTL_MODEL.sboNormal, CTL_MODEL.sboEnhanced];
const ENHANCED_MODELS: readonly number[] = [CTL_MODEL.directEnhanced, CTL_MODEL.sboEnhanced];

/** Whether a conditional presence makes the element required, from the context; undefined = cannot tell. */
function requiredByContext(presence: string, ctx: PresenceContext): boolean | undefined {
    const m = ctx.ctlModel;
    switch (presence) {
        case 'MOsbo':
            return m === undefined ? undefined : SBO_MODELS.includes(m);
        case 'MOenhanced':
            return m === undefined ? undefined : ENHANCED_MODELS.includes(m);
        case 'MOctrl':
            return m === undefined ? undefined : m !== CTL_MODEL.statusOnly;
        case 'MOsboNormal':
            return m === undefined ? undefined : m === CTL_MODEL.sboNormal;
        case 'MOsboEnhanced':
            return m === undefined ? undefined : m === CTL_MODEL.sboEnhanced;
        case 'MFln0':
        case 'MOln0':
            return ctx.inLln0;
        case 'MFscaledAV':
            return ctx.scaled?.av;
        case 'MFscaledMagV':
            return ctx.scaled?.mag;
        case 'MFscaledAngV':
            return ctx.scaled?.ang;
        default:
            return undefined;
    }
}

/** Findings of the presence conditions of `specs` given the names present. */
function checkPresence(specs: readonly Spec[], present: ReadonlySet<string>, prefix: string, ctx: PresenceContext) {
    const out: CdcFinding[] = [];
    const at = (n: string) => prefix + n;
    const groups = new Map<string, Spec[]>();
    for (const s of specs) {
        const has = present.has(s.name);
        const key = s.presence === 'MFsubst' ? 'MFsubst' : `${s.presence}#${s.condition ?? ''}`;
        if (
            s.presence === 'MFsubst' ||
            s.presence.endsWith('PerGroup') ||
            s.presence.endsWith('OneGroup') ||
            s.presence === 'AtLeastOne'
        ) {
            groups.set(key, [...(groups.get(key) ?? []), s]);
            continue;
        }
        if (s.presence === 'M') {
            if (!has) out.push({ severity: 'error', attribute: at(s.name), message: 'mandatory attribute missing' });
        } else if (s.presence === 'MO' && s.condition) {
            if (!has && present.has(s.condition))
                out.push({
                    severity: 'error',
                    attribute: at(s.name),
                    message: `mandatory because ${s.condition} is present (MO)`,
                });
        } else if (s.presence === 'OF' && s.condition) {
            if (has && !present.has(s.condition))
                out.push({
                    severity: 'error',
                    attribute: at(s.name),
                    message: `forbidden without ${s.condition} (OF)`,
                });
        } else {
            const required = requiredByContext(s.presence, ctx);
            if (required === true && !has)
                out.push({
                    severity: 'error',
                    attribute: at(s.name),
                    message: `required by its presence condition ${s.presence}`,
                });
            else if (required === false && has && s.presence.startsWith('MF'))
                out.push({
                    severity: s.presence === 'MFln0' ? 'error' : 'warning',
                    attribute: at(s.name),
                    message: `forbidden here by its presence condition ${s.presence}`,
                });
        }
    }
    // Group conditions: key = presence#group (MFsubst forms one group).
    const byPresence = new Map<string, Array<{ group: string; members: Spec[] }>>();
    for (const [key, members] of groups) {
        const [presence = '', group = ''] = key.split('#');
        byPresence.set(presence, [...(byPresence.get(presence) ?? []), { group, members }]);
    }
    for (const [presence, list] of byPresence) {
        const complete = (m: Spec[]) => m.every((s) => present.has(s.name));
        const any = (m: Spec[]) => m.some((s) => present.has(s.name));
        const names = (m: Spec[]) => m.map((s) => at(s.name)).join(', ');
        if (presence === 'MFsubst' || presence === 'AllOrNonePerGroup' || presence === 'MAllOrNonePerGroup') {
            for (const { members } of list)
                if (any(members) && !complete(members))
                    for (const s of members.filter((x) => !present.has(x.name)))
                        out.push({
                            severity: 'error',
                            attribute: at(s.name),
                            message: `missing: ${names(members)} come all or none (${presence})`,
                        });
        } else if (presence === 'AtLeastOne') {
            for (const { members } of list)
                if (!any(members))
                    out.push({
                        severity: 'error',
                        attribute: names(members),
                        message: 'at least one of these is required (AtLeastOne)',
                    });
        } else if (presence === 'AllAtLeastOneGroup') {
            if (!list.some((g) => complete(g.members)))
                out.push({
                    severity: 'error',
                    attribute: list.map((g) => names(g.members)).join(' | '),
                    message: 'no group is complete (AllAtLeastOneGroup)',
                });
        } else if (presence === 'AllOnlyOneGroup') {
            const full = list.filter((g) => complete(g.members)).length;
            const partial = list.filter((g) => any(g.members) && !complete(g.members)).length;
            if (full !== 1 || partial > 0)
                out.push({
                    severity: 'error',
                    attribute: list.map((g) => names(g.members)).join(' | '),
                    message: `exactly one group must be present, found ${full} (AllOnlyOneGroup)`,
                });
        }
    }
    return out;
}

function isBasic(type: string): type is BasicType {
    return Object.hasOwn(BASIC_TYPES, type);
}

/** The ordinal of a ctlModel value as the model may hold it (number, bigint, literal or numeric string). */
function ctlModelOf(da: DataAttribute | undefined): number | undefined {
    const v = da?.value;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'string') return /^\d+$/.test(v) ? Number(v) : enumOrdinal('CtlModelKind', v);
    return undefined;
}

/** Findings for one attribute (or member) against its expected type; recurses into constructed types. */
function checkType(
    da: DataAttribute,
    expected: string,
    path: string,
    ctlVal: string | undefined,
    out: CdcFinding[],
): void {
    const want = expected === 'ctlVal' ? (ctlVal ?? '') : expected;
    if (isBasic(want)) {
        if (da.type !== want)
            out.push({ severity: 'error', attribute: path, message: `type ${da.type}, expected ${want}` });
        return;
    }
    const ct = CONSTRUCTED_TYPES[want];
    if (!ct) {
        out.push({ severity: 'warning', attribute: path, message: `type ${want} is not known; not checked` });
        return;
    }
    if (da.type !== 'Struct') {
        out.push({ severity: 'error', attribute: path, message: `type ${da.type}, expected constructed ${want}` });
        return;
    }
    const present = new Set<string>();
    for (const c of da.children ?? []) {
        const m: TypeMember | undefined = ct.members.find((x) => x.name === c.name);
        const cPath = `${path}.${c.name}`;
        if (present.has(c.name)) out.push({ severity: 'error', attribute: cPath, message: 'member appears twice' });
        present.add(c.name);
        if (!m) {
            out.push({ severity: 'warning', attribute: cPath, message: `not a member of ${want}` });
            continue;
        }
        if (c.fc !== da.fc)
            out.push({ severity: 'warning', attribute: cPath, message: `FC ${c.fc} differs from ${da.fc} of ${path}` });
        checkType(c, m.type, cPath, ctlVal, out);
    }
    out.push(...checkPresence(ct.members, present, `${path}.`, {}));
}

/** Whether an attribute (a Struct) carries the integer member i. */
const usesInt = (da: DataAttribute | undefined) => !!da?.children?.some((c) => c.name === 'i');
const member = (da: DataAttribute, name: string) => da.children?.find((c) => c.name === name);

/**
 * Scaled-value use for MFscaledAV / MFscaledMagV / MFscaledAngV: whether a sibling of type
 * AnalogueValue (or AnalogueValueCtl) carries i, or a Vector carries i in its mag / ang.
 */
function scaledUse(info: CdcInfo, attrs: readonly DataAttribute[]): NonNullable<PresenceContext['scaled']> {
    const scaled = { av: false, mag: false, ang: false };
    for (const da of attrs) {
        const type = info.attributes.find((a) => a.name === da.name)?.type;
        if (type === 'AnalogueValue' || type === 'AnalogueValueCtl') scaled.av ||= usesInt(da);
        if (type === 'Vector') {
            scaled.mag ||= usesInt(member(da, 'mag'));
            scaled.ang ||= usesInt(member(da, 'ang'));
        }
    }
    return scaled;
}

/**
 * Checks a data object against the attribute table of its common data class (`cdc`, default
 * `dobj.cdc`): unknown CDC (warning); missing mandatory attributes and violated presence
 * conditions that the object itself decides (groups, siblings, substitution, ctlModel value,
 * scaled values; LLN0 ones with options.inLln0); wrong FC or basic type, also inside constructed
 * attributes (errors); attributes and sub data objects the CDC does not define (warnings, unless
 * options.allowExtension). Conditions that depend on the rest of the model (MOdataNs, MOlnNs,
 * MOoperTm, MORange, AC_DLNDA_M) are not evaluated.
 */
export function checkDataObject(dobj: DataObject, cdc?: string, options: CdcCheckOptions = {}): CdcFinding[] {
    const name = cdc ?? dobj.cdc;
    if (!name) return [{ severity: 'warning', attribute: '', message: `${dobj.name} has no CDC; not checked` }];
    const info = CDCS[name];
    if (!info) return [{ severity: 'warning', attribute: '', message: `unknown CDC ${name}; not checked` }];
    const out: CdcFinding[] = [];
    if (cdc && dobj.cdc && dobj.cdc !== cdc)
        out.push({ severity: 'warning', attribute: '', message: `declared as ${dobj.cdc}, checked as ${cdc}` });

    const byName = new Map<string, DataAttribute[]>();
    for (const child of dobj.children) {
        if (child.kind === 'DO') {
            if (!options.allowExtension)
                out.push({ severity: 'warning', attribute: child.name, message: `sub data object not in ${name}` });
            continue;
        }
        byName.set(child.name, [...(byName.get(child.name) ?? []), child]);
    }
    for (const [attrName, das] of byName) {
        const spec = info.attributes.find((a) => a.name === attrName);
        if (!spec) {
            if (!options.allowExtension)
                out.push({ severity: 'warning', attribute: attrName, message: `not an attribute of ${name}` });
            continue;
        }
        const fcs: readonly Fc[] = [spec.fc, ...(spec.fcAlt ?? [])];
        const seen = new Set<Fc>();
        for (const da of das) {
            if (seen.has(da.fc) || (das.length > 1 && !spec.fcAlt))
                out.push({ severity: 'error', attribute: attrName, message: `appears more than once (FC ${da.fc})` });
            seen.add(da.fc);
            if (!fcs.includes(da.fc))
                out.push({ severity: 'error', attribute: attrName, message: `FC ${da.fc}, expected ${fcs.join('/')}` });
            if (da.count !== undefined)
                out.push({ severity: 'error', attribute: attrName, message: 'is an array; the CDC defines a scalar' });
            checkType(da, spec.type, attrName, info.ctlVal, out);
        }
    }

    const first = (n: string) => byName.get(n)?.[0];
    const ctx: PresenceContext = { scaled: scaledUse(info, [...byName.values()].flat()) };
    const model = ctlModelOf(first('ctlModel'));
    if (model !== undefined) ctx.ctlModel = model;
    if (options.inLln0 !== undefined) ctx.inLln0 = options.inLln0;
    out.push(...checkPresence(info.attributes, new Set(byName.keys()), '', ctx));
    return out;
}

// ---------------------------------------------------------------------------------------------
// Building data objects

export interface InstantiateOptions {
    /** Optional or conditional attributes to add by name, or 'all' for every attribute the CDC defines. */
    include?: readonly string[] | 'all';
    /** ctlModel of a controllable CDC (ordinal or CtlModelKind literal); default direct-with-normal-security. */
    ctlModel?: number | string;
    /** FC of the setting of SPG/ING/ENG/TSG/ASG: SP (default), or SG/SE inside a setting group. */
    settingFc?: 'SP' | 'SG' | 'SE';
    /** Members of AnalogueValue: float f (default), integer i, or both; AnalogueValueCtl takes i or f. */
    analogue?: 'f' | 'i' | 'both';
    /** Add operTm to Oper/SBOw/Cancel (time-activated control). */
    timeActivated?: boolean;
    /** The object is in LLN0: adds ldNs and configRev of LPL. */
    inLln0?: boolean;
}

interface BuildContext {
    all: boolean;
    analogue: 'f' | 'i' | 'both';
    timeActivated: boolean;
    ctlVal: string | undefined;
}

/** Members of a constructed type to instantiate: mandatory ones and one choice per group. */
function chooseMembers(typeName: string, members: readonly TypeMember[], bc: BuildContext): TypeMember[] {
    const wantInt = bc.analogue !== 'f';
    const wantFloat = bc.analogue !== 'i';
    return members.filter((m) => {
        if (typeName === 'AnalogueValue' && (m.name === 'i' || m.name === 'f'))
            return m.name === 'i' ? wantInt : wantFloat;
        if (m.presence === 'AllOnlyOneGroup') return m.name === (bc.analogue === 'i' ? 'i' : 'f');
        if (m.presence === 'MOoperTm') return bc.timeActivated || bc.all;
        if (m.presence === 'AtLeastOne') return m === members.find((x) => x.condition === m.condition);
        return m.presence === 'M' || bc.all;
    });
}

function buildAttribute(
    name: string,
    token: string,
    fc: Fc,
    bc: BuildContext,
    triggers?: DataAttribute['triggers'],
): DataAttribute {
    const type = token === 'ctlVal' ? (bc.ctlVal ?? 'ENUMERATED') : token;
    const ct = CONSTRUCTED_TYPES[type];
    const da: DataAttribute = { kind: 'DA', name, fc, type: ct ? 'Struct' : (type as BasicType) };
    if (triggers) da.triggers = triggers;
    if (ct) da.children = chooseMembers(type, ct.members, bc).map((m) => buildAttribute(m.name, m.type, fc, bc));
    return da;
}

/**
 * A data object of common data class `cdc` with its mandatory attributes, the attributes the
 * chosen ctlModel requires (controllable CDCs; ctlModel gets that value), and the optional ones
 * named in options.include (groups they belong to are completed). Constructed attributes get
 * their mandatory members. Throws BAD_INPUT for an unknown CDC or attribute name.
 */
export function instantiateCdc(cdc: string, name: string, options: InstantiateOptions = {}): DataObject {
    const info = CDCS[cdc];
    if (!info) throw badInput('syntax', 'unknown common data class', cdc);
    const all = options.include === 'all';
    const requested = new Set(all ? info.attributes.map((a) => a.name) : (options.include ?? []));
    for (const n of requested)
        if (!info.attributes.some((a) => a.name === n))
            throw badInput('syntax', `${n} is not an attribute of ${cdc}`, n);
    const model =
        typeof options.ctlModel === 'string' ? enumOrdinal('CtlModelKind', options.ctlModel) : options.ctlModel;
    if (options.ctlModel !== undefined && (model === undefined || model < 0 || model > 4))
        throw badInput('out-of-range', 'ctlModel must be 0..4 or a CtlModelKind literal', String(options.ctlModel));
    const ctx: PresenceContext = {};
    if (info.ctlVal) ctx.ctlModel = model ?? CTL_MODEL.directNormal;
    if (options.inLln0 !== undefined) ctx.inLln0 = options.inLln0;

    const attrs = info.attributes;
    const isScaled = (a: CdcAttribute) => a.presence.startsWith('MFscaled');
    const chosen = new Set<string>();
    for (const a of attrs) {
        const p = a.presence;
        let take = requested.has(a.name);
        if (isScaled(a)) continue; // decided once the analogue values exist
        if (p === 'M' || p === 'MAllOrNonePerGroup') take = true;
        else if (p === 'AllAtLeastOneGroup' || p === 'AtLeastOne') {
            const firstOf = attrs.find((x) => x.presence === p);
            take ||= p === 'AtLeastOne' ? a === firstOf : a.condition === firstOf?.condition;
        } else if (p === 'AllOrNonePerGroup' || p === 'MFsubst')
            take ||= attrs.some((x) => x.presence === p && x.condition === a.condition && requested.has(x.name));
        else if (requiredByContext(p, ctx) === true) take = true;
        else if (requiredByContext(p, ctx) === false && p.startsWith('MF')) take = false;
        if (take) chosen.add(a.name);
    }
    // MO siblings, once the siblings are known; OF only with the sibling.
    for (const a of attrs) {
        if (a.presence === 'MO' && a.condition && chosen.has(a.condition)) chosen.add(a.name);
        if (a.presence === 'OF' && a.condition && !chosen.has(a.condition)) chosen.delete(a.name);
    }

    const bc: BuildContext = {
        all,
        analogue: options.analogue ?? 'f',
        timeActivated: options.timeActivated ?? false,
        ctlVal: info.ctlVal,
    };
    const build = (a: CdcAttribute): DataAttribute => {
        const fc = a.fcAlt && options.settingFc && options.settingFc !== a.fc ? options.settingFc : a.fc;
        const trgs = attributeTriggers(cdc, a.name);
        const triggers = trgs.length ? Object.fromEntries(trgs.map((t) => [t, true])) : undefined;
        const da = buildAttribute(a.name, a.type, fc, bc, triggers);
        if (a.name === 'ctlModel' && ctx.ctlModel !== undefined) da.value = ctx.ctlModel;
        return da;
    };
    const children = attrs.filter((a) => chosen.has(a.name)).map(build);
    ctx.scaled = scaledUse(info, children);
    for (const a of attrs.filter(isScaled)) if (requiredByContext(a.presence, ctx)) children.push(build(a));
    const order = (da: DataAttribute) => attrs.findIndex((a) => a.name === da.name);
    children.sort((x, y) => order(x) - order(y));
    return { kind: 'DO', name, cdc, children };
}
