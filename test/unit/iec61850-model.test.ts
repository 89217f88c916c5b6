import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CDCS } from '../../src/protocols/iec61850/model/cdc';
import { Iec61850Error, type Iec61850Reason } from '../../src/protocols/iec61850/model/errors';
import { FC_ORDER, FCS, parseFc, sortFcs } from '../../src/protocols/iec61850/model/fc';
import {
    controlBlockFromMms,
    controlBlockToMms,
    dataSetToMms,
    formatDataSetRef,
    formatMmsReference,
    formatReference,
    fromMms,
    journalToMms,
    parseDataSetRef,
    parseLnName,
    parseMmsReference,
    parseReference,
    rcbInstanceName,
    toMms,
} from '../../src/protocols/iec61850/model/reference';
import type { Server } from '../../src/protocols/iec61850/model/types';
import {
    BASIC_TYPES,
    decodeEntryTime,
    decodeQuality,
    decodeTimestamp,
    encodeEntryTime,
    encodeQuality,
    encodeTimestamp,
    goodQuality,
    timestampFromDate,
    timestampToDate,
} from '../../src/protocols/iec61850/model/types';
import { allReferences } from '../../src/protocols/iec61850/model/walk';

function expectError(run: () => unknown, reason: Iec61850Reason, code = 'BAD_INPUT'): void {
    assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof Iec61850Error, `expected Iec61850Error, got ${String(err)}`);
        assert.equal(err.code, code);
        assert.equal(err.reason, reason, err.message);
        return true;
    });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('functional constraints', () => {
    test('8-1 order of the wire note §6.1, every FC in the table', () => {
        assert.deepEqual(FC_ORDER.join(','), 'MX,ST,CO,CF,DC,SP,SG,RP,LG,BR,GO,SV,SE,MS,US,EX,SR,OR,BL');
        for (const fc of FC_ORDER) assert.equal(FCS[fc].fc, fc);
        assert.deepEqual(sortFcs(['BL', 'ST', 'CF', 'MX', 'ST']), ['MX', 'ST', 'CF', 'BL']);
        assert.equal(FCS.BR.kind, 'control');
        assert.equal(FCS.ST.write, false);
    });
    test('unknown and unmapped FCs', () => {
        expectError(() => parseFc('QQ'), 'unknown-fc');
        expectError(() => parseFc('XX'), 'unknown-fc', 'NOT_SUPPORTED');
        expectError(() => parseFc('st'), 'unknown-fc');
    });
});

