/** Green Button core model (design note greenbutton-lwm2m part A): ids, local time, ReadingTypes, history, readings. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
    DST_RULE,
    deriveReadingType,
    EspiError,
    FileHistoryStore,
    History,
    hex32,
    INT48_MAX,
    INT48_MIN,
    localDayStart,
    localTimeParameters,
    MAX_CAPACITY,
    offsetAt,
    parseTime,
    ReadingRing,
    toInt48,
    unitRow,
    uuidV5Url,
} from '../../src/protocols/greenbutton';
import { qualityCode, readingsFromMessage } from '../../src/shared/greenbutton-msg';
import { espiRefused } from '../support/espi';

/** The bit fields of espi.xsd DstRuleType. */
function decodeRule(rule: number) {
    return {
        seconds: rule & 0xfff,
        hour: (rule >>> 12) & 0x1f,
        weekday: (rule >>> 17) & 0x7,
        dayOfMonth: (rule >>> 20) & 0x1f,
        operator: (rule >>> 25) & 0x7,
        month: (rule >>> 28) & 0xf,
    };
}

describe('uuidV5Url (RFC 4122 §4.3, design note A.2.2)', () => {
    it('gives the design note vector for a ReadingType href', () => {
        assert.equal(
            uuidV5Url('https://gw.local:8443/espi/1_1/resource/ReadingType/1'),
            '97666b21-9b02-51e5-acca-b1b1325177f1',
        );
    });

    it('sets version 5 and the RFC 4122 variant, is stable and differs per name', () => {
        const names = [
            'https://gw.local:8443/espi/1_1/resource/ReadingType/2',
            'https://gw.local:8443/espi/1_1/resource/LocalTimeParameters/1',
            'https://gw.local:8443/espi/1_1/resource/Subscription/1/UsagePoint/1',
            '',
            'ünïcödé',
        ];
        const ids = names.map((n) => uuidV5Url(n));
        for (const [i, id] of ids.entries()) {
            assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, names[i]);
            assert.equal(uuidV5Url(names[i] as string), id, 'same name, same id');
        }
        assert.equal(new Set(ids).size, ids.length);
        assert.notEqual(uuidV5Url('https://gw.local:8443/x'), uuidV5Url('https://gw.local:8443/X'));
    });
});

describe('localTimeParameters (espi.xsd TimeConfiguration, DstRuleType)', () => {
    it('gives the GBA sample values for America/New_York', () => {
        const p = localTimeParameters('America/New_York', 2025);
        assert.equal(p.zone, 'America/New_York');
        assert.equal(p.tzOffset, -18000);
        assert.equal(p.dstOffset, 3600);
        assert.equal(p.dstStartRule, 0x360e2000);
        assert.equal(p.dstEndRule, 0xb40e2000);
        assert.equal(hex32(p.dstStartRule), '360E2000');
        assert.equal(hex32(p.dstEndRule), 'B40E2000');
        // second Sunday of March 02:00, first Sunday of November 02:00
        assert.deepEqual(decodeRule(p.dstStartRule), {
            seconds: 0,
            hour: 2,
            weekday: 7,
            dayOfMonth: 0,
            operator: 3,
            month: 3,
        });
        assert.deepEqual(decodeRule(p.dstEndRule), {
            seconds: 0,
            hour: 2,
            weekday: 7,
            dayOfMonth: 0,
            operator: 2,
            month: 11,
        });
    });

    it('encodes Europe/Oslo as the last Sunday of March 02:00 and of October 03:00 local', () => {
        const p = localTimeParameters('Europe/Oslo', 2025);
        assert.equal(p.tzOffset, 3600);
        assert.equal(p.dstOffset, 3600);
        assert.deepEqual(decodeRule(p.dstStartRule), {
            seconds: 0,
            hour: 2,
            weekday: 7,
            dayOfMonth: 0,
            operator: DST_RULE.operator.last,
            month: 3,
        });
        assert.deepEqual(decodeRule(p.dstEndRule), {
            seconds: 0,
            hour: 3,
            weekday: 7,
            dayOfMonth: 0,
            operator: DST_RULE.operator.last,
            month: 10,
        });
        assert.equal(hex32(p.dstStartRule), '3E0E2000');
        assert.equal(hex32(p.dstEndRule), 'AE0E3000');
        // 2025-03-30 01:00 UTC is that Sunday at 02:00 CET
        assert.equal(offsetAt('Europe/Oslo', Date.UTC(2025, 2, 30, 0, 59, 59)), 3600);
        assert.equal(offsetAt('Europe/Oslo', Date.UTC(2025, 2, 30, 1, 0, 0)), 7200);
    });

    it('handles the southern hemisphere: Australia/Sydney starts in October and ends in April', () => {
        const p = localTimeParameters('Australia/Sydney', 2025);
        assert.equal(p.tzOffset, 36000);
        assert.equal(p.dstOffset, 3600);
        const start = decodeRule(p.dstStartRule);
        const end = decodeRule(p.dstEndRule);
        assert.deepEqual(start, { seconds: 0, hour: 2, weekday: 7, dayOfMonth: 0, operator: 2, month: 10 });
        assert.deepEqual(end, { seconds: 0, hour: 3, weekday: 7, dayOfMonth: 0, operator: 2, month: 4 });
    });

    it('disables DST (FFFFFFFF, offset 0) where there is none', () => {
        for (const [zone, tz] of [
            ['UTC', 0],
            ['Asia/Tokyo', 32400],
            ['Asia/Kolkata', 19800],
        ] as const) {
            const p = localTimeParameters(zone, 2025);
            assert.equal(p.tzOffset, tz, zone);
            assert.equal(p.dstOffset, 0, zone);
            assert.equal(p.dstStartRule, 0xffffffff, zone);
            assert.equal(p.dstEndRule, 0xffffffff, zone);
            assert.equal(hex32(p.dstStartRule), 'FFFFFFFF');
        }
    });

    it('refuses an unknown zone with BAD_INPUT', () => {
        espiRefused(() => localTimeParameters('Mars/Olympus_Mons', 2025), 'BAD_INPUT', /Mars\/Olympus_Mons/);
        espiRefused(() => localDayStart('Nowhere/Else', 0), 'BAD_INPUT', /IANA/);
    });
});

