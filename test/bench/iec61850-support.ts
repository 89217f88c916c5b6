/**
 * What the IEC 61850-8-2 benchmarks share: the shipped heat-pump model's text, waiting for an
 * association, and the check of a read MV (so that no benchmark can pass on wrong answers).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Iec61850Client } from '../../src/protocols/iec61850/client';
import type { ReadValue } from '../../src/protocols/iec61850/client/types';

/** The namespace of the IQ echo the benchmarks take as their baseline (as xmpp-iq-echo). */
export const NS_BENCH = 'urn:derlink:bench';

/** The attribute the benchmarks set on the IED and read back (inside `HP1LD/MMXN1.Watt[MX]`). */
export const WATT_REF = 'HP1LD/MMXN1.Watt.mag.f[MX]';

/** What IED `server`'s WATT_REF holds in poll cycle `cycle`: different per IED and per cycle, exact as FLOAT32. */
export const wattOf = (server: number, cycle: number): number => Math.fround(1000 + server + cycle * 0.5);

/** The 8-2 resource an IED's session binds. */
export const IEC_RESOURCE = 'IEC';

/** models/sdvp-heat-pump.icd (IED HP1, LD HP1LD). */
export const MODEL_TEXT = readFileSync(path.resolve(__dirname, '..', '..', 'models', 'sdvp-heat-pump.icd'), 'utf8');

/** Resolves when the client is associated; rejects when it closes or after `ms`. */
export function waitAssociated(client: Iec61850Client, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        let last: Error | undefined;
        const done = (err?: Error) => {
            clearTimeout(timer);
            client.off('state', onState);
            if (err) reject(err);
            else resolve();
        };
        const onState = (state: string, info: { error?: Error }) => {
            if (info.error) last = info.error;
            if (state === 'associated') done();
            else if (state === 'closed') done(new Error(`${what}: client closed${last ? `: ${last.message}` : ''}`));
        };
        const timer = setTimeout(
            () => done(new Error(`${what}: not associated within ${ms} ms${last ? `: ${last.message}` : ''}`)),
            ms,
        );
        client.on('state', onState);
    });
}

/** The MV's magnitude from a ReadValue of `...Watt[MX]`, whose `value` is the main attribute `mag`. */
export function magnitudeOf(read: ReadValue): number | undefined {
    const v = read.value;
    if (typeof v === 'number') return v;
    if (v !== null && typeof v === 'object' && typeof (v as { f?: unknown }).f === 'number') {
        return (v as { f: number }).f;
    }
    return undefined;
}

/**
 * Throws unless `read` is `reference` with magnitude `expected` (as FLOAT32); for the whole MV
 * (an FCD) also good quality and a timestamp.
 */
export function checkWatt(read: ReadValue, reference: string, expected: number): void {
    const mag = magnitudeOf(read);
    const fcd = !reference.includes('.mag');
    const wrong =
        read.reference !== reference ||
        read.fc !== 'MX' ||
        mag === undefined ||
        Math.fround(mag) !== Math.fround(expected) ||
        (fcd && (read.quality?.validity !== 'good' || typeof read.timestamp !== 'string'));
    if (wrong) {
        throw new Error(`GetDataValues ${reference} brought ${JSON.stringify(read)}; expected mag.f ${expected}`);
    }
}