describe('object references', () => {
    const vectors: Array<[string, string, string, unknown[]?]> = [
        ['HP1LD/MMXN1.Watt.mag.f[MX]', 'HP1LD', 'MMXN1$MX$Watt$mag$f'],
        ['HP1LD/MMXN1.Watt[MX]', 'HP1LD', 'MMXN1$MX$Watt'],
        ['IEDNameLDInst/LLN0.Beh.stVal[ST]', 'IEDNameLDInst', 'LLN0$ST$Beh$stVal'],
        ['CONTROL/GGIO1.DPCSO1[CO]', 'CONTROL', 'GGIO1$CO$DPCSO1'],
        ['HP1LD/LLN0[ST]', 'HP1LD', 'LLN0$ST'],
        ['HP1LD/MMXN1', 'HP1LD', 'MMXN1'],
        ['LD0/Q0XCBR1.Pos.Oper.ctlVal[CO]', 'LD0', 'Q0XCBR1$CO$Pos$Oper$ctlVal'],
        ['LD0/MMXU1.PhV.phsA.cVal.mag.f[MX]', 'LD0', 'MMXU1$MX$PhV$phsA$cVal$mag$f'],
        ['LD0/MHAI1.HA.phsAHar(7)[MX]', 'LD0', 'MHAI1$MX$HA$phsAHar', [{ index: 7 }]],
        [
            'LD0/MHAI1.HA.phsAHar(7).cVal.mag.f[MX]',
            'LD0',
            'MHAI1$MX$HA$phsAHar',
            [{ index: 7 }, { component: 'cVal' }, { component: 'mag' }, { component: 'f' }],
        ],
        ['LD0/FSCH1.ValASG001.setMag.f[SP]', 'LD0', 'FSCH1$SP$ValASG001$setMag$f'],
        ['LD0/P1_MMXU12.TotW.q[MX]', 'LD0', 'P1_MMXU12$MX$TotW$q'],
    ];
    for (const [text, domainId, itemId, access] of vectors) {
        test(`${text} <-> ${domainId} ${itemId}`, () => {
            const ref = parseReference(text);
            const mms = toMms(ref);
            assert.equal(mms.domainId, domainId);
            assert.equal(mms.itemId, itemId);
            assert.deepEqual(mms.alternateAccess, access);
            assert.deepEqual(fromMms(mms), ref);
            assert.equal(formatReference(fromMms(mms)), text);
        });
    }
    test('7-2 spelling with a space before the FC', () => {
        assert.equal(toMms(parseReference('HP1LD/MMXN1.Watt.mag.f [MX]')).itemId, 'MMXN1$MX$Watt$mag$f');
    });
    test('LN names', () => {
        assert.deepEqual(parseLnName('LLN0'), { prefix: '', lnClass: 'LLN0', inst: '' });
        assert.deepEqual(parseLnName('STMP3'), { prefix: '', lnClass: 'STMP', inst: '3' });
        assert.deepEqual(parseLnName('Q0XCBR1'), { prefix: 'Q0', lnClass: 'XCBR', inst: '1' });
        expectError(() => parseLnName('MMXN'), 'syntax');
        expectError(() => parseLnName('mmxn1'), 'syntax');
        expectError(() => parseLnName('LLN1'), 'syntax');
    });
    test('MMS text form (DataRef)', () => {
        const a = parseMmsReference('HP1LD/MMXN1$MX$Watt');
        assert.deepEqual(a, { domainId: 'HP1LD', itemId: 'MMXN1$MX$Watt' });
        assert.equal(formatMmsReference(a), 'HP1LD/MMXN1$MX$Watt');
        expectError(() => parseMmsReference('HP1LD'), 'syntax');
        expectError(() => parseMmsReference('HP1LD/MMXN1$QQ$Watt'), 'unknown-fc');
    });

    test('seeded random shapes round-trip', () => {
        let seed = 0x2545f491;
        const rnd = (n: number) => {
            seed ^= seed << 13;
            seed ^= seed >>> 17;
            seed ^= seed << 5;
            return (seed >>> 0) % n;
        };
        const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
        const ident = () => {
            let s = alpha[rnd(alpha.length)] as string;
            for (let i = rnd(8); i > 0; i--) s += `${alpha}0123456789_`[rnd(63)];
            return s;
        };
        let checked = 0;
        for (let i = 0; i < 2000; i++) {
            const ld = ident();
            const ln = rnd(5) === 0 ? 'LLN0' : `${rnd(2) ? ident() : ''}${'MMXU'}${1 + rnd(20)}`;
            const fc = FC_ORDER[rnd(FC_ORDER.length)] as (typeof FC_ORDER)[number];
            const path = Array.from(
                { length: 1 + rnd(5) },
                () => ({ name: ident() }) as { name: string; index?: number },
            );
            if (rnd(3) === 0) {
                const at = rnd(path.length);
                (path[at] as { index?: number }).index = rnd(1000);
            }
            const ref = { ld, ln, path, fc };
            const text = formatReference(ref);
            assert.deepEqual(parseReference(text), ref);
            let mms: ReturnType<typeof toMms>;
            try {
                mms = toMms(ref);
            } catch (err) {
                assert.ok(err instanceof Iec61850Error && err.reason === 'too-long');
                continue;
            }
            assert.deepEqual(fromMms(mms), ref, text);
            checked++;
        }
        assert.ok(checked > 1000);
    });

    test('hostile input gives typed errors', () => {
        const long = `LD/MMXN1.${'A'.repeat(60)}[MX]`;
        expectError(() => toMms(parseReference(long)), 'too-long');
        expectError(() => parseReference(`${'L'.repeat(65)}/LLN0`), 'too-long');
        expectError(() => parseReference('x'.repeat(10_000)), 'too-long');
        expectError(() => parseReference(''), 'syntax');
        expectError(() => parseReference('HP1LD'), 'syntax');
        expectError(() => parseReference('/MMXN1.Watt[MX]'), 'empty');
        expectError(() => parseReference('HP1LD/'), 'empty');
        expectError(() => parseReference('HP1LD/MMXN1..mag[MX]'), 'empty');
        expectError(() => parseReference('HP1LD/MMXN1.Watt.[MX]'), 'empty');
        expectError(() => parseReference('HP1LD/MMXN1.Watt[]'), 'missing-fc');
        expectError(() => parseReference('HP1LD/MMXN1.Watt[MX'), 'syntax');
        expectError(() => parseReference('HP1LD/MMXN1.Watt[ZZ]'), 'unknown-fc');
        expectError(() => toMms(parseReference('HP1LD/MMXN1.Watt')), 'missing-fc');
        expectError(() => parseReference('HP1LD/MMXN1.Wa$tt[MX]'), 'bad-char');
        expectError(() => parseReference('HP 1/MMXN1.Watt[MX]'), 'bad-char');
        expectError(() => parseReference('1LD/MMXN1.Watt[MX]'), 'bad-char');
        expectError(() => parseReference('HP1LD/MMXN1.Watt<script>[MX]'), 'bad-char');
        expectError(() => parseReference('HP1LD/MMXN1.Watt(01)[MX]'), 'syntax');
        expectError(() => parseReference('HP1LD/MMXN1.Watt(-1)[MX]'), 'syntax');
        expectError(() => parseReference('HP1LD/MMXN1.Watt(3[MX]'), 'syntax');
        expectError(() => parseReference('HP1LD/MMXN1.Watt(99999999999)[MX]'), 'out-of-range');
        expectError(() => fromMms({ domainId: 'HP1LD', itemId: 'MMXN1$MX$' }), 'empty');
        expectError(
            () => fromMms({ domainId: 'HP1LD', itemId: 'MMXN1$MX$Watt', alternateAccess: [{ component: 'x' }] }),
            'syntax',
        );
        expectError(
            () =>
                fromMms({ domainId: 'HP1LD', itemId: 'MMXN1$MX$Watt', alternateAccess: [{ index: 1 }, { index: 2 }] }),
            'syntax',
        );
        expectError(() => fromMms({ domainId: 'HP1LD', itemId: `MMXN1$MX$${'a'.repeat(60)}` }), 'too-long');
        expectError(
            () => toMms({ ld: 'HP1LD', ln: 'MMXN1', path: [{ name: 'A', index: 1.5 }], fc: 'MX' }),
            'out-of-range',
        );
    });
});

