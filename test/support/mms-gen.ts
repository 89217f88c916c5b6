import type { Data } from '../../src/protocols/iec61850/mms/data';

/** Seeded generators for MMS property tests (no fast-check in devDependencies). */

/** A single-precision floating-point Data (the value rounded to float32). */
export function single(value: number): Data {
    return { kind: 'floating-point', format: 'single', value: Math.fround(value) };
}

export function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export function generator(seed: number) {
    const rnd = mulberry32(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
    const big = (bits: number, signed: boolean): bigint => {
        const edge = signed ? [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 1n] : [0n, 2n ** 64n - 1n, 2n ** 32n - 1n, 255n];
        if (rnd() < 0.3) return pick(edge);
        let v = 0n;
        for (const b of bytes(bits / 8)) v = (v << 8n) | BigInt(b);
        return signed ? BigInt.asIntN(bits, v) : v;
    };
    const visible = () => String.fromCharCode(...Array.from({ length: int(12) }, () => 0x20 + int(95)));
    const unicode = () => {
        const pool = ['a', ' ', '\t', '\n', '\r', '\u0000', '\u0007', '\u001f', 'é', '€', '😀', '<', '&', ']]>', '"'];
        return Array.from({ length: int(10) }, () => pick(pool)).join('');
    };
    const scalar = (): Data => {
        switch (int(11)) {
            case 0:
                return { kind: 'boolean', value: rnd() < 0.5 };
            case 1:
                return {
                    kind: 'bit-string',
                    bits: Array.from({ length: int(20) }, () => (rnd() < 0.5 ? '0' : '1')).join(''),
                };
            case 2:
                return { kind: 'integer', value: big(64, true) };
            case 3:
                return { kind: 'unsigned', value: big(64, false) };
            case 4: {
                const specials = [0, -0, 2300, 45.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
                const b = bytes(4);
                const v = rnd() < 0.3 ? pick(specials) : new DataView(b.buffer).getFloat32(0);
                return single(v);
            }
            case 5: {
                const b = bytes(8);
                return { kind: 'floating-point', format: 'double', value: new DataView(b.buffer).getFloat64(0) };
            }
            case 6:
                return { kind: 'octet-string', value: bytes(int(10)) };
            case 7:
                return { kind: 'visible-string', value: visible() };
            case 8:
                return { kind: 'mMSString', value: unicode() };
            case 9:
                return rnd() < 0.5
                    ? { kind: 'binary-time', msOfDay: int(86_400_000) }
                    : { kind: 'binary-time', msOfDay: int(86_400_000), days: int(65536) };
            default:
                return {
                    kind: 'utc-time',
                    seconds: int(2 ** 32),
                    fraction: int(2 ** 24),
                    quality: {
                        leapSecondsKnown: rnd() < 0.5,
                        clockFailure: rnd() < 0.5,
                        clockNotSynchronized: rnd() < 0.5,
                        accuracy: int(32),
                    },
                };
        }
    };
    const tree = (depth: number): Data => {
        if (depth <= 1 || rnd() < 0.4) return scalar();
        const items = Array.from({ length: int(5) }, () => tree(depth - 1));
        return rnd() < 0.5 ? { kind: 'array', elements: items } : { kind: 'structure', components: items };
    };
    return tree;
}
