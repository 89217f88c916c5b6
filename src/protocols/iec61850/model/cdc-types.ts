/**
 * Constructed attribute types, presence conditions and enumerations that the common data classes
 * of ./cdc.ts use (IEC 61850-7-3 Ed2.1 §6 and §8, Originator of 7-2, the control service
 * structures of the 8-1 mapping, Beh/Health of 7-4), as data tables.
 *
 * Source of the facts: the IEC code components (NSD files) IEC_61850-7-3_2007B5 (7-3 Ed2.1),
 * IEC_61850-7-2_2007B5, IEC_61850-7-4_2007B5 and IEC_61850-8-1_2003A2 as distributed with
 * openSCD; clause numbers from the table of contents of IEC 61850-7-3:2010+AMD1:2020 (Ed2.1).
 * Names, types, presence codes and ordinals only; the descriptions are our own words.
 */

/** Presence of an attribute or member: `M`, `O`, or a conditional code of PRESENCE_CONDITIONS. */
export type Presence = string;

export interface PresenceInfo {
    /** Our summary of the condition (the normative text is 7-2 Ed2.1 / 7-3 Annex E / 8-1). */
    meaning: string;
    /** Whether `condition` carries a group number (`group`) or a sibling attribute name (`sibling`). */
    arg?: 'group' | 'sibling';
    /** Where the code is defined. */
    source: '7-2' | '8-1' | '7-3 Ed2';
}

/** The presence codes used by the CDCs and types of this palette. */
export const PRESENCE_CONDITIONS: Readonly<Record<string, PresenceInfo>> = Object.freeze({
    M: { meaning: 'mandatory', source: '7-2' },
    O: { meaning: 'optional', source: '7-2' },
    AtLeastOne: { meaning: 'at least one element of group n is present', arg: 'group', source: '7-2' },
    AllOrNonePerGroup: { meaning: 'all or none of the elements of group n are present', arg: 'group', source: '7-2' },
    MAllOrNonePerGroup: {
        meaning: 'all or none of the elements of group n are present (normally all: the status part)',
        arg: 'group',
        source: '7-2',
    },
    AllOnlyOneGroup: { meaning: 'all elements of exactly one group are present', arg: 'group', source: '7-2' },
    AllAtLeastOneGroup: { meaning: 'all elements of at least one group are present', arg: 'group', source: '7-2' },
    MO: { meaning: 'mandatory if the sibling is present, otherwise optional', arg: 'sibling', source: '7-2' },
    OF: { meaning: 'optional if the sibling is present, otherwise forbidden', arg: 'sibling', source: '7-2' },
    MFsubst: { meaning: 'mandatory if substitution is supported, otherwise forbidden', source: '7-2' },
    MOdataNs: {
        meaning: 'mandatory if the data object is not from the namespace of its logical node',
        source: '7-2',
    },
    MOlnNs: { meaning: 'mandatory if the logical node is not from the namespace of its logical device', source: '7-2' },
    MFln0: { meaning: 'mandatory in LLN0, forbidden elsewhere', source: '7-2' },
    MOln0: { meaning: 'mandatory in LLN0, optional elsewhere', source: '7-2' },
    MFscaledAV: {
        meaning: 'mandatory if an AnalogueValue of the data object uses the integer i, otherwise forbidden',
        source: '7-2',
    },
    MFscaledMagV: { meaning: 'as MFscaledAV, for the magnitude of a Vector', source: '7-2' },
    MFscaledAngV: { meaning: 'as MFscaledAV, for the angle of a Vector', source: '7-2' },
    MORange: { meaning: 'mandatory if the range attribute is used, otherwise optional', source: '7-2' },
    MOsbo: { meaning: 'mandatory if ctlModel is one of the select-before-operate models', source: '7-2' },
    MOenhanced: { meaning: 'mandatory if ctlModel is one of the enhanced-security models', source: '7-2' },
    MOoperTm: {
        meaning: 'mandatory if a controllable object of the IED supports time-activated operate',
        source: '7-2',
    },
    MOctrl: { meaning: 'mandatory if ctlModel is not status-only', source: '8-1' },
    MOsboNormal: { meaning: 'mandatory if ctlModel is sbo-with-normal-security', source: '8-1' },
    MOsboEnhanced: { meaning: 'mandatory if ctlModel is sbo-with-enhanced-security', source: '8-1' },
    AC_DLNDA_M: {
        meaning: 'Ed2 (2010) condition of cdcNs/cdcName: mandatory if the CDC is a name-space extension',
        source: '7-3 Ed2',
    },
});