describe('data sets, control blocks, journals', () => {
    test('persistent and non-persistent data sets', () => {
        const p = parseDataSetRef('HP1LD/LLN0$DS_HP');
        assert.deepEqual(p, { persistent: true, ld: 'HP1LD', ln: 'LLN0', name: 'DS_HP' });
        assert.deepEqual(parseDataSetRef('HP1LD/LLN0.DS_HP'), p);
        assert.deepEqual(dataSetToMms(p), { domainId: 'HP1LD', itemId: 'LLN0$DS_HP' });
        assert.equal(formatDataSetRef(p), 'HP1LD/LLN0$DS_HP');
        const n = parseDataSetRef('@myset');
        assert.deepEqual(n, { persistent: false, name: 'myset' });
        assert.deepEqual(dataSetToMms(n), { aaSpecific: '@myset' });
        assert.equal(formatDataSetRef(n), '@myset');
        expectError(() => parseDataSetRef('@'), 'empty');
        expectError(() => parseDataSetRef('HP1LD/LLN0'), 'syntax');
        expectError(() => parseDataSetRef('HP1LD/LLN0$bad name'), 'bad-char');
        expectError(() => parseDataSetRef(`HP1LD/LLN0$${'d'.repeat(64)}`), 'too-long');
    });
    test('control blocks', () => {
        const cases = [
            [{ ld: 'HP1LD', ln: 'LLN0', cbClass: 'BRCB', name: rcbInstanceName('brcbHP', 1) }, 'LLN0$BR$brcbHP01'],
            [{ ld: 'HP1LD', ln: 'LLN0', cbClass: 'URCB', name: 'urcbHP01' }, 'LLN0$RP$urcbHP01'],
            [{ ld: 'HP1LD', ln: 'LLN0', cbClass: 'LCB', name: 'EventLcb' }, 'LLN0$LG$EventLcb'],
            [{ ld: 'HP1LD', ln: 'LLN0', cbClass: 'GoCB', name: 'gcb01' }, 'LLN0$GO$gcb01'],
            [{ ld: 'HP1LD', ln: 'LLN0', cbClass: 'SGCB', name: 'SGCB' }, 'LLN0$SP$SGCB'],
        ] as const;
        for (const [cb, item] of cases) {
            const mms = controlBlockToMms(cb);
            assert.equal(mms.itemId, item);
            assert.deepEqual(controlBlockFromMms(mms), cb);
        }
        expectError(() => controlBlockToMms({ ld: 'HP1LD', ln: 'MMXN1', cbClass: 'SGCB', name: 'SGCB' }), 'syntax');
        expectError(() => controlBlockFromMms({ domainId: 'HP1LD', itemId: 'LLN0$ST$Beh' }), 'syntax');
        expectError(() => controlBlockFromMms({ domainId: 'HP1LD', itemId: 'MMXN1$SP$x' }), 'syntax');
        expectError(() => rcbInstanceName('brcb', 100), 'out-of-range');
        assert.deepEqual(journalToMms('HP1LD', 'LLN0', 'EventLog'), { domainId: 'HP1LD', itemId: 'LLN0$EventLog' });
    });
});

