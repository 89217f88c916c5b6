/**
 * The Simple Metering cluster (0x0702) as data: the attributes the meter poller reads, their ZCL types, the unit
 * enumeration, the electricity status bits, the metering device types, the formatting bit fields and the invalid
 * ("non-value") sentinels.
 *
 * Source: ZigBee Smart Energy Profile 1.0, document 075356r15, Annex D.3 "Simple Metering Cluster", server
 * attribute sets (D.3.2.2): 0x00 Reading Information, 0x01 TOU Information, 0x02 Meter Status, 0x03 Formatting,
 * 0x04 ESP Historical Consumption, 0x05 Load Profile Configuration. M/O follows the SE text. The herdsman names are
 * the keys of zigbee-herdsman 11's `seMetering` cluster definition (a test cross-checks IDs and types against it).
 * Rows marked `since: '1.1'` are not in SE 1.0 (they appear in 075356r16); a 1.0 meter answers them 0x86.
 */

export const SIMPLE_METERING_CLUSTER = 0x0702;

export const SE_DOCUMENT = 'ZigBee Smart Energy 1.0, 075356r15, Annex D.3 (Simple Metering cluster)';

/** ZCL data type IDs used by these attributes (ZCL 07-5123, Table 2.16). */
export const ZCL_TYPE = {
    bitmap8: 0x18,
    uint8: 0x20,
    uint24: 0x22,
    uint48: 0x25,
    int24: 0x2a,
    enum8: 0x30,
    utc: 0xe2,
} as const;

export type ZclTypeName = keyof typeof ZCL_TYPE;

/** ZCL status codes a Read Attributes response carries per attribute (ZCL 2.5.3). */
export const ZCL_STATUS = {
    SUCCESS: 0x00,
    FAILURE: 0x01,
    NOT_AUTHORIZED: 0x7e,
    UNSUPPORTED_ATTRIBUTE: 0x86,
    INVALID_VALUE: 0x87,
    HARDWARE_FAILURE: 0xc0,
    SOFTWARE_FAILURE: 0xc1,
} as const;

export const ZCL_STATUS_NAMES: Readonly<Record<number, string>> = {
    0: 'SUCCESS',
    1: 'FAILURE',
    126: 'NOT_AUTHORIZED',
    134: 'UNSUPPORTED_ATTRIBUTE',
    135: 'INVALID_VALUE',
    192: 'HARDWARE_FAILURE',
    193: 'SOFTWARE_FAILURE',
};

export interface AttributeSet {
    id: number;
    name: string;
    clause: string;
}

export const ATTRIBUTE_SETS: readonly AttributeSet[] = [
    { id: 0x00, name: 'Reading Information', clause: 'D.3.2.2.1' },
    { id: 0x01, name: 'TOU Information', clause: 'D.3.2.2.2' },
    { id: 0x02, name: 'Meter Status', clause: 'D.3.2.2.3' },
    { id: 0x03, name: 'Formatting', clause: 'D.3.2.2.4' },
    { id: 0x04, name: 'ESP Historical Consumption', clause: 'D.3.2.2.5' },
];

export interface MeteringAttribute {
    /** Attribute ID; the high byte is the attribute set. */
    id: number;
    /** The name in the SE text. */
    seName: string;
    /** Key used in records (lower camel case of the SE name). */
    key: string;
    /** The name zigbee-herdsman 11 gives the attribute in `seMetering`. */
    herdsmanName: string;
    /** ZCL data type ID. */
    type: number;
    typeName: ZclTypeName;
    /** Mandatory or optional for a metering server. */
    use: 'M' | 'O';
    /** The clause of 075356r15 that defines the attribute set. */
    clause: string;
    /** SE revision that introduced the attribute when it is not in 1.0. */
    since?: '1.1';
    meaning: string;
}

const row = (
    id: number,
    seName: string,
    herdsmanName: string,
    typeName: ZclTypeName,
    use: 'M' | 'O',
    meaning: string,
    since?: '1.1',
): MeteringAttribute => {
    const set = ATTRIBUTE_SETS.find((s) => s.id === id >> 8);
    return {
        id,
        seName,
        key: seName.charAt(0).toLowerCase() + seName.slice(1),
        herdsmanName,
        type: ZCL_TYPE[typeName],
        typeName,
        use,
        clause: set ? `${set.clause} (${set.name} set)` : 'D.3.2.2',
        ...(since ? { since } : {}),
        meaning,
    };
};