describe('localDayStart', () => {
    const H = 3_600_000;

    it('finds local midnight on ordinary days and across a DST change', () => {
        // New York, 2025-06-01 15:00 EDT → midnight EDT = 04:00 UTC
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 5, 1, 19)), Date.UTC(2025, 5, 1, 4));
        // Spring forward 2025-03-09 (a 23-hour day): it starts at 05:00 UTC (midnight EST)
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 2, 9, 20)), Date.UTC(2025, 2, 9, 5));
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 2, 10, 3, 59)), Date.UTC(2025, 2, 9, 5));
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 2, 10, 4)), Date.UTC(2025, 2, 10, 4));
        // Fall back 2025-11-02 (a 25-hour day): it starts at 04:00 UTC (midnight EDT), even after the change
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 10, 2, 3, 30)), Date.UTC(2025, 10, 1, 4));
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 10, 2, 12)), Date.UTC(2025, 10, 2, 4));
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 10, 3, 4, 59)), Date.UTC(2025, 10, 2, 4));
        assert.equal(localDayStart('America/New_York', Date.UTC(2025, 10, 3, 5)), Date.UTC(2025, 10, 3, 5));
        // Oslo, the day of the spring change: midnight CET is 23:00 UTC the day before
        assert.equal(localDayStart('Europe/Oslo', Date.UTC(2025, 2, 30, 12)), Date.UTC(2025, 2, 29, 23));
        assert.equal(localDayStart('Europe/Oslo', Date.UTC(2025, 2, 29, 23, 30)), Date.UTC(2025, 2, 29, 23));
    });

    it('returns the first instant of the local day for every quarter hour of 2025', () => {
        // Santiago springs forward at midnight (the day starts at 01:00); Havana falls back at 01:00 to
        // 00:00 (midnight happens twice, the day starts at the first one).
        for (const zone of [
            'America/New_York',
            'Europe/Oslo',
            'Australia/Sydney',
            'America/Santiago',
            'America/Havana',
        ]) {
            const f = new Intl.DateTimeFormat('en-CA', {
                timeZone: zone,
                year: 'numeric',
                month: '2-digit',
                day: '2-digit',
            });
            const wrong: string[] = [];
            for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2026, 0, 1); t += H / 4) {
                const s = localDayStart(zone, t);
                const ok = s <= t && f.format(s) === f.format(t) && f.format(s - 1000) !== f.format(t);
                if (!ok) wrong.push(`${new Date(t).toISOString()} → ${new Date(s).toISOString()}`);
            }
            assert.deepEqual(wrong.slice(0, 3), [], `${zone}: ${wrong.length} wrong day starts`);
        }
    });
});

