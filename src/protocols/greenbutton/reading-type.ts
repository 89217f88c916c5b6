import {
    ACCUMULATION,
    DATA_QUALIFIER,
    FLOW_DIRECTION,
    INT48_MAX,
    INT48_MIN,
    POWER_OF_TEN,
    UNITS,
    type UnitRow,
    unitRow,
} from './codes';
import { EspiError } from './errors';

/** The ReadingType children we write, in the espi.xsd `ReadingType` sequence order (design note A.1.1). */
export interface ReadingTypeFields {
    accumulationBehaviour: number;
    commodity: number;
    dataQualifier: number;
    defaultQuality?: number;
    flowDirection: number;
    intervalLength: number;
    kind: number;
    phase: number;
    powerOfTenMultiplier: number;
    timeAttribute: number;
    uom: number;
}

/** The element order of espi.xsd's ReadingType sequence, for the fields above. */
export const READING_TYPE_ORDER: readonly (keyof ReadingTypeFields)[] = [
    'accumulationBehaviour',
    'commodity',
    'dataQualifier',
    'defaultQuality',
    'flowDirection',
    'intervalLength',
    'kind',
    'phase',
    'powerOfTenMultiplier',
    'timeAttribute',
    'uom',
];

/** What a flow (or a meter record) says about a series of readings. */
export interface SeriesSpec {
    /** The unit the values arrive in: W, kW, kWh, V... (see UNITS). */
    unit: string;
    /** The step of the source values in their own unit, e.g. 0.001 for kW read with a divisor of 1000. */
    resolution?: number;
    /** AccumulationKind name or code; the unit's default when absent. */
    accumulation?: keyof typeof ACCUMULATION | number;
    /** FlowDirectionKind name or code; forward when absent. */
    flowDirection?: keyof typeof FLOW_DIRECTION | number;
    /** Seconds each reading covers (interval data); 0 for instantaneous and register values. */
    intervalLength?: number;
    /** PhaseCodeKind; 0 when unknown. */
    phase?: number;
    /** MeasurementKind code; the unit's default when absent. */
    kind?: number;
    title?: string;
}

export interface DerivedReadingType {
    fields: ReadingTypeFields;
    unit: UnitRow;
    /** The power of ten from the ESPI unit (W, Wh) to an integer value step. */
    exponent: number;
}

/** Without a stated resolution, three decimals of the source unit are kept (1 W for kW, 1 mW for W). */
export const DEFAULT_DECIMALS = 3;

function code<T extends Record<string, number>>(table: T, v: keyof T | number | undefined, what: string): number {
    if (v === undefined) return -1;
    if (typeof v === 'number') {
        if (!Number.isInteger(v) || v < 0 || v > 0xffff)
            throw new EspiError('BAD_INPUT', `${what} ${v} is not a UInt16`);
        return v;
    }
    const c = Object.hasOwn(table, v) ? table[v] : undefined;
    if (c === undefined)
        throw new EspiError('BAD_INPUT', `${what} "${String(v)}" is not one of ${Object.keys(table).join(', ')}`);
    return c;
}

/** The largest exponent UnitMultiplierKind lists that is not coarser than `p`. */
function snapExponent(p: number): number {
    let best: number = POWER_OF_TEN[0];
    for (const e of POWER_OF_TEN) if (e <= p) best = e;
    return best;
}

/**
 * Derives a ReadingType from the source's unit and resolution, so the integer `value` keeps the source's
 * precision: kW read in steps of 0.001 becomes W with powerOfTenMultiplier 0; W with no stated resolution becomes
 * mW (-3). Codes for kind and accumulation come from the unit table (design note A.2.4) unless the spec sets them.
 */
export function deriveReadingType(spec: SeriesSpec): DerivedReadingType {
    if (typeof spec.unit !== 'string' || spec.unit.trim() === '')
        throw new EspiError('BAD_INPUT', 'A reading needs a unit (such as kW or kWh)');
    const unit = unitRow(spec.unit);
    if (!unit)
        throw new EspiError(
            'BAD_INPUT',
            `Unit "${spec.unit}" has no ESPI UnitSymbolKind here; use one of ${UNITS.map((u) => u.symbol).join(', ')}`,
        );
    let decimals = DEFAULT_DECIMALS;
    if (spec.resolution !== undefined) {
        if (!(typeof spec.resolution === 'number' && Number.isFinite(spec.resolution) && spec.resolution > 0))
            throw new EspiError('BAD_INPUT', `Resolution ${String(spec.resolution)} must be a positive number`);
        decimals = -Math.floor(Math.log10(spec.resolution) + 1e-9);
    }
    const exponent = snapExponent(Math.max(-12, Math.min(12, unit.exponent - decimals)));
    const accumulation = code(ACCUMULATION, spec.accumulation, 'accumulationBehaviour');
    const flow = code(FLOW_DIRECTION, spec.flowDirection, 'flowDirection');
    const intervalLength = spec.intervalLength ?? 0;
    if (!Number.isInteger(intervalLength) || intervalLength < 0 || intervalLength > 0xffffffff)
        throw new EspiError('BAD_INPUT', `intervalLength ${intervalLength} must be whole seconds (UInt32)`);
    const phase = spec.phase ?? 0;
    if (!Number.isInteger(phase) || phase < 0 || phase > 0xffff)
        throw new EspiError('BAD_INPUT', `phase ${phase} is not a UInt16`);
    const kind = spec.kind ?? unit.kind;
    if (!Number.isInteger(kind) || kind < 0 || kind > 0xffff)
        throw new EspiError('BAD_INPUT', `kind ${kind} is not a UInt16`);
    return {
        unit,
        exponent,
        fields: {
            accumulationBehaviour: accumulation >= 0 ? accumulation : unit.accumulation,
            commodity: unit.commodity,
            dataQualifier: DATA_QUALIFIER.normal,
            flowDirection: flow >= 0 ? flow : FLOW_DIRECTION.forward,
            intervalLength,
            kind,
            phase,
            powerOfTenMultiplier: exponent,
            timeAttribute: 0,
            uom: unit.uom,
        },
    };
}

/** A value in the source unit, in the ESPI base unit (W, Wh): kW × 10^3. */
export function toBase(value: number, unit: UnitRow): number {
    return value * 10 ** unit.exponent;
}

/**
 * The Int48 IntervalReading/value for a base-unit value under a ReadingType's powerOfTenMultiplier: the real
 * quantity is value × 10^powerOfTenMultiplier (GBA "powerOfTenMultiplier" note), so this is base ÷ 10^p, rounded.
 */
export function toInt48(base: number, exponent: number): number {
    const v = Math.round(exponent === 0 ? base : exponent > 0 ? base / 10 ** exponent : base * 10 ** -exponent);
    if (!Number.isFinite(v) || v > INT48_MAX || v < INT48_MIN)
        throw new EspiError('BAD_INPUT', `Value ${base} does not fit ESPI's Int48 at 10^${exponent}`);
    return v === 0 ? 0 : v; // no -0
}

/** True when two derived ReadingTypes write the same XML. */
export function sameFields(a: ReadingTypeFields, b: ReadingTypeFields): boolean {
    return READING_TYPE_ORDER.every((k) => a[k] === b[k]);
}