// ---------------------------------------------------------------------------------------------
// Constructed attribute types

export interface TypeMember {
    name: string;
    /** A key of BASIC_TYPES, a constructed type name, or `ctlVal` for the parameter of Oper/SBOw/Cancel. */
    type: string;
    presence: Presence;
    /** Group number or sibling name of a conditional presence. */
    condition?: string;
    /** Octets/characters of a string member (Octet64 = 64). */
    size?: number;
    /** The enumeration of an ENUMERATED member (a key of ENUMERATIONS). */
    enumType?: string;
}

export interface ConstructedType {
    /** Clause of the standard the type comes from, e.g. '7-3 §6.7'. */
    clause: string;
    clauseVerified: boolean;
    members: readonly TypeMember[];
    /** The type of member `ctlVal` is given by the CDC (Oper, SBOw, Cancel). */
    parameterized?: boolean;
}

type M = [name: string, type: string, presence: Presence, extra?: Omit<TypeMember, 'name' | 'type' | 'presence'>];

const members = (rows: M[]): readonly TypeMember[] =>
    Object.freeze(rows.map(([name, type, presence, extra]) => Object.freeze({ name, type, presence, ...extra })));

const ctlService = (check: boolean): M[] => [
    ['ctlVal', 'ctlVal', 'M'],
    ['operTm', 'Timestamp', 'MOoperTm'],
    ['origin', 'Originator', 'M'],
    ['ctlNum', 'INT8U', 'M'],
    ['T', 'Timestamp', 'M'],
    ['Test', 'BOOLEAN', 'M'],
    ...(check ? ([['Check', 'Check', 'M']] as M[]) : []),
];

const type = (clause: string, verified: boolean, rows: M[], parameterized = false): ConstructedType =>
    Object.freeze({
        clause,
        clauseVerified: verified,
        members: members(rows),
        ...(parameterized ? { parameterized } : {}),
    });

export const CONSTRUCTED_TYPES: Readonly<Record<string, ConstructedType>> = Object.freeze({
    ScaledValueConfig: type('7-3 §6.2', true, [
        ['scaleFactor', 'FLOAT32', 'M'],
        ['offset', 'FLOAT32', 'M'],
    ]),
    RangeConfig: type('7-3 §6.3', true, [
        ['hhLim', 'AnalogueValue', 'MORange'],
        ['hLim', 'AnalogueValue', 'MORange'],
        ['lLim', 'AnalogueValue', 'MORange'],
        ['llLim', 'AnalogueValue', 'MORange'],
        ['min', 'AnalogueValue', 'M'],
        ['max', 'AnalogueValue', 'M'],
        ['limDb', 'INT32U', 'O'],
    ]),
    ValWithTrans: type('7-3 §6.4', true, [
        ['posVal', 'INT8', 'M'],
        ['transInd', 'BOOLEAN', 'O'],
    ]),
    PulseConfig: type('7-3 §6.5', true, [
        ['cmdQual', 'ENUMERATED', 'M', { enumType: 'OutputSignalKind' }],
        ['onDur', 'INT32U', 'M'],
        ['offDur', 'INT32U', 'M'],
        ['numPls', 'INT32U', 'M'],
    ]),
    // §6.6 is illegible in the table of contents we could read; the position fits "Unit".
    Unit: type('7-3 §6.6', false, [
        ['SIUnit', 'ENUMERATED', 'M', { enumType: 'SIUnitKind' }],
        ['multiplier', 'ENUMERATED', 'O', { enumType: 'MultiplierKind' }],
    ]),
    Vector: type('7-3 §6.7', true, [
        ['mag', 'AnalogueValue', 'M'],
        ['ang', 'AnalogueValue', 'O'],
    ]),
    Point: type('7-3 §6.8', true, [
        ['xVal', 'FLOAT32', 'M'],
        ['yVal', 'FLOAT32', 'M'],
        ['zVal', 'FLOAT32', 'O'],
    ]),
    Cell: type('7-3 §6.9', true, [
        ['xStart', 'FLOAT32', 'M'],
        ['xEnd', 'FLOAT32', 'O'],
        ['yStart', 'FLOAT32', 'O'],
        ['yEnd', 'FLOAT32', 'O'],
    ]),
    CalendarTime: type('7-3 §6.10', true, [
        ['occ', 'INT16U', 'M'],
        ['occType', 'ENUMERATED', 'M', { enumType: 'OccurrenceKind' }],
        ['occPer', 'ENUMERATED', 'M', { enumType: 'PeriodKind' }],
        ['weekDay', 'ENUMERATED', 'M', { enumType: 'WeekdayKind' }],
        ['month', 'ENUMERATED', 'M', { enumType: 'MonthKind' }],
        ['day', 'INT8U', 'M'],
        ['hr', 'INT8U', 'M'],
        ['mn', 'INT8U', 'M'],
    ]),
    AnalogueValue: type('7-3 §6.11.2', true, [
        ['i', 'INT32', 'AtLeastOne', { condition: '1' }],
        ['f', 'FLOAT32', 'AtLeastOne', { condition: '1' }],
    ]),
    /** Ed2.1: the control value of APC and the setting of ASG: integer or float, not both. */
    AnalogueValueCtl: type('7-3 §6.11.3', true, [
        ['i', 'INT32', 'AllOnlyOneGroup', { condition: '1' }],
        ['f', 'FLOAT32', 'AllOnlyOneGroup', { condition: '2' }],
    ]),
    AnalogueValueCtlF: type('7-3 §6.11.4', true, [['f', 'FLOAT32', 'M']]),
    AnalogueValueCtlInt: type('7-3 §6.11.5', true, [['i', 'INT32', 'M']]),
    /** 7-2 Ed2 (constructed type of the ACSI data model); sub-clause not verified. */
    Originator: type('7-2', false, [
        ['orCat', 'ENUMERATED', 'M', { enumType: 'OriginatorCategoryKind' }],
        ['orIdent', 'OCTET STRING', 'M', { size: 64 }],
    ]),
    /** Control service structures of the 8-1 mapping (ServiceConstructedAttributes of the 8-1 NSD). */
    SBOw: type('8-1', false, ctlService(true), true),
    Oper: type('8-1', false, ctlService(true), true),
    Cancel: type('8-1', false, ctlService(false), true),
});