describe('deriveReadingType (design note A.2.4)', () => {
    it('kW at 0.001 is W with multiplier 0, demand, instantaneous', () => {
        const d = deriveReadingType({ unit: 'kW', resolution: 0.001 });
        assert.deepEqual(d.fields, {
            accumulationBehaviour: 12,
            commodity: 1,
            dataQualifier: 12,
            flowDirection: 1,
            intervalLength: 0,
            kind: 8,
            phase: 0,
            powerOfTenMultiplier: 0,
            timeAttribute: 0,
            uom: 38,
        });
        assert.equal(d.exponent, 0);
    });

    it('kWh at 0.001 is Wh with multiplier 0, energy, summation', () => {
        const f = deriveReadingType({ unit: 'kWh', resolution: 0.001 }).fields;
        assert.equal(f.uom, 72);
        assert.equal(f.powerOfTenMultiplier, 0);
        assert.equal(f.accumulationBehaviour, 9);
        assert.equal(f.kind, 12);
        assert.equal(f.flowDirection, 1);
    });

    it('chooses the multiplier from unit and resolution', () => {
        assert.equal(deriveReadingType({ unit: 'W' }).fields.powerOfTenMultiplier, -3);
        assert.equal(deriveReadingType({ unit: 'kW' }).fields.powerOfTenMultiplier, 0);
        assert.equal(deriveReadingType({ unit: 'MWh', resolution: 1 }).fields.powerOfTenMultiplier, 6);
        assert.equal(deriveReadingType({ unit: 'kWh', resolution: 0.01 }).fields.powerOfTenMultiplier, 1);
        assert.equal(deriveReadingType({ unit: 'W', resolution: 1000 }).fields.powerOfTenMultiplier, 3);
        // 0.0001 kW is 0.1 W: 10^-1 (deci) is in UnitMultiplierKind
        assert.equal(deriveReadingType({ unit: 'kW', resolution: 0.0001 }).fields.powerOfTenMultiplier, -1);
        // 10^-4 W is not listed: snap to the finer 10^-6
        assert.equal(deriveReadingType({ unit: 'W', resolution: 0.0001 }).fields.powerOfTenMultiplier, -6);
    });

    it('takes accumulation, flow direction, interval, phase and kind from the spec', () => {
        const f = deriveReadingType({
            unit: 'kWh',
            resolution: 0.001,
            accumulation: 'deltaData',
            flowDirection: 'reverse',
            intervalLength: 900,
            phase: 769,
            kind: 12,
        }).fields;
        assert.equal(f.accumulationBehaviour, 4);
        assert.equal(f.flowDirection, 19);
        assert.equal(f.intervalLength, 900);
        assert.equal(f.phase, 769);
        assert.equal(deriveReadingType({ unit: 'kW', accumulation: 1, flowDirection: 4 }).fields.flowDirection, 4);
    });

    it('matches units without case only when that is unambiguous', () => {
        assert.equal(unitRow('kwh')?.symbol, 'kWh');
        assert.equal(unitRow('KWH')?.symbol, 'kWh');
        assert.equal(unitRow('mW')?.exponent, -3);
        assert.equal(unitRow('MW')?.exponent, 6);
        assert.equal(unitRow('mw'), undefined);
        assert.equal(unitRow('MWH'), undefined);
        espiRefused(() => deriveReadingType({ unit: 'mw' }), 'BAD_INPUT', /Unit "mw"/);
        espiRefused(() => deriveReadingType({ unit: 'MWH' }), 'BAD_INPUT', /Unit "MWH"/);
    });

    it('refuses an unknown unit with a list of the known ones', () => {
        espiRefused(() => deriveReadingType({ unit: 'furlong' }), 'BAD_INPUT', /"furlong".*kW, .*kWh/);
        espiRefused(() => deriveReadingType({ unit: '' }), 'BAD_INPUT', /needs a unit/);
    });

    it('refuses a bad resolution, interval length, phase or kind', () => {
        for (const resolution of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
            espiRefused(() => deriveReadingType({ unit: 'kW', resolution }), 'BAD_INPUT', /Resolution/);
        for (const intervalLength of [-1, 1.5, 2 ** 32])
            espiRefused(() => deriveReadingType({ unit: 'kW', intervalLength }), 'BAD_INPUT', /intervalLength/);
        espiRefused(() => deriveReadingType({ unit: 'kW', phase: 70000 }), 'BAD_INPUT', /phase/);
        espiRefused(() => deriveReadingType({ unit: 'kW', kind: -1 }), 'BAD_INPUT', /kind/);
    });

    it('refuses accumulation and flow direction names that are not in the table', () => {
        espiRefused(
            () => deriveReadingType({ unit: 'kW', accumulation: 'sometimes' as never }),
            'BAD_INPUT',
            /accumulationBehaviour "sometimes" is not one of .*summation/,
        );
        espiRefused(
            () => deriveReadingType({ unit: 'kW', flowDirection: 'sideways' as never }),
            'BAD_INPUT',
            /flowDirection "sideways"/,
        );
        espiRefused(() => deriveReadingType({ unit: 'kW', accumulation: 1.5 }), 'BAD_INPUT', /UInt16/);
        espiRefused(() => deriveReadingType({ unit: 'kW', flowDirection: 65536 }), 'BAD_INPUT', /UInt16/);
    });

    it('refuses names inherited from Object.prototype (constructor, toString)', () => {
        // Flows set these from msg.espi; an inherited property must not pass for a code.
        espiRefused(
            () => deriveReadingType({ unit: 'kW', accumulation: 'constructor' as never }),
            'BAD_INPUT',
            /accumulationBehaviour "constructor"/,
        );
        espiRefused(
            () => deriveReadingType({ unit: 'kW', flowDirection: 'toString' as never }),
            'BAD_INPUT',
            /flowDirection "toString"/,
        );
    });
});

describe('toInt48', () => {
    it('rounds to an integer under the multiplier', () => {
        assert.equal(toInt48(1234.4, 0), 1234);
        assert.equal(toInt48(1234.5, 0), 1235);
        assert.equal(toInt48(1.2345, -3), 1235);
        assert.equal(toInt48(12_345_678, 3), 12_346);
        assert.equal(toInt48(-2500.4, 0), -2500);
        assert.equal(toInt48(0.1 + 0.2, -1), 3);
    });

    it('never writes -0', () => {
        assert.ok(Object.is(toInt48(-0.4, 0), 0));
        assert.ok(Object.is(toInt48(-0, 0), 0));
        assert.ok(Object.is(toInt48(-0.0004, -3), 0));
    });

    it('refuses what does not fit Int48', () => {
        assert.equal(toInt48(INT48_MAX, 0), INT48_MAX);
        assert.equal(toInt48(INT48_MIN, 0), INT48_MIN);
        espiRefused(() => toInt48(INT48_MAX + 1, 0), 'BAD_INPUT', /Int48/);
        espiRefused(() => toInt48(INT48_MIN - 1, 0), 'BAD_INPUT', /Int48/);
        espiRefused(() => toInt48(2 ** 40, -3), 'BAD_INPUT', /Int48 at 10\^-3/);
        espiRefused(() => toInt48(Number.NaN, 0), 'BAD_INPUT', /Int48/);
    });
});

describe('ReadingRing', () => {
    it('wraps at capacity keeping the newest, oldest first', () => {
        const r = new ReadingRing(3);
        for (let i = 1; i <= 5; i++) r.push({ time: i * 1000, value: i * 10 });
        assert.equal(r.length, 3);
        assert.deepEqual(
            [0, 1, 2].map((i) => r.at(i)),
            [
                { time: 3000, value: 30 },
                { time: 4000, value: 40 },
                { time: 5000, value: 50 },
            ],
        );
        assert.deepEqual(r.latest(), { time: 5000, value: 50 });
        assert.equal(new ReadingRing(2).latest(), undefined);
    });

    it('replaces the latest reading of the same second', () => {
        const r = new ReadingRing(3);
        r.push({ time: 1000, value: 1 });
        r.push({ time: 2000, value: 2, quality: 10 });
        r.push({ time: 2000, value: 3 });
        assert.equal(r.length, 2);
        assert.deepEqual(r.latest(), { time: 2000, value: 3 });
    });

    it('answers range, count and lowerBound at the boundaries', () => {
        const r = new ReadingRing(4);
        for (let i = 1; i <= 6; i++) r.push({ time: i * 1000, value: i }); // keeps 3..6 s
        assert.equal(r.lowerBound(0), 0);
        assert.equal(r.lowerBound(3000), 0);
        assert.equal(r.lowerBound(3001), 1);
        assert.equal(r.lowerBound(6000), 3);
        assert.equal(r.lowerBound(6001), 4);
        assert.deepEqual(
            [...r.range(4000, 6000)].map((x) => x.time),
            [4000, 5000],
        );
        assert.deepEqual(
            [...r.range(0, 100_000)].map((x) => x.value),
            [3, 4, 5, 6],
        );
        assert.deepEqual([...r.range(6001, 9000)], []);
        assert.deepEqual([...r.range(5000, 5000)], []);
        assert.equal(r.count(4000, 6000), 2);
        assert.equal(r.count(0, 6001), 4);
        assert.equal(r.count(7000, 8000), 0);
    });
});

describe('History', () => {
    const kW = { unit: 'kW', resolution: 0.001 };

    it('refuses a capacity outside 1..1,000,000 or not whole', () => {
        for (const capacity of [0, MAX_CAPACITY + 1, 1.5, -1, Number.NaN])
            espiRefused(() => new History({ capacity }), 'BAD_INPUT', /History size/);
        assert.equal(new History({ capacity: MAX_CAPACITY }).capacity, MAX_CAPACITY);
        assert.equal(new History({ capacity: 1 }).capacity, 1);
    });

    it('keeps values in W/Wh, whole seconds, and the newest when full', () => {
        const h = new History({ capacity: 3, now: () => 0 });
        for (let i = 0; i < 5; i++) h.add('demand', kW, { time: 1_000_000 + i * 7000 + 250, value: 1.5 + i });
        const s = h.byKey('demand');
        assert.ok(s);
        assert.equal(s.ring.length, 3);
        assert.deepEqual(s.ring.at(0), { time: 1_014_000, value: 3500 });
        assert.deepEqual(s.ring.latest(), { time: 1_028_000, value: 5500 });
        assert.equal(h.updatedAt, 1_028_000);
    });

    it('replaces a reading of the same second and refuses an older one without changing anything', () => {
        const h = new History({ capacity: 10, now: () => 0 });
        h.add('demand', kW, { time: 10_000, value: 1 });
        h.add('demand', kW, { time: 10_900, value: 2, quality: 10 });
        const s = h.byKey('demand');
        assert.ok(s);
        assert.equal(s.ring.length, 1);
        assert.deepEqual(s.ring.latest(), { time: 10_000, value: 2000, quality: 10 });
        espiRefused(() => h.add('demand', kW, { time: 9_000, value: 3 }), 'BAD_INPUT', /older than the latest/);
        assert.equal(s.ring.length, 1);
        assert.deepEqual(s.ring.latest(), { time: 10_000, value: 2000, quality: 10 });
        assert.equal(h.updatedAt, 10_000);
    });

    it('leaves the ReadingType alone when an older reading in a new unit is refused', () => {
        const h = new History({ capacity: 10 });
        h.add('demand', kW, { time: 10_000, value: 1 });
        const s = h.byKey('demand');
        assert.ok(s);
        const before = { unit: s.spec.unit, p: s.derived.fields.powerOfTenMultiplier, t: s.typeUpdatedAt };
        espiRefused(() => h.add('demand', { unit: 'W' }, { time: 5_000, value: 3 }), 'BAD_INPUT', /older/);
        assert.deepEqual(
            { unit: s.spec.unit, p: s.derived.fields.powerOfTenMultiplier, t: s.typeUpdatedAt },
            before,
            'a refused reading must not rewrite the series ReadingType',
        );
    });

    it('refuses a non-finite time or value', () => {
        const h = new History({ capacity: 10 });
        espiRefused(() => h.add('a', kW, { time: Number.NaN, value: 1 }), 'BAD_INPUT', /time/);
        espiRefused(() => h.add('a', kW, { time: 1000, value: Number.POSITIVE_INFINITY }), 'BAD_INPUT', /value/);
        assert.equal(h.list().length, 0);
    });

    it('gives series ids in order of first appearance', () => {
        const h = new History({ capacity: 10 });
        h.add('summation-delivered', { unit: 'kWh' }, { time: 1000, value: 1 });
        h.add('demand', kW, { time: 1000, value: 1 });
        h.add('summation-delivered', { unit: 'kWh' }, { time: 2000, value: 2 });
        h.add('voltage', { unit: 'V', title: 'Mains' }, { time: 2000, value: 230 });
        assert.deepEqual(
            h.list().map((s) => [s.id, s.key, s.title]),
            [
                ['1', 'summation-delivered', 'summation-delivered'],
                ['2', 'demand', 'demand'],
                ['3', 'voltage', 'Mains'],
            ],
        );
        assert.equal(h.byId('2')?.key, 'demand');
        assert.equal(h.byId('4'), undefined);
    });

    it('updates the ReadingType and typeUpdatedAt when the unit or resolution changes', () => {
        const h = new History({ capacity: 10 });
        const s = h.add('demand', kW, { time: 1_000, value: 1 });
        assert.equal(s.typeUpdatedAt, 1_000);
        h.add('demand', { unit: 'kW', resolution: 0.001 }, { time: 2_000, value: 1 });
        assert.equal(s.typeUpdatedAt, 1_000, 'same spec, same type');
        h.add('demand', { unit: 'W', resolution: 1 }, { time: 3_000, value: 900 });
        assert.equal(s.typeUpdatedAt, 1_000, 'W at 1 writes the same XML as kW at 0.001');
        assert.equal(s.spec.unit, 'W');
        h.add('demand', { unit: 'W' }, { time: 4_000, value: 1.25 });
        assert.equal(s.typeUpdatedAt, 4_000);
        assert.equal(s.derived.fields.powerOfTenMultiplier, -3);
        assert.deepEqual(s.ring.latest(), { time: 4_000, value: 1.25 });
        assert.deepEqual(s.ring.at(2), { time: 3_000, value: 900 });
    });
});

describe('FileHistoryStore', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-history-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('round-trips ids, values, quality and createdAt, and keeps the newest on a smaller reload', () => {
        const file = path.join(dir, 'a', 'history.json');
        const h = new History({ capacity: 5, store: new FileHistoryStore(file), saveEveryMs: 0, now: () => 42_500 });
        assert.equal(h.createdAt, 42_000);
        for (let i = 0; i < 4; i++) {
            h.add('demand', { unit: 'kW', resolution: 0.001 }, { time: 100_000 + i * 1000, value: -1.25 + i });
            h.add(
                'energy',
                { unit: 'kWh' },
                { time: 100_000 + i * 1000, value: 10 + i, quality: i === 2 ? 10 : undefined },
            );
        }
        assert.equal(fs.existsSync(file), false, 'saveEveryMs 0 writes only on flush');
        h.flush();
        assert.deepEqual(
            fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')),
            [],
        );

        const again = new History({ capacity: 5, store: new FileHistoryStore(file), now: () => 999_999_000 });
        assert.equal(again.createdAt, 42_000);
        assert.equal(again.updatedAt, 103_000);
        assert.deepEqual(
            again.list().map((s) => [s.id, s.key, s.spec.unit, s.createdAt]),
            [
                ['1', 'demand', 'kW', 100_000],
                ['2', 'energy', 'kWh', 100_000],
            ],
        );
        const e = again.byId('2');
        assert.ok(e);
        assert.deepEqual(
            [...e.ring.range(0, Number.MAX_SAFE_INTEGER)],
            [
                { time: 100_000, value: 10_000 },
                { time: 101_000, value: 11_000 },
                { time: 102_000, value: 12_000, quality: 10 },
                { time: 103_000, value: 13_000 },
            ],
        );
        assert.deepEqual(again.byId('1')?.ring.at(0), { time: 100_000, value: -1250 });
        // a new series keeps counting after the stored ones
        assert.equal(again.add('voltage', { unit: 'V' }, { time: 104_000, value: 230 }).id, '3');

        const small = new History({ capacity: 2, store: new FileHistoryStore(file) });
        assert.deepEqual(
            [...(small.byId('1')?.ring.range(0, Number.MAX_SAFE_INTEGER) ?? [])].map((r) => r.time),
            [102_000, 103_000],
        );
    });

    it('starts empty when there is no file, and a flush writes it', () => {
        const file = path.join(dir, 'none.json');
        const store = new FileHistoryStore(file);
        assert.equal(store.load(), undefined);
        const h = new History({ capacity: 2, store, saveEveryMs: 0, now: () => 5000 });
        h.flush();
        assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { version: 1, createdAt: 5000, series: [] });
    });

    it('reports a damaged file as STORE', () => {
        const file = path.join(dir, 'damaged.json');
        fs.writeFileSync(file, '{"version":1,"series":[{"id":"1"');
        espiRefused(() => new History({ capacity: 5, store: new FileHistoryStore(file) }), 'STORE', /damaged/);
        fs.writeFileSync(file, '{"version":2,"series":[]}');
        espiRefused(() => new FileHistoryStore(file).load(), 'STORE', /not a version 1 snapshot/);
        fs.writeFileSync(file, 'null');
        espiRefused(() => new FileHistoryStore(file).load(), 'STORE', /damaged/);
    });

    it('reports a snapshot whose series are malformed as STORE, not a TypeError', () => {
        const file = path.join(dir, 'malformed.json');
        fs.writeFileSync(file, JSON.stringify({ version: 1, createdAt: 0, series: [{ id: '1', key: 'demand' }] }));
        assert.throws(
            () => new History({ capacity: 5, store: new FileHistoryStore(file) }),
            (e: unknown) => e instanceof EspiError && e.code === 'STORE',
        );
    });

    it('writes atomically: the rename leaves no temporary file, and a failed write leaves the old file', () => {
        const sub = path.join(dir, 'atomic');
        const file = path.join(sub, 'h.json');
        const store = new FileHistoryStore(file);
        const h = new History({ capacity: 5, store, saveEveryMs: 0 });
        h.add('demand', { unit: 'kW' }, { time: 1000, value: 1 });
        h.flush();
        const first = fs.readFileSync(file, 'utf8');
        h.add('demand', { unit: 'kW' }, { time: 2000, value: 2 });
        // a directory where the temporary file goes makes the write fail before the rename
        const tmp = `${file}.${process.pid}.tmp`;
        fs.mkdirSync(tmp);
        assert.throws(() => h.flush());
        assert.equal(fs.readFileSync(file, 'utf8'), first);
        fs.rmdirSync(tmp);
        h.add('demand', { unit: 'kW' }, { time: 3000, value: 3 });
        h.flush();
        assert.deepEqual(fs.readdirSync(sub), ['h.json']);
        assert.deepEqual(store.load()?.series[0]?.readings, [
            [1000, 1000, null],
            [2000, 2000, null],
            [3000, 3000, null],
        ]);
    });
});

