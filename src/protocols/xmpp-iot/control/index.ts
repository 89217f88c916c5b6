import type { ControlCodec } from '../codec';
import { GENERATIONS } from '../generations';
import type { Generation } from '../model';
import { G01ControlCodec } from './g01';
import { G23ControlCodec } from './g23';

export { G01ControlCodec } from './g01';
export { G23ControlCodec } from './g23';

/** Codecs are stateless: one per namespace spelling, made on first use. */
const byNs = new Map<string, ControlCodec>();

function make(generation: Generation, ns: string): ControlCodec {
    let codec = byNs.get(ns);
    if (!codec) {
        codec =
            generation === 'G0' || generation === 'G1'
                ? new G01ControlCodec(generation)
                : new G23ControlCodec(generation, ns);
        byNs.set(ns, codec);
    }
    return codec;
}

/** The control codec of a generation, writing its main namespace (G3: `urn:nf:iot:ctr:1.0`). */
export function controlCodec(generation: Generation): ControlCodec {
    return make(generation, GENERATIONS[generation].control);
}

/**
 * The control codec for a namespace a peer used, writing that same namespace (so that a device
 * answers `urn:nfi:iot:ctr:1.0` requests in kind); undefined for a namespace that is no
 * generation's control namespace (exact match).
 */
export function controlCodecFor(ns: string): ControlCodec | undefined {
    for (const g of Object.values(GENERATIONS)) {
        if (g.control === ns || g.aliases.control.includes(ns)) return make(g.generation, ns);
    }
    return undefined;
}