describe('model walk', () => {
    test('every node of a model round-trips through MMS', () => {
        const mag = {
            kind: 'DA',
            name: 'mag',
            fc: 'MX',
            type: 'Struct',
            children: [{ kind: 'DA', name: 'f', fc: 'MX', type: 'FLOAT32' }],
        } as const;
        const server: Server = {
            logicalDevices: [
                {
                    name: 'HP1LD',
                    logicalNodes: [
                        {
                            name: 'LLN0',
                            dataObjects: [
                                {
                                    kind: 'DO',
                                    name: 'Mod',
                                    cdc: 'ENC',
                                    children: [
                                        { kind: 'DA', name: 'stVal', fc: 'ST', type: 'ENUMERATED' },
                                        { kind: 'DA', name: 'q', fc: 'ST', type: 'Quality' },
                                        { kind: 'DA', name: 'ctlModel', fc: 'CF', type: 'ENUMERATED' },
                                    ],
                                },
                            ],
                        },
                        {
                            name: 'MMXN1',
                            dataObjects: [
                                {
                                    kind: 'DO',
                                    name: 'Watt',
                                    cdc: 'MV',
                                    children: [
                                        { ...mag, children: [...mag.children] },
                                        { kind: 'DA', name: 'q', fc: 'MX', type: 'Quality' },
                                        { kind: 'DA', name: 'd', fc: 'DC', type: 'VISIBLE STRING' },
                                    ],
                                },
                                {
                                    kind: 'DO',
                                    name: 'Har',
                                    children: [
                                        {
                                            kind: 'DO',
                                            name: 'phsA',
                                            children: [
                                                {
                                                    kind: 'DA',
                                                    name: 'vals',
                                                    fc: 'MX',
                                                    type: 'Struct',
                                                    count: 3,
                                                    children: [{ ...mag, children: [...mag.children] }],
                                                },
                                            ],
                                        },
                                    ],
                                },
                            ],
                        },
                    ],
                },
            ],
        };
        const refs = allReferences(server);
        const texts = new Set<string>();
        for (const ref of refs) {
            const text = formatReference(ref);
            texts.add(text);
            assert.deepEqual(parseReference(text), ref);
            assert.deepEqual(fromMms(toMms(ref)), ref, text);
        }
        assert.equal(texts.size, refs.length, 'references are unique');
        assert.ok(texts.has('HP1LD/MMXN1.Har.phsA.vals(2).mag.f[MX]'));
        assert.ok(texts.has('HP1LD/LLN0.Mod[CF]'));
        assert.equal(refs.length, 25);
    });
});