/** The attributes this palette reads. Nothing here is ever written: the transport has no write method. */
export const METERING_ATTRIBUTES: readonly MeteringAttribute[] = [
    row(
        0x0000,
        'CurrentSummationDelivered',
        'currentSummDelivered',
        'uint48',
        'M',
        'Energy register, delivered to the premises (kWh after scaling when the unit is 0x00)',
    ),
    row(0x0001, 'CurrentSummationReceived', 'currentSummReceived', 'uint48', 'O', 'Energy register, exported'),
    row(0x0007, 'ReadingSnapShotTime', 'readingSnapshotTime', 'utc', 'O', "Meter's own time of the summation"),
    row(
        0x000a,
        'DefaultUpdatePeriod',
        'defaultUpdatePeriod',
        'uint8',
        'O',
        'Seconds between the meter refreshing its values; polling faster gains nothing',
        '1.1',
    ),
    row(
        0x000b,
        'FastPollUpdatePeriod',
        'fastPollUpdatePeriod',
        'uint8',
        'O',
        'Fast-poll refresh period; reaching it needs a command, which this palette never sends',
        '1.1',
    ),
    row(0x0200, 'Status', 'status', 'bitmap8', 'M', 'Meter status flags (METER_STATUS_BITS for electricity)'),
    row(0x0300, 'UnitofMeasure', 'unitOfMeasure', 'enum8', 'M', 'Unit of summation and demand; 0x80+ = BCD'),
    row(0x0301, 'Multiplier', 'multiplier', 'uint24', 'O', 'Applied to all summation, consumption and demand values'),
    row(0x0302, 'Divisor', 'divisor', 'uint24', 'O', 'Applied to all summation, consumption and demand values'),
    row(0x0303, 'SummationFormatting', 'summaFormatting', 'bitmap8', 'M', 'Digits left/right of the decimal point'),
    row(0x0304, 'DemandFormatting', 'demandFormatting', 'bitmap8', 'O', 'Digits left/right for demand'),
    row(
        0x0305,
        'HistoricalConsumptionFormatting',
        'historicalConsumpFormatting',
        'bitmap8',
        'O',
        'Digits left/right for historical consumption',
    ),
    row(0x0306, 'MeteringDeviceType', 'meteringDeviceType', 'bitmap8', 'M', 'Electric, gas, water, thermal...'),
    row(
        0x0400,
        'InstantaneousDemand',
        'instantaneousDemand',
        'int24',
        'O',
        'Present demand (kW after scaling when the unit is 0x00); negative = net export',
    ),
];

/** Attribute IDs by short name. */
export const ATTR = {
    CurrentSummationDelivered: 0x0000,
    CurrentSummationReceived: 0x0001,
    ReadingSnapShotTime: 0x0007,
    DefaultUpdatePeriod: 0x000a,
    FastPollUpdatePeriod: 0x000b,
    Status: 0x0200,
    UnitofMeasure: 0x0300,
    Multiplier: 0x0301,
    Divisor: 0x0302,
    SummationFormatting: 0x0303,
    DemandFormatting: 0x0304,
    HistoricalConsumptionFormatting: 0x0305,
    MeteringDeviceType: 0x0306,
    InstantaneousDemand: 0x0400,
} as const;

const BY_ID = new Map(METERING_ATTRIBUTES.map((a) => [a.id, a]));

export function attributeById(id: number): MeteringAttribute | undefined {
    return BY_ID.get(id);
}

/** The attribute's record key, or `attr_0xNNNN` for IDs outside the table. */
export function attributeKey(id: number): string {
    return BY_ID.get(id)?.key ?? `attr_0x${id.toString(16).padStart(4, '0')}`;
}

/** What the poller reads every slot by default (design note §9.1): summation, demand, status. */
export const DEFAULT_READING_ATTRIBUTES: readonly number[] = [
    ATTR.CurrentSummationDelivered,
    ATTR.InstantaneousDemand,
    ATTR.Status,
];

/** What the poller reads at start, after a reconnect and after repeated losses: the scaling set (§4.1 step 1). */
export const SCALING_ATTRIBUTES: readonly number[] = [
    ATTR.UnitofMeasure,
    ATTR.Multiplier,
    ATTR.Divisor,
    ATTR.SummationFormatting,
    ATTR.DemandFormatting,
    ATTR.MeteringDeviceType,
    ATTR.Status,
];