export function isConstructedType(name: string): boolean {
    return Object.hasOwn(CONSTRUCTED_TYPES, name);
}

// ---------------------------------------------------------------------------------------------
// Enumerations

export interface EnumerationInfo {
    /** Where it is defined, e.g. '7-3 §8.16'. */
    clause: string;
    clauseVerified: boolean;
    /** Ordinal → literal name, as in SCL EnumVal. */
    literals: Readonly<Record<number, string>>;
    /** Ordinals marked deprecated in the NSD. */
    deprecated?: readonly number[];
}

const enumeration = (
    clause: string,
    verified: boolean,
    literals: Array<[number, string]> | string[],
    first = 0,
    deprecated?: number[],
): EnumerationInfo =>
    Object.freeze({
        clause,
        clauseVerified: verified,
        literals: Object.freeze(
            Object.fromEntries(
                literals.map((l, i) => (typeof l === 'string' ? [first + i, l] : l)) as Array<[number, string]>,
            ),
        ),
        ...(deprecated ? { deprecated: Object.freeze(deprecated) } : {}),
    });

/** SIUnitKind (7-3 §8.16): ordinals 1..11, then 21..39, 41..89 (no 12..20 and no 40). */
const SI_UNITS: Array<[number, string]> = [
    ...['', 'm', 'kg', 's', 'A', 'K', 'mol', 'cd', 'deg', 'rad', 'sr'].map((u, i): [number, string] => [1 + i, u]),
    ...['Gy', 'Bq', '°C', 'Sv', 'F', 'C', 'S', 'H', 'V', 'ohm', 'J', 'N', 'Hz', 'lx', 'Lm', 'Wb', 'T', 'W', 'Pa'].map(
        (u, i): [number, string] => [21 + i, u],
    ),
    ...[
        'm²',
        'm³',
        'm/s',
        'm/s²',
        'm³/s',
        'm/m³',
        'M',
        'kg/m³',
        'm²/s',
        'W/m K',
        'J/K',
        'ppm',
        '1/s',
        'rad/s',
        'W/m²',
        'J/m²',
        'S/m',
        'K/s',
        'Pa/s',
        'J/kg K',
        'VA',
        'Watts',
        'VAr',
        'phi',
        'cos(phi)',
        'Vs',
        'V²',
        'As',
        'A²',
        'A²t',
        'VAh',
        'Wh',
        'VArh',
        'V/Hz',
        'Hz/s',
        'char',
        'char/s',
        'kgm²',
        'dB',
        'J/Wh',
        'W/s',
        'l/s',
        'dBm',
        'h',
        'min',
        'Ohm/m',
        'percent/s',
        'A/V',
        'A/Vs',
    ].map((u, i): [number, string] => [41 + i, u]),
];

