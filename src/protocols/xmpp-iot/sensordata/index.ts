import type { SensorDataCodec } from '../codec';
import { GENERATIONS, generationOf } from '../generations';
import type { Generation } from '../model';
import { Xep0323Codec } from './g01';
import { IotSensorDataCodec } from './g23';

export { Xep0323Codec } from './g01';
export { IotSensorDataCodec } from './g23';

/** One codec per namespace it writes (codecs are stateless). */
const cache = new Map<string, SensorDataCodec>();

function codecFor(generation: Generation, ns: string): SensorDataCodec {
    let codec = cache.get(ns);
    if (!codec) {
        codec =
            generation === 'G0' || generation === 'G1'
                ? new Xep0323Codec(generation)
                : new IotSensorDataCodec(generation, ns);
        cache.set(ns, codec);
    }
    return codec;
}

/** The sensor-data codec of a generation; it writes the generation's main namespace. */
export function sensorDataCodec(generation: Generation): SensorDataCodec {
    const g = Object.hasOwn(GENERATIONS, generation) ? GENERATIONS[generation] : undefined;
    if (!g) throw new Error(`Unknown XMPP IoT generation: ${String(generation)}`);
    return codecFor(generation, g.sensorData);
}

/**
 * The codec for an incoming element's namespace (exact match, aliases included), or undefined.
 * For an alias (G3 `urn:nfi:iot:sd:1.0`) it is a codec of that generation that writes the alias,
 * so that a device can answer in the namespace of the request.
 */
export function sensorDataCodecFor(ns: string): SensorDataCodec | undefined {
    const generation = generationOf('sensorData', ns);
    return generation ? codecFor(generation, ns) : undefined;
}
