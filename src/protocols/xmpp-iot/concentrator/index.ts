import type { ConcentratorCodec } from '../codec';
import { GENERATIONS, generationOf } from '../generations';
import type { Generation } from '../model';
import { G0_CONCENTRATOR, G1_CONCENTRATOR } from './g01';
import { g23Concentrator } from './g23';

/**
 * XEP-0326 concentrator codecs for the four generations (G0/G1: ./g01.ts; G2/G3: ./g23.ts).
 * Codecs hold no state: one instance per namespace serves every session.
 */

const BY_NS = new Map<string, ConcentratorCodec>([
    [G0_CONCENTRATOR.ns, G0_CONCENTRATOR],
    [G1_CONCENTRATOR.ns, G1_CONCENTRATOR],
]);
for (const g of ['G2', 'G3'] as const) {
    const n = GENERATIONS[g];
    for (const ns of [n.concentrator, ...n.aliases.concentrator]) BY_NS.set(ns, g23Concentrator(g, ns));
}

/** The codec of a generation, writing its main namespace (G3: `urn:nf:iot:concentrator:1.0`). */
export function concentratorCodec(generation: Generation): ConcentratorCodec {
    return BY_NS.get(GENERATIONS[generation].concentrator) as ConcentratorCodec;
}

/**
 * The codec for a concentrator namespace, or undefined for any other namespace (exact match). It writes
 * that very namespace, so that a device answers in the spelling of the request (`urn:nfi:` gets `urn:nfi:`).
 */
export function concentratorCodecFor(ns: string): ConcentratorCodec | undefined {
    return generationOf('concentrator', ns) === undefined ? undefined : BY_NS.get(ns);
}

export { CONCENTRATOR_COMMANDS } from './g01';
