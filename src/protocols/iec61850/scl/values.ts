import type { BasicType, Value } from '../model/types';
import { INT_RANGES, INT64_RANGE } from '../model/types';
import { CODED_ENUM_BITS, STRING_SIZES } from './tables';

/**
 * Val text (61850-6 §9.3 DAI/Val and §9.5 DA/Val, schema tVal) → model value, by the attribute's
 * basic type: BOOLEAN boolean (xs:boolean: true/false/1/0); INT8..INT32U number in range; INT64
 * number when a safe integer, bigint beyond 2^53; FLOAT32/64 number (xs:float/xs:double lexical
 * forms, INF/-INF/NaN included; FLOAT32 rounded to single precision); ENUMERATED the ord of the
 * literal in its EnumType (an ord written as a number is accepted when the EnumType has it);
 * Dbpos/Tcmd the 2-bit string of the literal; string types the text, within the bType's size.
 * Other types (Quality, Timestamp, Octet64, Check, EntryTime…) have no agreed text form here.
 */
export type ValResult = { value: Value } | { error: string } | { unsupported: true };

const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INTEGER = /^[+-]?[0-9]{1,25}$/;
const FLOAT32_MAX = 3.4028234663852886e38;

export function parseVal(
    type: BasicType,
    bType: string,
    raw: string,
    enumLiterals: ReadonlyMap<string, number> | undefined,
): ValResult {
    const text = raw.trim();
    const shown = `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
    const notA = (what: string = type): ValResult => ({ error: `Val ${shown} is not a valid ${what}` });
    switch (type) {
        case 'BOOLEAN':
            if (text === 'true' || text === '1') return { value: true };
            if (text === 'false' || text === '0') return { value: false };
            return notA();
        case 'INT64': {
            if (!INTEGER.test(text)) return notA();
            const b = BigInt(text);
            if (b < INT64_RANGE[0] || b > INT64_RANGE[1]) return { error: `Val ${shown} is out of range for INT64` };
            const n = Number(b);
            return { value: Number.isSafeInteger(n) ? n : b };
        }
        case 'INT8':
        case 'INT16':
        case 'INT32':
        case 'INT8U':
        case 'INT16U':
        case 'INT32U': {
            if (!INTEGER.test(text)) return notA();
            const [min, max] = INT_RANGES[type] as readonly [number, number];
            const n = Number(text);
            if (n < min || n > max) return { error: `Val ${shown} is out of range for ${bType} (${min}..${max})` };
            return { value: n };
        }
        case 'FLOAT32':
        case 'FLOAT64': {
            let n: number;
            if (text === 'INF' || text === '+INF') n = Number.POSITIVE_INFINITY;
            else if (text === '-INF') n = Number.NEGATIVE_INFINITY;
            else if (text === 'NaN') n = Number.NaN;
            else if (DECIMAL.test(text)) n = Number(text);
            else return notA();
            if (type === 'FLOAT32') {
                if (Number.isFinite(n) && Math.abs(n) > FLOAT32_MAX) {
                    return { error: `Val ${shown} is out of range for FLOAT32` };
                }
                n = Math.fround(n);
            }
            return { value: n };
        }
        case 'ENUMERATED': {
            const ord = enumLiterals?.get(text);
            if (ord !== undefined) return { value: ord };
            if (/^-?[0-9]{1,6}$/.test(text) && enumLiterals && [...enumLiterals.values()].includes(Number(text))) {
                return { value: Number(text) };
            }
            return { error: `Val ${shown} is not a literal of EnumType` };
        }
        case 'CODED ENUM': {
            const bits = CODED_ENUM_BITS[bType]?.[text];
            return bits === undefined ? notA(`${bType} literal`) : { value: bits };
        }
        case 'VISIBLE STRING':
        case 'UNICODE STRING':
        case 'ObjectName':
        case 'ObjectReference': {
            const size = STRING_SIZES[bType] ?? 255;
            const length = [...text].length;
            if (length > size) return { error: `Val is ${length} characters, more than the ${size} of ${bType}` };
            return { value: text };
        }
        default:
            return { unsupported: true };
    }
}
