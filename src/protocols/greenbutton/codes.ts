/**
 * ESPI code lists the gateway writes, as data. Every list in ESPI 4.0 (NAESB REQ.21, espi.xsd 4.0.20231213) is a
 * union of UInt16 and an enumeration; the values below are the enumeration entries we use, with the simpleType
 * they come from. Design note greenbutton-lwm2m A.2.3 has the wider tables.
 */

/** espi.xsd `ServiceKind` (UsagePoint/ServiceCategory/kind). */
export const SERVICE_KIND = { electricity: 0, gas: 1, water: 2, time: 3, heat: 4 } as const;

/** espi.xsd `AccumulationKind` (ReadingType/accumulationBehaviour). */
export const ACCUMULATION = {
    none: 0,
    bulkQuantity: 1,
    continuousCumulative: 2,
    cumulative: 3,
    deltaData: 4,
    indicating: 6,
    summation: 9,
    timeDelay: 10,
    instantaneous: 12,
    latchingQuantity: 13,
    boundedQuantity: 14,
} as const;

/** espi.xsd `CommodityKind` (ReadingType/commodity). */
export const COMMODITY = {
    none: 0,
    electricitySecondaryMetered: 1,
    electricityPrimaryMetered: 2,
    naturalGas: 7,
    potableWater: 9,
} as const;

/** espi.xsd `DataQualifierKind` (ReadingType/dataQualifier). */
export const DATA_QUALIFIER = { none: 0, average: 2, maximum: 8, minimum: 9, normal: 12, sum: 26 } as const;

/** espi.xsd `FlowDirectionKind` (ReadingType/flowDirection). */
export const FLOW_DIRECTION = { none: 0, forward: 1, net: 4, reverse: 19, total: 20 } as const;

/** espi.xsd `MeasurementKind` (ReadingType/kind). */
export const MEASUREMENT_KIND = {
    none: 0,
    current: 4,
    demand: 8,
    energy: 12,
    frequency: 15,
    power: 37,
    powerFactor: 38,
    temperature: 46,
    voltage: 54,
    volume: 58,
} as const;

/** espi.xsd `QualityOfReading` (ReadingQuality/quality, ReadingType/defaultQuality). */
export const QUALITY_OF_READING = {
    valid: 0,
    manuallyEdited: 7,
    estimatedReferenceDay: 8,
    estimatedLinear: 9,
    questionable: 10,
    derived: 11,
    projected: 12,
    mixed: 13,
    raw: 14,
    other: 16,
    validated: 17,
} as const;

/** espi.xsd `ESPIServiceStatus` (ServiceStatus/currentStatus). */
export const SERVICE_STATUS = { unavailable: 0, normal: 1 } as const;

/** espi.xsd `UnitMultiplierKind` (ReadingType/powerOfTenMultiplier): the exponents it lists. */
export const POWER_OF_TEN = [-12, -9, -6, -3, -2, -1, 0, 1, 2, 3, 6, 9, 12] as const;

/** Int48 (espi.xsd `Int48`): the range of IntervalReading/value. */
export const INT48_MAX = 2 ** 47 - 1;
export const INT48_MIN = -(2 ** 47);

export interface UnitRow {
    /** How flows write the unit. */
    symbol: string;
    /** espi.xsd `UnitSymbolKind` code. */
    uom: number;
    /** Power of ten from the ESPI unit to this symbol: kW is 3 (10^3 W). */
    exponent: number;
    /** The MeasurementKind and AccumulationKind a reading in this unit gets unless the flow says otherwise. */
    kind: number;
    accumulation: number;
    commodity: number;
    /** Names ESPI parsers show (`UnitSymbolKind` appinfo). */
    uomName: string;
}

const E = COMMODITY.electricitySecondaryMetered;
const row = (
    symbol: string,
    uom: number,
    exponent: number,
    kind: number,
    accumulation: number,
    uomName: string,
    commodity: number = E,
): UnitRow => ({ symbol, uom, exponent, kind, accumulation, commodity, uomName });

const I = ACCUMULATION.instantaneous;
const S = ACCUMULATION.summation;
const K = MEASUREMENT_KIND;

/**
 * Units a reading may carry, to `UnitSymbolKind` (espi.xsd) with the SI prefix as a power of ten. Demand units get
 * kind demand (8) and instantaneous (12), energy units kind energy (12) and summation (9): design note A.2.4, the
 * same codes IEEE 2030.5 meters use for Instantaneous Demand and Current Summation Delivered.
 */
export const UNITS: readonly UnitRow[] = [
    row('mW', 38, -3, K.demand, I, 'W'),
    row('W', 38, 0, K.demand, I, 'W'),
    row('kW', 38, 3, K.demand, I, 'W'),
    row('MW', 38, 6, K.demand, I, 'W'),
    row('Wh', 72, 0, K.energy, S, 'Wh'),
    row('kWh', 72, 3, K.energy, S, 'Wh'),
    row('MWh', 72, 6, K.energy, S, 'Wh'),
    row('VA', 61, 0, K.power, I, 'VA'),
    row('kVA', 61, 3, K.power, I, 'VA'),
    row('var', 63, 0, K.power, I, 'VAr'),
    row('kvar', 63, 3, K.power, I, 'VAr'),
    row('VAh', 71, 0, K.energy, S, 'VAh'),
    row('kVAh', 71, 3, K.energy, S, 'VAh'),
    row('varh', 73, 0, K.energy, S, 'VArh'),
    row('kvarh', 73, 3, K.energy, S, 'VArh'),
    row('V', 29, 0, K.voltage, I, 'V'),
    row('A', 5, 0, K.current, I, 'A'),
    row('Hz', 33, 0, K.frequency, I, 'Hz'),
    row('°C', 23, 0, K.temperature, I, 'degC', COMMODITY.none),
    row('m3', 42, 0, K.volume, S, 'm3', COMMODITY.none),
];

const BY_SYMBOL = new Map<string, UnitRow>();
for (const u of UNITS) BY_SYMBOL.set(u.symbol.toLowerCase(), u);
BY_SYMBOL.set('degc', BY_SYMBOL.get('°c') as UnitRow);
BY_SYMBOL.set('m³', BY_SYMBOL.get('m3') as UnitRow);

/**
 * The unit row for a symbol. Prefixes are case-sensitive where SI makes them so (mW against MW); other spellings
 * (kwh, KWH) are matched without case when that is unambiguous.
 */
export function unitRow(symbol: string): UnitRow | undefined {
    const exact = UNITS.find((u) => u.symbol === symbol);
    if (exact) return exact;
    const lower = symbol.trim().toLowerCase();
    if (lower === 'mw' || lower === 'mwh') return undefined; // milli or mega: refuse to guess
    return BY_SYMBOL.get(lower);
}

/** The time-zone rule encoding of espi.xsd `DstRuleType`: bit positions and the operators. */
export const DST_RULE = {
    disabled: 0xffffffff,
    secondsShift: 0,
    hourShift: 12,
    weekdayShift: 17,
    dayShift: 20,
    operatorShift: 25,
    monthShift: 28,
    /** Operator 0: on the day of the month; 2..6: the 1st..5th weekday of the month; 7: the last one. */
    operator: { dayOfMonth: 0, onOrAfter: 1, first: 2, last: 7 },
} as const;

/** Atom media types (GBA atom.xsd requires link/@type): `espi-entry/X` for a member, `espi-feed/X` for a collection. */
export const ATOM_NS = 'http://www.w3.org/2005/Atom';
export const ESPI_NS = 'http://naesb.org/espi';
export const ATOM_MEDIA_TYPE = 'application/atom+xml';