export const ENUMERATIONS: Readonly<Record<string, EnumerationInfo>> = Object.freeze({
    CtlModelKind: enumeration('7-3 §8.3', true, [
        'status-only',
        'direct-with-normal-security',
        'sbo-with-normal-security',
        'direct-with-enhanced-security',
        'sbo-with-enhanced-security',
    ]),
    SboClassKind: enumeration('7-3 §8.17', true, ['operate-once', 'operate-many']),
    OriginatorCategoryKind: enumeration('7-2', false, [
        'not-supported',
        'bay-control',
        'station-control',
        'remote-control',
        'automatic-bay',
        'automatic-station',
        'automatic-remote',
        'maintenance',
        'process',
    ]),
    /** Mod (ENC) and Beh (ENS) of every LN (7-4). Ed2 SCL files often spell 2 as "on-blocked". */
    BehaviourModeKind: enumeration('7-4', false, ['on', 'blocked', 'test', 'test/blocked', 'off'], 1),
    HealthKind: enumeration('7-4', false, ['Ok', 'Warning', 'Alarm'], 1),
    /** 1 is dimensionless (empty literal). 38 W is the unit of power; 62 "Watts" is deprecated. */
    SIUnitKind: enumeration('7-3 §8.16', true, SI_UNITS, 0, [62, 64]),
    MultiplierKind: enumeration('7-3 §8.8', true, [
        [-24, 'y'],
        [-21, 'z'],
        [-18, 'a'],
        [-15, 'f'],
        [-12, 'p'],
        [-9, 'n'],
        [-6, 'µ'],
        [-3, 'm'],
        [-2, 'c'],
        [-1, 'd'],
        [0, ''],
        [1, 'da'],
        [2, 'h'],
        [3, 'k'],
        [6, 'M'],
        [9, 'G'],
        [12, 'T'],
        [15, 'P'],
        [18, 'E'],
        [21, 'Z'],
        [24, 'Y'],
    ]),
    RangeKind: enumeration('7-3 §8.15', true, ['normal', 'high', 'low', 'high-high', 'low-low']),
    OutputSignalKind: enumeration('7-3 §8.10', true, ['pulse', 'persistent', 'persistent-feedback']),
    OccurrenceKind: enumeration('7-3 §8.9', true, ['Time', 'WeekDay', 'WeekOfYear', 'DayOfMonth', 'DayOfYear', 'NONE']),
    PeriodKind: enumeration('7-3 §8.11', true, ['Hour', 'Day', 'Week', 'Month', 'Year']),
    WeekdayKind: enumeration('7-3 §8.20', true, [
        'reserved',
        'Monday',
        'Tuesday',
        'Wednesday',
        'Thursday',
        'Friday',
        'Saturday',
        'Sunday',
    ]),
    MonthKind: enumeration('7-3 §8.7', true, [
        'reserved',
        'January',
        'February',
        'March',
        'April',
        'May',
        'June',
        'July',
        'August',
        'September',
        'October',
        'November',
        'December',
    ]),
    PhaseAngleReferenceKind: enumeration('7-3 §8.12', true, [
        'Va',
        'Vb',
        'Vc',
        'Aa',
        'Ab',
        'Ac',
        'Vab',
        'Vbc',
        'Vca',
        'Vother',
        'Aother',
        'Synchrophasor',
    ]),
});

/** The ordinal of a literal of an enumeration, or undefined. */
export function enumOrdinal(enumType: string, literal: string): number | undefined {
    const info = ENUMERATIONS[enumType];
    if (!info) return undefined;
    for (const [ord, name] of Object.entries(info.literals)) if (name === literal) return Number(ord);
    return undefined;
}

/** The CtlModelKind ordinals (7-3 §8.3). */
export const CTL_MODEL = Object.freeze({
    statusOnly: 0,
    directNormal: 1,
    sboNormal: 2,
    directEnhanced: 3,
    sboEnhanced: 4,
});