describe('basic types, quality, timestamps', () => {
    test('basic type table maps to MMS Data kinds', () => {
        assert.equal(BASIC_TYPES.INT64.mms, 'integer');
        assert.equal(BASIC_TYPES.INT32U.mms, 'unsigned');
        assert.equal(BASIC_TYPES.Quality.size, 13);
        assert.equal(BASIC_TYPES.Timestamp.mms, 'utc-time');
        assert.equal(BASIC_TYPES['CODED ENUM'].mms, 'bit-string');
        assert.equal(BASIC_TYPES['UNICODE STRING'].mms, 'mMSString');
    });
    test('quality vectors of the wire note §6.3', () => {
        assert.equal(encodeQuality(goodQuality()), '0000000000000');
        const q = decodeQuality('0100001000000');
        assert.equal(q.validity, 'invalid');
        assert.equal(q.detail.failure, true);
        assert.equal(encodeQuality(q), '0100001000000');
        assert.equal(decodeQuality('1100000000000').validity, 'questionable');
        assert.equal(decodeQuality('1000000000000').validity, 'reserved');
        const all = decodeQuality('1111111111111');
        assert.equal(all.source, 'substituted');
        assert.ok(all.test && all.operatorBlocked && all.detail.inaccurate && all.detail.overflow);
        assert.equal(decodeQuality('0000000000000100').test, false, '16-bit form accepted');
        for (let v = 0; v < 1 << 13; v++) {
            const bits = v.toString(2).padStart(13, '0');
            assert.equal(encodeQuality(decodeQuality(bits)), bits);
        }
        expectError(() => decodeQuality('000'), 'syntax');
        expectError(() => decodeQuality('00000000000002'), 'syntax');
    });
    test('timestamp vector of the wire note §6.4', () => {
        const ts = decodeTimestamp(unhex('66322EC08000000A'));
        assert.equal(ts.seconds, 0x66322ec0);
        assert.equal(ts.fraction, 0x800000);
        assert.deepEqual(ts.quality, {
            leapSecondsKnown: false,
            clockFailure: false,
            clockNotSynchronized: false,
            timeAccuracy: 10,
        });
        assert.equal(hex(encodeTimestamp(ts)), '66322EC08000000A');
        assert.equal(timestampToDate(ts).toISOString(), '2024-05-01T12:00:00.500Z');
        const flags = decodeTimestamp(unhex('00000001000001FF'));
        assert.ok(flags.quality.leapSecondsKnown && flags.quality.clockFailure && flags.quality.clockNotSynchronized);
        assert.equal(flags.quality.timeAccuracy, 31);
        assert.equal(hex(encodeTimestamp(flags)), '00000001000001FF');
        const d = new Date('2025-03-04T05:06:07.089Z');
        const tq = { leapSecondsKnown: true, clockFailure: false, clockNotSynchronized: true, timeAccuracy: 10 };
        assert.equal(timestampToDate(timestampFromDate(d, tq)).toISOString(), d.toISOString());
        expectError(() => decodeTimestamp(unhex('0011')), 'syntax');
        expectError(() => encodeTimestamp({ ...ts, fraction: 2 ** 24 }), 'out-of-range');
        expectError(() => encodeTimestamp({ ...ts, seconds: -1 }), 'out-of-range');
        expectError(() => encodeTimestamp({ ...ts, quality: { ...ts.quality, timeAccuracy: 25 } }), 'out-of-range');
    });
    test('EntryTime (binary-time, days since 1984)', () => {
        assert.equal(hex(encodeEntryTime(new Date('1984-01-02T00:00:01.000Z'))), '000003E80001');
        const d = new Date('2024-05-01T12:00:00.500Z');
        assert.equal(decodeEntryTime(encodeEntryTime(d)).toISOString(), d.toISOString());
        expectError(() => encodeEntryTime(new Date('1983-12-31T23:59:59Z')), 'out-of-range');
        expectError(() => decodeEntryTime(unhex('FFFFFFFF0000')), 'out-of-range');
    });
});

describe('common data classes', () => {
    test('the CDCs the issue lists, with key attributes', () => {
        const want = 'MV CMV BCR SPS DPS INS ENS SPC DPC INC ENC APC ASG ING ENG SPG TSG ORG ORS LPL DPL TCS'.split(
            ' ',
        );
        for (const cdc of want) assert.ok(CDCS[cdc]?.attributes.length, cdc);
        const attr = (cdc: string, name: string) => CDCS[cdc]?.attributes.find((a) => a.name === name);
        assert.deepEqual(attr('MV', 'mag'), {
            name: 'mag',
            type: 'AnalogueValue',
            fc: 'MX',
            trg: 'dchg',
            presence: 'M',
        });
        assert.equal(attr('MV', 'q')?.trg, 'qchg');
        assert.equal(attr('BCR', 'pulsQty')?.fc, 'CF');
        assert.equal(attr('SPC', 'Oper')?.fc, 'CO');
        assert.equal(attr('ORG', 'setSrcRef')?.fc, 'SP');
        assert.equal(attr('LPL', 'lnNs')?.fc, 'EX');
        for (const info of Object.values(CDCS)) {
            const names = info.attributes.map((a) => a.name);
            assert.equal(new Set(names).size, names.length);
        }
    });
});
