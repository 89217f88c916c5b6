import { type CborValue, decodeCbor, encodeCbor } from './cbor';
import { Lwm2mError } from './errors';
import { type SenmlLimits, type SenmlRecord, senmlObjects, senmlRecords } from './senml-json';

/**
 * SenML CBOR (RFC 8428 §6, content format 112): the SenML JSON records with integer labels
 * (design note B.1.5: bn −2, bt −3, n 0, v 2, vs 3, vb 4, t 6, vd 8; `vlo` stays a text key)
 * and opaque values as byte strings.
 */

/** RFC 8428 Table 4: CBOR labels of the SenML keys LwM2M uses. */
export const SENML_CBOR_LABELS: Readonly<Record<string, number>> = Object.freeze({
    bver: -1,
    bn: -2,
    bt: -3,
    bu: -4,
    bv: -5,
    bs: -6,
    n: 0,
    u: 1,
    v: 2,
    vs: 3,
    vb: 4,
    s: 5,
    t: 6,
    ut: 7,
    vd: 8,
});

const KEY_OF = new Map<number, string>(Object.entries(SENML_CBOR_LABELS).map(([k, v]) => [v, k]));

/** Decodes a SenML CBOR pack into records (the same checks as SenML JSON). */
export function decodeSenmlCbor(bytes: Uint8Array, limits: SenmlLimits = {}): SenmlRecord[] {
    const maxBytes = limits.maxBytes ?? 1024 * 1024;
    if (bytes.length > maxBytes)
        throw new Lwm2mError('limit', `SenML pack of ${bytes.length} bytes exceeds ${maxBytes}`);
    const pack = decodeCbor(bytes, { maxItems: 20 * (limits.maxRecords ?? 10_000) });
    if (!Array.isArray(pack)) throw new Lwm2mError('malformed', 'a SenML pack is a CBOR array of maps');
    const objects = pack.map((m, i) => {
        if (!(m instanceof Map)) throw new Lwm2mError('malformed', `record ${i} is not a map`);
        const o: Record<string, unknown> = {};
        for (const [k, v] of m) {
            const key = typeof k === 'number' ? KEY_OF.get(k) : typeof k === 'string' ? k : undefined;
            if (key === undefined) {
                // RFC 8428 §6: negative labels below -6… and labels ending in _ must be understood.
                if ((typeof k === 'number' && k < 0) || (typeof k === 'string' && k.endsWith('_')))
                    throw new Lwm2mError('malformed', `record ${i}: label ${String(k)} must be understood and is not`);
                continue;
            }
            o[key] = v;
        }
        return o;
    });
    return senmlRecords(objects, limits, 'bytes');
}

/** Encodes records as a SenML CBOR pack. */
export function encodeSenmlCbor(records: readonly SenmlRecord[]): Uint8Array {
    const maps = senmlObjects(records, 'bytes').map(
        (o) =>
            new Map<CborValue, CborValue>(
                Object.entries(o).map(([k, v]) => [SENML_CBOR_LABELS[k] ?? k, v as CborValue]),
            ),
    );
    return encodeCbor(maps);
}
