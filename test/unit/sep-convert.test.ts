/** SE Simple Metering conversions (design note zigbee-sep §4): decoding, sentinels, BCD, scaling sources, validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Zcl } from 'zigbee-herdsman';
import {
    ATTR,
    decodeBcd,
    decodeDemand,
    decodeFactor,
    decodeSummation,
    deviceTypeName,
    encodeBcd,
    isBcdUnit,
    METERING_ATTRIBUTES,
    parseFormatting,
    SIMPLE_METERING_CLUSTER,
    scale,
    statusFlags,
    unitNames,
    validate,
    ZCL_TYPE,
} from '../../src/protocols/sep';

describe('attribute table (075356r15 Annex D.3)', () => {
    it('matches zigbee-herdsman 11 seMetering IDs and ZCL types, name by name', () => {
        const cluster = Zcl.Utils.getCluster('seMetering', undefined, {});
        assert.equal(cluster.ID, SIMPLE_METERING_CLUSTER);
        for (const a of METERING_ATTRIBUTES) {
            const h = cluster.attributes[a.herdsmanName];
            assert.ok(h, `herdsman has ${a.herdsmanName}`);
            assert.equal(h.ID, a.id, a.seName);
            assert.equal(h.type, a.type, a.seName);
        }
    });

    it('carries the clause, the M/O use and unique IDs', () => {
        const ids = METERING_ATTRIBUTES.map((a) => a.id);
        assert.equal(new Set(ids).size, ids.length);
        const demand = METERING_ATTRIBUTES.find((a) => a.id === ATTR.InstantaneousDemand);
        assert.equal(demand?.typeName, 'int24');
        assert.equal(demand?.use, 'O');
        assert.match(demand?.clause ?? '', /^D\.3\.2\.2\.5/);
        const summ = METERING_ATTRIBUTES.find((a) => a.id === ATTR.CurrentSummationDelivered);
        assert.equal(summ?.use, 'M');
        assert.equal(summ?.type, ZCL_TYPE.uint48);
        assert.match(summ?.clause ?? '', /^D\.3\.2\.2\.1 \(Reading Information set\)/);
    });
});

describe('decodeSummation', () => {
    it('passes a binary uint48 through, from number, bigint and text', () => {
        assert.deepEqual(decodeSummation(123456789, 0x00, ZCL_TYPE.uint48), { ok: true, value: 123456789, bcd: false });
        assert.deepEqual(decodeSummation(123456789n, 0x00), { ok: true, value: 123456789, bcd: false });
        assert.deepEqual(decodeSummation('0x75BCD15', 0x00), { ok: true, value: 123456789, bcd: false });
        assert.deepEqual(decodeSummation(0xfffffffffffe), { ok: true, value: 0xfffffffffffe, bcd: false });
    });

    it('keeps 0xFFFFFFFFFFFF invalid (never 281474976710655)', () => {
        const d = decodeSummation(0xffffffffffff, 0x00, ZCL_TYPE.uint48);
        assert.equal(d.ok, false);
        assert.ok(!d.ok && /0xFFFFFFFFFFFF/.test(d.reason));
        assert.equal(decodeSummation(0xffffffffffffn).ok, false);
    });

    it('decodes BCD when unit & 0x80', () => {
        assert.equal(isBcdUnit(0x80), true);
        assert.equal(isBcdUnit(0x00), false);
        assert.equal(isBcdUnit(0xff), false, '0xFF is the enum8 non-value');
        assert.deepEqual(decodeSummation(0x001234567890, 0x80), { ok: true, value: 1234567890, bcd: true });
        assert.deepEqual(decodeSummation(0x999999999999, 0x80), { ok: true, value: 999999999999, bcd: true });
        const bad = decodeSummation(0x00000000001a, 0x80);
        assert.equal(bad.ok, false);
        assert.ok(!bad.ok && /bad BCD digit A/.test(bad.reason));
        assert.equal(encodeBcd(1234567890), 0x1234567890);
        assert.deepEqual(decodeBcd(encodeBcd(42), 12), { ok: true, value: 42, bcd: true });
    });

    it('refuses wrong types, text and negative numbers', () => {
        assert.match((decodeSummation(5, 0, 0x23) as { reason: string }).reason, /wrong type 0x23/);
        assert.match((decodeSummation('garbage', 0) as { reason: string }).reason, /wrong type: text/);
        assert.equal(decodeSummation(-1, 0).ok, false);
        assert.equal(decodeSummation(1.5, 0).ok, false);
        assert.equal(decodeSummation(undefined, 0).ok, false);
        assert.equal(decodeSummation(2 ** 49, 0).ok, false);
    });
});

describe('decodeDemand', () => {
    it('reads signed int24 and treats 0x800000 (and herdsman NaN) as invalid', () => {
        assert.deepEqual(decodeDemand(-250, 0, ZCL_TYPE.int24), { ok: true, value: -250, bcd: false });
        assert.deepEqual(decodeDemand(8388607, 0), { ok: true, value: 8388607, bcd: false });
        assert.equal(decodeDemand(-8388608, 0).ok, false);
        assert.equal(decodeDemand(Number.NaN, 0).ok, false);
        assert.equal(decodeDemand(0x800000, 0).ok, false, 'unsigned 0x800000 is the same sentinel');
        assert.deepEqual(decodeDemand(0xffff06, 0), { ok: true, value: -250, bcd: false }, 'sign-extends');
        assert.match((decodeDemand(1, 0, ZCL_TYPE.uint48) as { reason: string }).reason, /expected int24/);
    });

    it('reads six BCD digits when the unit is BCD', () => {
        assert.deepEqual(decodeDemand(0x001234, 0x80), { ok: true, value: 1234, bcd: true });
        assert.equal(decodeDemand(0x0000ff, 0x80).ok, false);
    });
});

describe('decodeFactor', () => {
    it('treats 0, 0xFFFFFF, wrong type and missing as not available', () => {
        assert.equal(decodeFactor(1000, ZCL_TYPE.uint24), 1000);
        assert.equal(decodeFactor(0), undefined);
        assert.equal(decodeFactor(0xffffff), undefined);
        assert.equal(decodeFactor(1000, ZCL_TYPE.uint48), undefined);
        assert.equal(decodeFactor(undefined), undefined);
    });
});

describe('scale: where the scaling came from', () => {
    it("meter: raw × multiplier ÷ divisor (design note's 987654321 → 987654.321 kWh)", () => {
        const s = scale(987654321, 1, 1000);
        assert.equal(s.source, 'meter');
        assert.equal(s.value, 987654.321);
        assert.equal(s.factor, 0.001);
        assert.equal(scale(2100, 1, 1000).value, 2.1);
        assert.equal(scale(-250, 3, 1000).value, -0.75);
    });

    it('override wins over the meter', () => {
        const s = scale(512000, 1, 512, { divisor: 1000 });
        assert.equal(s.source, 'override');
        assert.equal(s.value, 512);
        assert.equal(s.multiplier, 1);
        assert.equal(s.divisor, 1000);
    });

    it('formatting places the decimal point when multiplier or divisor is missing or zero', () => {
        const s = scale(123456, undefined, undefined, undefined, 0x2b); // 5 left, 3 right
        assert.equal(s.source, 'formatting');
        assert.equal(s.digitsRight, 3);
        assert.equal(s.value, 123.456);
        assert.equal(scale(123456, 1, 0, undefined, 0x02).value, 1234.56);
        assert.equal(scale(123456, 0, 10, undefined, 0x02).source, 'formatting');
    });

    it('unscaled when nothing is known', () => {
        assert.deepEqual(scale(42, undefined, undefined), { value: 42, factor: 1, source: 'unscaled' });
        assert.equal(scale(42, 1, 0).source, 'unscaled');
    });
});

describe('bit fields and names', () => {
    it('parseFormatting splits digits right, digits left and suppress-leading-zeros', () => {
        assert.deepEqual(parseFormatting(0xab), {
            raw: 0xab,
            digitsRight: 3,
            digitsLeft: 5,
            suppressLeadingZeros: true,
        });
        assert.deepEqual(parseFormatting(0x33), {
            raw: 0x33,
            digitsRight: 3,
            digitsLeft: 6,
            suppressLeadingZeros: false,
        });
    });

    it('statusFlags names the electricity bits', () => {
        assert.deepEqual(statusFlags(0), []);
        assert.deepEqual(statusFlags(0b0100_1001), ['checkMeter', 'powerFailure', 'serviceDisconnectOpen']);
        assert.deepEqual(statusFlags(0x04), ['tamperDetect']);
    });

    it('unit names, BCD variants and unknown codes', () => {
        assert.equal(unitNames(0x00).summation, 'kWh');
        assert.equal(unitNames(0x00).demand, 'kW');
        assert.equal(unitNames(0x80).bcd, true);
        assert.equal(unitNames(0x80).summation, 'kWh');
        assert.equal(unitNames(0x01).summation, 'm³');
        assert.equal(unitNames(0x42).name, 'unit-0x42');
        assert.equal(unitNames(undefined).name, 'unknown');
        assert.equal(deviceTypeName(0), 'Electric Metering');
        assert.equal(deviceTypeName(77), 'device-type-77');
    });
});

describe('validate', () => {
    const ok = (value: number) => ({ ok: true as const, value, bcd: false });

    it('sentinels make the sample invalid with a reason', () => {
        const v = validate({ decoded: { summation: decodeSummation(0xffffffffffff, 0), demand: ok(5) } });
        assert.equal(v.verdict, 'invalid');
        assert.equal(v.reasons.length, 1);
        assert.match(v.reasons[0] ?? '', /^summation: invalid value 0xFFFFFFFFFFFF/);
    });

    it('a summation below the last good one is suspect, equal or higher is good', () => {
        const prev = { summation: 100.5 };
        assert.equal(validate({ decoded: { summation: ok(100400) }, summation: 100.4 }, prev).verdict, 'suspect');
        assert.equal(validate({ decoded: { summation: ok(100500) }, summation: 100.5 }, prev).verdict, 'good');
        assert.equal(validate({ decoded: { summation: ok(100600) }, summation: 100.6 }, prev).verdict, 'good');
        assert.equal(validate({ decoded: { summation: ok(1) }, summation: 0.001 }).verdict, 'good', 'no baseline yet');
    });
});