/** Invalid ("non-value") sentinels of the ZCL types above (ZCL Table 2.16). Never turned into numbers. */
export const SENTINEL = {
    /** uint48 0xFFFFFFFFFFFF: herdsman keeps it as 2^48-1 because it equals the attribute's max. */
    uint48: 0xffffffffffff,
    /** int24 0x800000 = -8388608: herdsman turns it into NaN. */
    int24: -0x800000,
    /** uint24 0xFFFFFF: for multiplier/divisor this is treated as "not available". */
    uint24: 0xffffff,
    /** enum8 0xFF. */
    enum8: 0xff,
    /** utc 0xFFFFFFFF. */
    utc: 0xffffffff,
} as const;

export const UINT48_MAX = 0xffffffffffff;
export const INT24_MIN = -0x800000;
export const INT24_MAX = 0x7fffff;

/** Bit 7 of UnitofMeasure: the same unit, values encoded as BCD (D.3.2.2.4.1). */
export const UNIT_BCD_FLAG = 0x80;

export interface UnitOfMeasure {
    code: number;
    name: string;
    /** Unit of summation values. */
    summation: string;
    /** Unit of demand values. */
    demand: string;
}

/**
 * UnitofMeasure enumeration (D.3.2.2.4.1). 0x00-0x07 are SE 1.0; 0x08/0x09 (kPa) are in the SE 1.x tables but not
 * checked against r15's text. Unknown codes are passed through as `unit-0xNN`; codes 0x80-0xFE are the same units
 * with BCD-encoded values.
 */
export const UNITS_OF_MEASURE: readonly UnitOfMeasure[] = [
    { code: 0x00, name: 'kW & kWh', summation: 'kWh', demand: 'kW' },
    { code: 0x01, name: 'm³ & m³/h', summation: 'm³', demand: 'm³/h' },
    { code: 0x02, name: 'ft³ & ft³/h', summation: 'ft³', demand: 'ft³/h' },
    { code: 0x03, name: 'ccf & ccf/h', summation: 'ccf', demand: 'ccf/h' },
    { code: 0x04, name: 'US gal & US gal/h', summation: 'US gal', demand: 'US gal/h' },
    { code: 0x05, name: 'IMP gal & IMP gal/h', summation: 'IMP gal', demand: 'IMP gal/h' },
    { code: 0x06, name: 'BTU & BTU/h', summation: 'BTU', demand: 'BTU/h' },
    { code: 0x07, name: 'litre & l/h', summation: 'l', demand: 'l/h' },
    { code: 0x08, name: 'kPa (gauge)', summation: 'kPa', demand: 'kPa' },
    { code: 0x09, name: 'kPa (absolute)', summation: 'kPa', demand: 'kPa' },
];

/** Status attribute bits for an electricity meter (D.3.2.2.3.1); bit 7 is reserved. */
export const METER_STATUS_BITS = [
    { bit: 0, name: 'checkMeter' },
    { bit: 1, name: 'lowBattery' },
    { bit: 2, name: 'tamperDetect' },
    { bit: 3, name: 'powerFailure' },
    { bit: 4, name: 'powerQuality' },
    { bit: 5, name: 'leakDetect' },
    { bit: 6, name: 'serviceDisconnectOpen' },
    { bit: 7, name: 'reserved7' },
] as const;

export type MeterStatusFlag = (typeof METER_STATUS_BITS)[number]['name'];

/** MeteringDeviceType (D.3.2.2.4.7): SE 1.0 defines 0-3; 4-6 and the mirrored 128+ came later. */
export const METERING_DEVICE_TYPES: Readonly<Record<number, string>> = {
    0: 'Electric Metering',
    1: 'Gas Metering',
    2: 'Water Metering',
    3: 'Thermal Metering',
    4: 'Pressure Metering',
    5: 'Heat Metering',
    6: 'Cooling Metering',
    128: 'Mirrored Gas Metering',
    129: 'Mirrored Water Metering',
    130: 'Mirrored Thermal Metering',
    131: 'Mirrored Pressure Metering',
    132: 'Mirrored Heat Metering',
    133: 'Mirrored Cooling Metering',
};

/** SummationFormatting / DemandFormatting bit fields (D.3.2.2.4.4 and following). */
export const FORMATTING_BITS = {
    /** Bits 0-2: number of digits to the right of the decimal point. */
    digitsRight: { shift: 0, mask: 0x07 },
    /** Bits 3-6: number of digits to the left of the decimal point. */
    digitsLeft: { shift: 3, mask: 0x0f },
    /** Bit 7: suppress leading zeros (a display hint). */
    suppressLeadingZeros: { shift: 7, mask: 0x01 },
} as const;

/** OpenSEG (seed 004): the meter is queried "at rates up to once every 7 sec", never faster. */
export const MIN_POLL_INTERVAL_MS = 7000;
