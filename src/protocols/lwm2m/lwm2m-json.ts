import { Lwm2mError } from './errors';
import { parseJsonPayload, type SenmlLimits, type SenmlRecord, senmlRecords } from './senml-json';

/**
 * The LwM2M 1.0 JSON format (content format 11543, OMA-TS-LightweightM2M-V1_0 §6.4.4; design
 * note B.1.5), decoding only: `{"bn":"/3/0/","bt":…,"e":[{"n":"0","sv":"…"},{"n":"1","v":1.2},
 * {"n":"2","bv":true},{"n":"3","ov":"3:0"}]}`. Strings (and base64 opaque) come in `sv`; the
 * resource definition says which. Records come out as SenML records.
 */
export function decodeLwm2mJson(text: string | Uint8Array, limits: SenmlLimits = {}): SenmlRecord[] {
    const doc = parseJsonPayload(text, limits.maxBytes ?? 1024 * 1024, 'LwM2M JSON');
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
        throw new Lwm2mError('malformed', 'LwM2M JSON is an object with bn and e');
    const o = doc as Record<string, unknown>;
    if (o.bn !== undefined && typeof o.bn !== 'string') throw new Lwm2mError('malformed', 'bn must be text');
    if (o.bt !== undefined && typeof o.bt !== 'number') throw new Lwm2mError('malformed', 'bt must be a number');
    if (!Array.isArray(o.e)) throw new Lwm2mError('malformed', "LwM2M JSON needs an 'e' array of records");
    const renamed = o.e.map((raw, i) => {
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
            throw new Lwm2mError('malformed', `record ${i} is not an object`);
        const r = raw as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        if (i === 0) {
            if (o.bn !== undefined) out.bn = o.bn;
            if (o.bt !== undefined) out.bt = o.bt;
        }
        for (const [k, v] of Object.entries(r)) {
            if (k === 'n' || k === 'v' || k === 't') out[k] = v;
            else if (k === 'sv') out.vs = v;
            else if (k === 'bv') out.vb = v;
            else if (k === 'ov') out.vlo = v;
            else throw new Lwm2mError('malformed', `record ${i}: unknown key '${k}'`);
        }
        return out;
    });
    return senmlRecords(renamed, limits, 'base64url');
}