describe('readingsFromMessage', () => {
    const slot = (extra: Record<string, unknown> = {}) => ({
        kind: 'slot',
        slot: 7,
        slotStart: '2025-06-01T12:00:00.000Z',
        requestAt: '2025-06-01T12:00:00.100Z',
        responseAt: '2025-06-01T12:00:00.400Z',
        rttMs: 300,
        status: 'ok',
        kW: 1.234,
        kWh: 12345.678,
        kWhReceived: 2.5,
        raw: {},
        scaling: { source: 'meter', demandSource: 'meter', multiplier: 1, divisor: 1000, unitName: 'kW' },
        ...extra,
    });

    it('turns a sep-meter slot into demand and summations delivered and received', () => {
        const r = readingsFromMessage({ sep: slot() });
        assert.deepEqual(r.skipped, []);
        const t = Date.parse('2025-06-01T12:00:00.400Z');
        assert.deepEqual(r.readings, [
            {
                key: 'demand',
                spec: {
                    unit: 'kW',
                    resolution: 0.001,
                    accumulation: 'instantaneous',
                    flowDirection: 'forward',
                    title: 'Instantaneous demand',
                },
                time: t,
                value: 1.234,
            },
            {
                key: 'summation-delivered',
                spec: {
                    unit: 'kWh',
                    resolution: 0.001,
                    accumulation: 'summation',
                    flowDirection: 'forward',
                    title: 'Summation delivered',
                },
                time: t,
                value: 12345.678,
            },
            {
                key: 'summation-received',
                spec: {
                    unit: 'kWh',
                    resolution: 0.001,
                    accumulation: 'summation',
                    flowDirection: 'reverse',
                    title: 'Summation received',
                },
                time: t,
                value: 2.5,
            },
        ]);
        const rt = deriveReadingType(r.readings[2]?.spec ?? { unit: '' }).fields;
        assert.equal(rt.flowDirection, 19);
        assert.equal(rt.uom, 72);
    });

    it('marks a suspect slot questionable (10) and an assumed unit raw (14)', () => {
        const r = readingsFromMessage({ sep: slot({ quality: 'suspect' }) });
        assert.deepEqual(
            r.readings.map((x) => x.quality),
            [10, 10, 10],
        );
        const raw = readingsFromMessage({
            sep: slot({
                kWhReceived: undefined,
                scaling: { source: 'unscaled', demandSource: 'unscaled', unitName: 'kW', unitAssumed: true },
            }),
        });
        assert.deepEqual(
            raw.readings.map((x) => [x.key, x.quality, x.spec.resolution]),
            [
                ['demand', 14, 1],
                ['summation-delivered', 14, 1],
            ],
        );
    });

    it('skips gaps, slots without an answer and non-electric slots, with the reason', () => {
        assert.deepEqual(readingsFromMessage({ sep: { kind: 'gap', count: 12, status: 'missing' } }), {
            readings: [],
            skipped: [{ key: 'sep', reason: 'gap of 12 slots' }],
        });
        const none = readingsFromMessage({
            sep: slot({ responseAt: null, status: 'missing', missing: 'timeout', kW: undefined }),
        });
        assert.deepEqual(none.readings, []);
        assert.match(none.skipped[0]?.reason ?? '', /slot 7 has no reading \(timeout\)/);
        const gas = readingsFromMessage({
            sep: slot({
                kW: undefined,
                kWh: undefined,
                kWhReceived: undefined,
                scaling: { source: 'meter', unitName: 'm3' },
            }),
        });
        assert.match(gas.skipped[0]?.reason ?? '', /no kW or kWh \(meter unit m3\)/);
    });

    it('reads a bare number with msg.unit, msg.topic and msg.timestamp', () => {
        const r = readingsFromMessage({ payload: 3.5, unit: 'kW', topic: 'heat pump', timestamp: 1_700_000_000_000 });
        assert.deepEqual(r.readings, [{ key: 'heat pump', spec: { unit: 'kW' }, time: 1_700_000_000_000, value: 3.5 }]);
        const s = readingsFromMessage({ payload: '230.5' }, { unit: 'V', now: () => 5000 });
        assert.deepEqual(s.readings, [{ key: 'V', spec: { unit: 'V' }, time: 5000, value: 230.5 }]);
        const e = readingsFromMessage(
            { payload: 1, unit: 'W', espi: { key: 'pv', unit: 'kW', resolution: 0.01 } },
            { now: () => 1 },
        );
        assert.deepEqual(e.readings[0]?.spec, { unit: 'kW', resolution: 0.01 });
        assert.equal(e.readings[0]?.key, 'pv');
    });

    it('refuses a number without a unit, and a string that is no number', () => {
        espiRefused(() => readingsFromMessage({ payload: 5 }), 'BAD_INPUT', /needs a unit/);
        espiRefused(() => readingsFromMessage({ payload: 'lots', unit: 'kW' }), 'BAD_INPUT', /not a finite number/);
        espiRefused(() => readingsFromMessage({ payload: '', unit: 'kW' }), 'BAD_INPUT', /not a finite number/);
    });

    it('reads an object of unit-named values and skips the other keys', () => {
        const r = readingsFromMessage({ payload: { kW: 2, kWh: 100.5, foo: 1 }, timestamp: '2025-01-01T00:00:00Z' });
        const t = Date.UTC(2025, 0, 1);
        assert.deepEqual(r.readings, [
            { key: 'kW', spec: { unit: 'kW' }, time: t, value: 2 },
            { key: 'kWh', spec: { unit: 'kWh' }, time: t, value: 100.5 },
        ]);
        assert.deepEqual(r.skipped, [{ key: 'foo', reason: '"foo" is not a unit name (W, kW, kWh, V...)' }]);
        espiRefused(() => readingsFromMessage({ payload: {} }), 'BAD_INPUT', /holds no values/);
        espiRefused(() => readingsFromMessage({ payload: { kW: 'x' } }), 'BAD_INPUT', /Value of "kW"/);
    });

    it('reads an array of readings and names the index of a bad one', () => {
        const r = readingsFromMessage({
            topic: 'meter',
            payload: [
                { time: 1000, value: 1, unit: 'kW' },
                { timestamp: new Date(2000), value: 2, unit: 'kWh', key: 'energy', quality: 'raw' },
                { time: '1970-01-01T00:00:03Z', value: 3, unit: 'W', series: 'small', resolution: 0.1 },
            ],
        });
        assert.deepEqual(r.readings, [
            { key: 'meter', spec: { unit: 'kW' }, time: 1000, value: 1 },
            { key: 'energy', spec: { unit: 'kWh' }, time: 2000, value: 2, quality: 14 },
            { key: 'small', spec: { unit: 'W', resolution: 0.1 }, time: 3000, value: 3 },
        ]);
        espiRefused(
            () => readingsFromMessage({ payload: [{ time: 1, value: 1, unit: 'kW' }, 'x'] }),
            'BAD_INPUT',
            /Reading 1 is not an object/,
        );
        espiRefused(
            () => readingsFromMessage({ payload: [{ time: 1, value: 1 }] }),
            'BAD_INPUT',
            /Reading 0 has no unit/,
        );
        espiRefused(
            () =>
                readingsFromMessage({
                    payload: [
                        { time: 1, value: 1, unit: 'kW' },
                        { value: 1, unit: 'kW' },
                    ],
                }),
            'BAD_INPUT',
            /Reading 1 has no time/,
        );
    });

    it('refuses payloads that are null, boolean or undefined', () => {
        espiRefused(() => readingsFromMessage({ payload: null, unit: 'kW' }), 'BAD_INPUT', /msg\.payload is null/);
        espiRefused(() => readingsFromMessage({ payload: true, unit: 'kW' }), 'BAD_INPUT', /msg\.payload is boolean/);
        espiRefused(() => readingsFromMessage({ unit: 'kW' }), 'BAD_INPUT', /msg\.payload is undefined/);
    });

    it('parses times as ms, ISO 8601 and Date, and refuses others', () => {
        assert.equal(parseTime(1_735_689_600_000), 1_735_689_600_000);
        assert.equal(parseTime('2025-01-01T00:00:00Z'), 1_735_689_600_000);
        assert.equal(parseTime('2025-01-01T01:00:00+01:00'), 1_735_689_600_000);
        assert.equal(parseTime(new Date(1_735_689_600_000)), 1_735_689_600_000);
        for (const bad of ['yesterday', Number.NaN, -1, {}, null, new Date(Number.NaN), 253_402_300_800_000])
            espiRefused(() => parseTime(bad), 'BAD_INPUT', /is not a time/);
        espiRefused(
            () => readingsFromMessage({ payload: 1, unit: 'kW', timestamp: 'soon' }),
            'BAD_INPUT',
            /timestamp "soon"/,
        );
    });

    it('maps palette qualities to QualityOfReading', () => {
        assert.deepEqual(qualityCode(undefined), {});
        assert.deepEqual(qualityCode('good'), {});
        assert.deepEqual(qualityCode('questionable'), { code: 10 });
        assert.deepEqual(qualityCode('suspect'), { code: 10 });
        assert.deepEqual(qualityCode('raw'), { code: 14 });
        assert.deepEqual(qualityCode(17), { code: 17 });
        assert.deepEqual(qualityCode('invalid'), { skip: 'quality is invalid' });
        espiRefused(() => qualityCode('bad'), 'BAD_INPUT', /Quality "bad"/);
        espiRefused(() => qualityCode(255), 'BAD_INPUT', /QualityOfReading/);
        espiRefused(() => qualityCode(1.5), 'BAD_INPUT', /QualityOfReading/);
        const r = readingsFromMessage({ payload: { kW: 1, kWh: 2 }, quality: 'missing' }, { now: () => 0 });
        assert.deepEqual(r, {
            readings: [],
            skipped: [
                { key: 'kW', reason: 'quality is missing' },
                { key: 'kWh', reason: 'quality is missing' },
            ],
        });
        const q = readingsFromMessage({ payload: 1, unit: 'kW', quality: 'questionable' }, { now: () => 0 });
        assert.equal(q.readings[0]?.quality, 10);
    });
});
