import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
    attributeTriggers,
    CDCS,
    type CdcFinding,
    checkDataObject,
    instantiateCdc,
} from '../../src/protocols/iec61850/model/cdc';
import {
    CONSTRUCTED_TYPES,
    ENUMERATIONS,
    enumOrdinal,
    PRESENCE_CONDITIONS,
} from '../../src/protocols/iec61850/model/cdc-types';
import { Iec61850Error } from '../../src/protocols/iec61850/model/errors';
import { FC_ORDER } from '../../src/protocols/iec61850/model/fc';
import { BASIC_TYPES, type DataAttribute, type DataObject } from '../../src/protocols/iec61850/model/types';
import { importScl } from '../../src/protocols/iec61850/scl';

/**
 * IEC 61850-7-3 Ed2.1 common data classes: the tables (facts checked against the 7-3/8-1 NSD
 * code components), the constructed types and enumerations, instantiateCdc and checkDataObject.
 */

const ROOT = path.join(__dirname, '..', '..');
const ALL = 'SPS DPS INS ENS BCR ORS TCS MV CMV SPC DPC INC ENC APC SPG ING ENG ORG TSG ASG DPL LPL'.split(' ');
const CONTROLS = ['SPC', 'DPC', 'INC', 'ENC', 'APC'];

const attr = (cdc: string, name: string) => CDCS[cdc]?.attributes.find((a) => a.name === name);
const da = (name: string, fc: DataAttribute['fc'], type: DataAttribute['type'], children?: DataAttribute[]) =>
    (children ? { kind: 'DA', name, fc, type, children } : { kind: 'DA', name, fc, type }) as DataAttribute;
const errors = (f: CdcFinding[]) => f.filter((x) => x.severity === 'error');
const warnings = (f: CdcFinding[]) => f.filter((x) => x.severity === 'warning');
/** The first attribute (or member, by dotted path) of a data object. */
function find(dobj: DataObject, dotted: string): DataAttribute | undefined {
    const [head, ...rest] = dotted.split('.');
    let node = dobj.children.find((c): c is DataAttribute => c.kind === 'DA' && c.name === head);
    for (const n of rest) node = node?.children?.find((c) => c.name === n);
    return node;
}
function without(dobj: DataObject, name: string): DataObject {
    return { ...dobj, children: dobj.children.filter((c) => c.name !== name) };
}
/** Findings as `severity attribute` strings, for compact assertions. */
const brief = (f: CdcFinding[]) => f.map((x) => `${x.severity} ${x.attribute}`);

describe('CDC tables (7-3 Ed2.1)', () => {
    test('all 22 CDCs, with Ed2.1 sub-clauses where verified', () => {
        assert.deepEqual(Object.keys(CDCS).sort(), [...ALL].sort());
        for (const [cdc, info] of Object.entries(CDCS)) {
            if (info.clauseVerified) assert.match(info.clause, /^7\.\d\.\d+$/, cdc);
            else assert.match(info.clause, /^7\.\d$/, `${cdc}: unverified keeps the group clause`);
        }
        const clause = (cdc: string) => CDCS[cdc]?.clause;
        assert.equal(clause('SPS'), '7.3.2');
        assert.equal(clause('BCR'), '7.3.9');
        assert.equal(clause('MV'), '7.4.3');
        assert.equal(clause('SPC'), '7.5.3');
        assert.equal(clause('APC'), '7.5.9');
        assert.equal(clause('ASG'), '7.7.2');
        assert.equal(clause('LPL'), '7.8.3');
        assert.deepEqual(
            ALL.filter((c) => !CDCS[c]?.clauseVerified),
            ['ENG', 'ORG'],
        );
    });

    test('known facts: MV.mag, BCR.actVal, SPC.Oper, APC.mxVal, LPL.vendor, ENS.stVal, DPS.stVal', () => {
        assert.deepEqual(attr('MV', 'mag'), {
            name: 'mag',
            type: 'AnalogueValue',
            fc: 'MX',
            trg: 'dchg',
            presence: 'M',
        });
        assert.deepEqual(attributeTriggers('MV', 'mag'), ['dchg', 'dupd']);
        assert.deepEqual(attributeTriggers('SPS', 'stVal'), ['dchg']);
        assert.deepEqual(attributeTriggers('MV', 'q'), ['qchg']);
        assert.deepEqual(attributeTriggers('MV', 't'), []);
        assert.equal(attr('BCR', 'actVal')?.type, 'INT64');
        assert.equal(attr('BCR', 'actVal')?.fc, 'ST');
        assert.equal(attr('BCR', 'frVal')?.trg, 'dupd');
        assert.equal(attr('BCR', 'pulsQty')?.presence, 'M');
        assert.deepEqual(attr('SPC', 'Oper'), {
            name: 'Oper',
            type: 'Oper',
            fc: 'CO',
            presence: 'MOctrl',
            scsm: '8-1',
        });
        assert.equal(attr('APC', 'mxVal')?.fc, 'MX');
        assert.equal(attr('APC', 'origin')?.fc, 'MX', 'APC carries origin and ctlNum as MX');
        assert.equal(attr('APC', 'ctlNum')?.fc, 'MX');
        assert.deepEqual(attr('LPL', 'vendor'), {
            name: 'vendor',
            type: 'VISIBLE STRING',
            fc: 'DC',
            presence: 'M',
            size: 255,
        });
        assert.equal(attr('LPL', 'ldNs')?.presence, 'MFln0');
        assert.equal(attr('ENS', 'stVal')?.fc, 'ST');
        assert.equal(attr('ENS', 'stVal')?.type, 'ENUMERATED');
        assert.equal(CDCS.ENS?.enumParameterized, true);
        assert.equal(attr('DPS', 'stVal')?.type, 'CODED ENUM');
        assert.equal(attr('DPS', 'stVal')?.enumType, 'Dbpos');
        assert.equal(attr('ORS', 'stVal')?.type, 'ObjectReference');
        assert.equal(attr('TSG', 'setCal')?.type, 'CalendarTime');
        assert.equal(attr('ASG', 'setMag')?.type, 'AnalogueValueCtl');
        assert.equal(attr('MV', 'range')?.enumType, 'RangeKind');
    });

    test('every CDC: q/t where present, description and name-space attributes, unique names, valid FCs', () => {
        for (const cdc of ALL) {
            const info = CDCS[cdc];
            assert.ok(info);
            const names = info.attributes.map((a) => a.name);
            assert.equal(new Set(names).size, names.length, cdc);
            for (const a of info.attributes)
                assert.ok((FC_ORDER as readonly string[]).includes(a.fc), `${cdc}.${a.name}`);
            const q = attr(cdc, 'q');
            if (q) assert.deepEqual([q.type, q.trg], ['Quality', 'qchg'], cdc);
            assert.equal(attr(cdc, 'd')?.fc, 'DC', cdc);
            assert.equal(attr(cdc, 'dU')?.type, 'UNICODE STRING', cdc);
            assert.equal(attr(cdc, 'cdcName')?.fc, 'EX', cdc);
            assert.equal(attr(cdc, 'dataNs')?.presence, 'MOdataNs', cdc);
            assert.equal(attr(cdc, 'cdcNs')?.removedIn, 'Ed2.1', cdc);
        }
    });

    test('substitution and blocking on the CDCs that have them, subVal typed like the value', () => {
        const substituted: Record<string, [value: string, sub: string]> = {
            SPS: ['stVal', 'subVal'],
            DPS: ['stVal', 'subVal'],
            INS: ['stVal', 'subVal'],
            ENS: ['stVal', 'subVal'],
            MV: ['mag', 'subMag'],
            CMV: ['cVal', 'subCVal'],
            SPC: ['stVal', 'subVal'],
            DPC: ['stVal', 'subVal'],
            INC: ['stVal', 'subVal'],
            ENC: ['stVal', 'subVal'],
            APC: ['mxVal', 'subVal'],
        };
        for (const cdc of ALL) {
            const pair = substituted[cdc];
            if (!pair) {
                assert.equal(attr(cdc, 'subEna'), undefined, `${cdc} has no substitution`);
                continue;
            }
            for (const n of ['subEna', pair[1], 'subQ', 'subID']) {
                assert.equal(attr(cdc, n)?.fc, 'SV', `${cdc}.${n}`);
                assert.equal(attr(cdc, n)?.presence, 'MFsubst', `${cdc}.${n}`);
            }
            assert.equal(attr(cdc, 'subID')?.size, 64);
            assert.equal(attr(cdc, pair[1])?.type, attr(cdc, pair[0])?.type, cdc);
            assert.deepEqual([attr(cdc, 'blkEna')?.fc, attr(cdc, 'blkEna')?.presence], ['BL', 'O'], cdc);
        }
    });

    test('controllable CDCs: ctlModel, control services with FC CO, ctlVal type, OR attributes', () => {
        const ctlVal = { SPC: 'BOOLEAN', DPC: 'BOOLEAN', INC: 'INT32', ENC: 'ENUMERATED', APC: 'AnalogueValueCtl' };
        for (const cdc of CONTROLS) {
            assert.equal(CDCS[cdc]?.ctlVal, ctlVal[cdc as keyof typeof ctlVal]);
            const m = attr(cdc, 'ctlModel');
            assert.deepEqual([m?.type, m?.enumType, m?.fc, m?.presence], ['ENUMERATED', 'CtlModelKind', 'CF', 'M']);
            for (const [n, p] of [
                ['SBO', 'MOsboNormal'],
                ['SBOw', 'MOsboEnhanced'],
                ['Oper', 'MOctrl'],
                ['Cancel', 'MOsbo'],
            ])
                assert.deepEqual(
                    [attr(cdc, n as string)?.fc, attr(cdc, n as string)?.presence],
                    ['CO', p],
                    `${cdc}.${n}`,
                );
            assert.equal(attr(cdc, 'SBO')?.size, 129);
            assert.equal(attr(cdc, 'sboTimeout')?.presence, 'MOsbo');
            assert.equal(attr(cdc, 'operTimeout')?.presence, 'MOenhanced');
            assert.equal(attr(cdc, 'opRcvd')?.fc, 'OR');
        }
        for (const cdc of ALL.filter((c) => !CONTROLS.includes(c))) assert.equal(attr(cdc, 'Oper'), undefined, cdc);
    });

    test('settings: SP, or SG/SE inside setting groups; ORG has no setting-group variant', () => {
        for (const [cdc, n] of [
            ['SPG', 'setVal'],
            ['ING', 'setVal'],
            ['ENG', 'setVal'],
            ['TSG', 'setTm'],
            ['TSG', 'setCal'],
            ['ASG', 'setMag'],
        ] as const) {
            assert.equal(attr(cdc, n)?.fc, 'SP');
            assert.deepEqual(attr(cdc, n)?.fcAlt, ['SG', 'SE'], `${cdc}.${n}`);
        }
        assert.equal(attr('ORG', 'setSrcRef')?.fcAlt, undefined);
        assert.equal(attr('ORG', 'setTstCB')?.presence, 'OF');
        assert.equal(attr('ORG', 'setTstCB')?.condition, 'setTstRef');
    });

    test('every type resolves: attributes, members, enumerations, presence codes and their arguments', () => {
        const known = (t: string) => Object.hasOwn(BASIC_TYPES, t) || Object.hasOwn(CONSTRUCTED_TYPES, t);
        const enumKnown = (e: string) => Object.hasOwn(ENUMERATIONS, e) || e === 'Dbpos' || e === 'Tcmd';
        for (const cdc of ALL) {
            const info = CDCS[cdc];
            assert.ok(info);
            if (info.ctlVal) assert.ok(known(info.ctlVal), `${cdc} ctlVal`);
            for (const a of info.attributes) {
                assert.ok(known(a.type), `${cdc}.${a.name}: ${a.type}`);
                if (a.enumType) assert.ok(enumKnown(a.enumType), `${cdc}.${a.name}: ${a.enumType}`);
                const p = PRESENCE_CONDITIONS[a.presence];
                assert.ok(p, `${cdc}.${a.name}: presence ${a.presence}`);
                if (p.arg === 'group') assert.match(a.condition ?? '', /^\d+$/, `${cdc}.${a.name}`);
                if (p.arg === 'sibling') assert.ok(attr(cdc, a.condition ?? ''), `${cdc}.${a.name} → ${a.condition}`);
                if (!p.arg) assert.equal(a.condition, undefined, `${cdc}.${a.name}`);
            }
        }
        for (const [name, t] of Object.entries(CONSTRUCTED_TYPES))
            for (const m of t.members) {
                assert.ok(known(m.type) || (t.parameterized && m.type === 'ctlVal'), `${name}.${m.name}: ${m.type}`);
                if (m.enumType) assert.ok(enumKnown(m.enumType), `${name}.${m.name}`);
                assert.ok(PRESENCE_CONDITIONS[m.presence], `${name}.${m.name}: ${m.presence}`);
            }
    });
});

describe('constructed types and enumerations', () => {
    test('AnalogueValue, Vector, Unit, Originator, RangeConfig, ScaledValueConfig, PulseConfig, CalendarTime', () => {
        const shape = (t: string) => CONSTRUCTED_TYPES[t]?.members.map((m) => `${m.name}:${m.type}:${m.presence}`);
        assert.deepEqual(shape('AnalogueValue'), ['i:INT32:AtLeastOne', 'f:FLOAT32:AtLeastOne']);
        assert.deepEqual(shape('AnalogueValueCtl'), ['i:INT32:AllOnlyOneGroup', 'f:FLOAT32:AllOnlyOneGroup']);
        assert.deepEqual(shape('Vector'), ['mag:AnalogueValue:M', 'ang:AnalogueValue:O']);
        assert.deepEqual(shape('Unit'), ['SIUnit:ENUMERATED:M', 'multiplier:ENUMERATED:O']);
        assert.deepEqual(
            CONSTRUCTED_TYPES.Unit?.members.map((m) => m.enumType),
            ['SIUnitKind', 'MultiplierKind'],
        );
        assert.deepEqual(shape('Originator'), ['orCat:ENUMERATED:M', 'orIdent:OCTET STRING:M']);
        assert.equal(CONSTRUCTED_TYPES.Originator?.members[1]?.size, 64);
        assert.deepEqual(shape('ScaledValueConfig'), ['scaleFactor:FLOAT32:M', 'offset:FLOAT32:M']);
        assert.deepEqual(
            CONSTRUCTED_TYPES.RangeConfig?.members.filter((m) => m.presence === 'M').map((m) => m.name),
            ['min', 'max'],
        );
        assert.deepEqual(
            CONSTRUCTED_TYPES.PulseConfig?.members.map((m) => m.name),
            ['cmdQual', 'onDur', 'offDur', 'numPls'],
        );
        assert.equal(CONSTRUCTED_TYPES.CalendarTime?.members.length, 8);
    });

    test('Oper/SBOw/Cancel: ctlVal, operTm (MOoperTm), origin, ctlNum, T, Test; Check only in Oper/SBOw', () => {
        const names = (t: string) => CONSTRUCTED_TYPES[t]?.members.map((m) => m.name);
        const full = ['ctlVal', 'operTm', 'origin', 'ctlNum', 'T', 'Test', 'Check'];
        assert.deepEqual(names('Oper'), full);
        assert.deepEqual(names('SBOw'), full);
        assert.deepEqual(names('Cancel'), full.slice(0, -1));
        for (const t of ['Oper', 'SBOw', 'Cancel']) {
            assert.equal(CONSTRUCTED_TYPES[t]?.parameterized, true);
            assert.equal(CONSTRUCTED_TYPES[t]?.members.find((m) => m.name === 'operTm')?.presence, 'MOoperTm');
            assert.equal(CONSTRUCTED_TYPES[t]?.members.find((m) => m.name === 'ctlNum')?.type, 'INT8U');
        }
        assert.equal(CONSTRUCTED_TYPES.Oper?.members.find((m) => m.name === 'Check')?.type, 'Check');
    });

    test('SIUnitKind and MultiplierKind ordinals', () => {
        const si = ENUMERATIONS.SIUnitKind?.literals ?? {};
        const want: Record<number, string> = { 1: '', 2: 'm', 4: 's', 5: 'A', 6: 'K', 23: '°C', 29: 'V', 33: 'Hz' };
        Object.assign(want, { 38: 'W', 61: 'VA', 62: 'Watts', 63: 'VAr', 71: 'VAh', 72: 'Wh', 73: 'VArh', 84: 'h' });
        for (const [ord, lit] of Object.entries(want)) assert.equal(si[Number(ord)], lit, `SIUnit ${ord}`);
        for (const gap of [0, 12, 20, 40, 90]) assert.equal(si[gap], undefined, `no SIUnit ${gap}`);
        assert.deepEqual(ENUMERATIONS.SIUnitKind?.deprecated, [62, 64]);
        assert.equal(enumOrdinal('SIUnitKind', 'W'), 38);
        const mult = ENUMERATIONS.MultiplierKind?.literals ?? {};
        assert.deepEqual(
            Object.keys(mult)
                .map(Number)
                .sort((a, b) => a - b),
            [-24, -21, -18, -15, -12, -9, -6, -3, -2, -1, 0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24],
        );
        assert.deepEqual([mult[3], mult[-6], mult[0], mult[6], mult[-3]], ['k', 'µ', '', 'M', 'm']);
    });

    test('SIUnit and Multiplier agree with the EnumTypes of the shipped heat-pump model', () => {
        const icd = readFileSync(path.join(ROOT, 'models', 'sdvp-heat-pump.icd'), 'utf8');
        const enumType = (id: string) => {
            const body = new RegExp(`<EnumType id="${id}">([\\s\\S]*?)</EnumType>`).exec(icd)?.[1] ?? '';
            return [...body.matchAll(/<EnumVal ord="(-?\d+)">([^<]*)<\/EnumVal>/g)].map((m) => [Number(m[1]), m[2]]);
        };
        const si = enumType('SIUnit');
        assert.ok(si.length > 70);
        for (const [ord, lit] of si)
            assert.equal(ENUMERATIONS.SIUnitKind?.literals[ord as number], lit, `SIUnit ${ord}`);
        const mult = enumType('Multiplier');
        assert.equal(mult.length, 21);
        for (const [ord, lit] of mult) assert.equal(ENUMERATIONS.MultiplierKind?.literals[ord as number], lit);
    });

    test('ctlModel, orCategory, Beh/Mod and Health ordinals', () => {
        assert.deepEqual(ENUMERATIONS.CtlModelKind?.literals, {
            0: 'status-only',
            1: 'direct-with-normal-security',
            2: 'sbo-with-normal-security',
            3: 'direct-with-enhanced-security',
            4: 'sbo-with-enhanced-security',
        });
        assert.equal(ENUMERATIONS.OriginatorCategoryKind?.literals[3], 'remote-control');
        assert.equal(ENUMERATIONS.OriginatorCategoryKind?.literals[8], 'process');
        assert.deepEqual(Object.values(ENUMERATIONS.BehaviourModeKind?.literals ?? {}), [
            'on',
            'blocked',
            'test',
            'test/blocked',
            'off',
        ]);
        assert.equal(enumOrdinal('BehaviourModeKind', 'on'), 1);
        assert.equal(enumOrdinal('BehaviourModeKind', 'off'), 5);
        assert.equal(enumOrdinal('HealthKind', 'Alarm'), 3);
        assert.equal(enumOrdinal('NoSuchKind', 'x'), undefined);
    });
});

describe('instantiateCdc', () => {
    test('default: mandatory attributes only, and no findings at all, for all 22', () => {
        for (const cdc of ALL) {
            const dobj = instantiateCdc(cdc, 'X');
            assert.equal(dobj.cdc, cdc);
            for (const a of CDCS[cdc]?.attributes ?? [])
                if (a.presence === 'M') assert.ok(find(dobj, a.name), `${cdc}.${a.name}`);
            assert.deepEqual(checkDataObject(dobj), [], cdc);
        }
        const mv = instantiateCdc('MV', 'TotW');
        assert.deepEqual(
            mv.children.map((c) => c.name),
            ['mag', 'q', 't'],
        );
        assert.deepEqual(find(mv, 'mag'), {
            kind: 'DA',
            name: 'mag',
            fc: 'MX',
            type: 'Struct',
            triggers: { dchg: true, dupd: true },
            children: [{ kind: 'DA', name: 'f', fc: 'MX', type: 'FLOAT32' }],
        });
        assert.deepEqual(
            instantiateCdc('BCR', 'TotWh').children.map((c) => c.name),
            ['actVal', 'q', 't', 'pulsQty'],
        );
    });

    test('every attribute, with option variants: no errors for all 22', () => {
        const variants = [
            { include: 'all' as const },
            { include: 'all' as const, analogue: 'both' as const, ctlModel: 4, timeActivated: true },
            {
                include: 'all' as const,
                analogue: 'i' as const,
                ctlModel: 'sbo-with-normal-security',
                settingFc: 'SE' as const,
            },
            { include: 'all' as const, inLln0: true },
            { include: 'all' as const, inLln0: false, settingFc: 'SG' as const },
        ];
        for (const cdc of ALL)
            for (const options of variants) {
                const dobj = instantiateCdc(cdc, 'X', options);
                const opts = options.inLln0 === undefined ? {} : { inLln0: options.inLln0 };
                assert.deepEqual(checkDataObject(dobj, undefined, opts), [], `${cdc} ${JSON.stringify(options)}`);
            }
        assert.equal(find(instantiateCdc('ING', 'X', { settingFc: 'SG' }), 'setVal')?.fc, 'SG');
        assert.ok(find(instantiateCdc('LPL', 'NamPlt', { inLln0: true }), 'ldNs'));
        assert.equal(find(instantiateCdc('LPL', 'NamPlt', { include: ['ldNs'], inLln0: false }), 'ldNs'), undefined);
    });

    test('controllable CDCs follow ctlModel', () => {
        const names = (o: DataObject) =>
            o.children.map((c) => c.name).filter((n) => /^(SBO|SBOw|Oper|Cancel)$/.test(n));
        assert.deepEqual(names(instantiateCdc('SPC', 'X', { ctlModel: 0 })), []);
        assert.deepEqual(names(instantiateCdc('SPC', 'X')), ['Oper']);
        const sbo = instantiateCdc('DPC', 'X', { ctlModel: 2 });
        assert.deepEqual(names(sbo), ['SBO', 'Oper', 'Cancel']);
        assert.ok(find(sbo, 'stSeld') && find(sbo, 'sboTimeout'));
        assert.equal(find(sbo, 'operTimeout'), undefined);
        const enhanced = instantiateCdc('INC', 'X', { ctlModel: 'sbo-with-enhanced-security' });
        assert.deepEqual(names(enhanced), ['SBOw', 'Oper', 'Cancel']);
        assert.equal(find(enhanced, 'ctlModel')?.value, 4);
        assert.ok(find(enhanced, 'operTimeout'));
        assert.equal(find(enhanced, 'Oper.ctlVal')?.type, 'INT32');
        assert.ok(find(enhanced, 'Oper.Check'));
        assert.equal(find(enhanced, 'Cancel.Check'), undefined);
        assert.equal(find(enhanced, 'Oper.operTm'), undefined);
        assert.equal(find(instantiateCdc('SPC', 'X', { timeActivated: true }), 'Oper.operTm')?.type, 'Timestamp');
        assert.equal(find(instantiateCdc('APC', 'X'), 'Oper.ctlVal.f')?.type, 'FLOAT32');
        assert.equal(find(instantiateCdc('APC', 'X', { analogue: 'i' }), 'Oper.ctlVal.i')?.type, 'INT32');
        assert.equal(find(instantiateCdc('APC', 'X'), 'Oper.origin.orIdent')?.type, 'OCTET STRING');
    });

    test('scaled integers bring sVC; groups are completed', () => {
        const mv = instantiateCdc('MV', 'X', { analogue: 'i' });
        assert.ok(find(mv, 'mag.i') && find(mv, 'sVC.scaleFactor'));
        assert.equal(find(instantiateCdc('MV', 'X', { include: ['sVC'] }), 'sVC'), undefined, 'forbidden with f');
        const sps = instantiateCdc('SPS', 'X', { include: ['subVal'] });
        assert.deepEqual(
            sps.children.map((c) => c.name),
            ['stVal', 'q', 't', 'subEna', 'subVal', 'subQ', 'subID'],
        );
        const org = instantiateCdc('ORG', 'X', { include: ['tstEna', 'setTstCB'] });
        assert.ok(find(org, 'setTstRef') && find(org, 'setTstCB'));
        assert.ok(find(instantiateCdc('MV', 'X', { include: ['db'] }), 'dbRef'), 'dbRef is MO(db)');
    });

    test('unknown CDC, attribute or ctlModel: BAD_INPUT', () => {
        const bad = (fn: () => unknown) =>
            assert.throws(fn, (e: unknown) => e instanceof Iec61850Error && e.code === 'BAD_INPUT');
        bad(() => instantiateCdc('XYZ', 'X'));
        bad(() => instantiateCdc('MV', 'X', { include: ['stVal'] }));
        bad(() => instantiateCdc('SPC', 'X', { ctlModel: 7 }));
        bad(() => instantiateCdc('SPC', 'X', { ctlModel: 'direct' }));
    });
});

describe('checkDataObject', () => {
    test('unknown or missing CDC: one warning, nothing else checked', () => {
        const dobj: DataObject = { kind: 'DO', name: 'X', cdc: 'HST', children: [] };
        assert.deepEqual(brief(checkDataObject(dobj)), ['warning ']);
        assert.match(checkDataObject(dobj)[0]?.message ?? '', /unknown CDC HST/);
        assert.deepEqual(brief(checkDataObject({ ...dobj, cdc: undefined } as DataObject)), ['warning ']);
        const asSps = checkDataObject(instantiateCdc('SPS', 'X'), 'SPC', {});
        assert.deepEqual(brief(warnings(asSps)), ['warning '], 'declared SPS, checked as SPC');
    });

    test('missing mandatory attributes', () => {
        assert.deepEqual(brief(checkDataObject(without(instantiateCdc('MV', 'X'), 'mag'))), ['error mag']);
        assert.deepEqual(brief(checkDataObject(without(instantiateCdc('BCR', 'X'), 'pulsQty'))), ['error pulsQty']);
        assert.deepEqual(brief(checkDataObject(without(instantiateCdc('LPL', 'X'), 'vendor'))), ['error vendor']);
        assert.deepEqual(brief(checkDataObject(without(instantiateCdc('ENC', 'X'), 'ctlModel'))), ['error ctlModel']);
    });

    test('wrong FC and wrong type, also inside constructed attributes', () => {
        const mv = instantiateCdc('MV', 'X');
        const stMag = { ...mv, children: mv.children.map((c) => (c.name === 'mag' ? { ...c, fc: 'ST' as const } : c)) };
        const f = checkDataObject(stMag);
        assert.ok(brief(f).includes('error mag'), JSON.stringify(f));
        assert.match(f.find((x) => x.attribute === 'mag')?.message ?? '', /FC ST, expected MX/);

        const bcr = instantiateCdc('BCR', 'X');
        const int32 = {
            ...bcr,
            children: bcr.children.map((c) => (c.name === 'actVal' ? { ...c, type: 'INT32' as const } : c)),
        };
        assert.deepEqual(
            checkDataObject(int32).map((x) => `${x.attribute}: ${x.message}`),
            ['actVal: type INT32, expected INT64'],
        );

        const flat = { ...mv, children: [da('mag', 'MX', 'FLOAT32'), ...mv.children.slice(1)] };
        assert.deepEqual(brief(checkDataObject(flat)), ['error mag']);

        const enc = instantiateCdc('ENC', 'X');
        const oper = find(enc, 'Oper');
        const ctlVal = oper?.children?.find((c) => c.name === 'ctlVal');
        assert.ok(ctlVal);
        ctlVal.type = 'BOOLEAN';
        oper?.children?.splice(
            oper.children.findIndex((c) => c.name === 'Check'),
            1,
        );
        assert.deepEqual(brief(checkDataObject(enc)).sort(), ['error Oper.Check', 'error Oper.ctlVal']);
    });

    test('attributes and sub data objects not in the CDC: warnings, unless extension is allowed', () => {
        const sps = instantiateCdc('SPS', 'X');
        sps.children.push(da('myVal', 'ST', 'INT32'), { kind: 'DO', name: 'sub', children: [] });
        assert.deepEqual(brief(checkDataObject(sps)), ['warning sub', 'warning myVal']);
        assert.deepEqual(checkDataObject(sps, undefined, { allowExtension: true }), []);
        const mv = instantiateCdc('MV', 'X');
        find(mv, 'mag')?.children?.push(da('x', 'MX', 'FLOAT32'));
        assert.deepEqual(brief(checkDataObject(mv)), ['warning mag.x']);
    });

    test('group conditions: substitution all-or-none, AllAtLeastOneGroup, AtLeastOne, AllOrNonePerGroup, OF, MO', () => {
        const sps = instantiateCdc('SPS', 'X');
        sps.children.push(da('subEna', 'SV', 'BOOLEAN'));
        assert.deepEqual(brief(checkDataObject(sps)), ['error subVal', 'error subQ', 'error subID']);

        const bcr = without(instantiateCdc('BCR', 'X'), 'actVal');
        bcr.children.push(da('frVal', 'ST', 'INT64'));
        const f = checkDataObject(bcr);
        assert.equal(errors(f).length, 1);
        assert.match(f[0]?.message ?? '', /AllAtLeastOneGroup/);

        const tsg = without(instantiateCdc('TSG', 'X'), 'setTm');
        assert.match(checkDataObject(tsg)[0]?.message ?? '', /AtLeastOne/);

        const org = instantiateCdc('ORG', 'X');
        org.children.push(da('setTstCB', 'SP', 'ObjectReference'), da('tstEna', 'SP', 'BOOLEAN'));
        assert.deepEqual(brief(checkDataObject(org)).sort(), ['error setTstCB', 'error setTstRef']);

        const mv = instantiateCdc('MV', 'X');
        mv.children.push(da('db', 'CF', 'INT32U'));
        assert.deepEqual(brief(checkDataObject(mv)), ['error dbRef']);
    });

    test('ctlModel value decides SBO/SBOw/Cancel/stSeld/sboTimeout/operTimeout', () => {
        const spc = instantiateCdc('SPC', 'X'); // direct-with-normal-security
        const model = find(spc, 'ctlModel');
        assert.ok(model);
        model.value = 4;
        assert.deepEqual(brief(checkDataObject(spc)).sort(), [
            'error Cancel',
            'error SBOw',
            'error operTimeout',
            'error sboTimeout',
            'error stSeld',
        ]);
        model.value = 'sbo-with-normal-security';
        assert.deepEqual(brief(checkDataObject(spc)).sort(), [
            'error Cancel',
            'error SBO',
            'error sboTimeout',
            'error stSeld',
        ]);
        model.value = 0;
        assert.deepEqual(checkDataObject(without(spc, 'Oper')), []);
        delete model.value; // unknown ctlModel: the conditions are not evaluated
        assert.deepEqual(checkDataObject(without(spc, 'Oper')), []);
    });

    test('AnalogueValue members and scaled values (MFscaledAV)', () => {
        const mv = instantiateCdc('MV', 'X');
        const mag = find(mv, 'mag');
        assert.ok(mag?.children);
        mag.children = [];
        assert.deepEqual(brief(checkDataObject(mv)), ['error mag.i, mag.f']);
        mag.children = [da('i', 'MX', 'INT32')];
        assert.deepEqual(brief(checkDataObject(mv)), ['error sVC'], 'integer without scaling');
        const withSvc = instantiateCdc('MV', 'X', { analogue: 'i' });
        assert.deepEqual(checkDataObject(withSvc), []);
        const floatOnly = instantiateCdc('MV', 'X');
        floatOnly.children.push(
            instantiateCdc('MV', 'Y', { analogue: 'i' }).children.find((c) => c.name === 'sVC') as DataAttribute,
        );
        assert.deepEqual(brief(checkDataObject(floatOnly)), ['warning sVC']);

        const apc = instantiateCdc('APC', 'X');
        find(apc, 'Oper.ctlVal')?.children?.push(da('i', 'CO', 'INT32'));
        assert.match(checkDataObject(apc)[0]?.message ?? '', /AllOnlyOneGroup/, 'AnalogueValueCtl: i or f');
    });

    test('LPL in and outside LLN0; settings with SG and SE together', () => {
        const lpl = instantiateCdc('LPL', 'NamPlt');
        assert.deepEqual(checkDataObject(lpl), [], 'LN unknown: not evaluated');
        assert.deepEqual(brief(checkDataObject(lpl, 'LPL', { inLln0: true })).sort(), [
            'error configRev',
            'error ldNs',
        ]);
        const ln0 = instantiateCdc('LPL', 'NamPlt', { inLln0: true });
        assert.deepEqual(brief(checkDataObject(ln0, 'LPL', { inLln0: false })), ['error ldNs']);

        const ing = instantiateCdc('ING', 'X', { settingFc: 'SG' });
        ing.children.push(da('setVal', 'SE', 'INT32'));
        assert.deepEqual(checkDataObject(ing), []);
        ing.children.push(da('setVal', 'SE', 'INT32'));
        assert.deepEqual(brief(checkDataObject(ing)), ['error setVal']);
        const spg = instantiateCdc('SPG', 'X');
        spg.children.push(da('setVal', 'CF', 'BOOLEAN'));
        assert.deepEqual(brief(checkDataObject(spg)), ['error setVal']);
    });

    test('the shipped heat-pump model: every DO checked; only the known Ed2.1 findings', () => {
        const model = importScl(readFileSync(path.join(ROOT, 'models', 'sdvp-heat-pump.icd')));
        let checked = 0;
        const found = new Set<string>();
        for (const ld of model.server.logicalDevices)
            for (const ln of ld.logicalNodes)
                for (const dobj of ln.dataObjects) {
                    if (!dobj.cdc || !CDCS[dobj.cdc]) continue;
                    checked++;
                    for (const f of checkDataObject(dobj, undefined, { inLln0: ln.name === 'LLN0' }))
                        found.add(`${f.severity} ${dobj.cdc}.${f.attribute}`);
                }
        assert.ok(checked > 100, `${checked} data objects checked`);
        // Open points of the model (reported): dbRef is MO(db) in Ed2.1; operTimeout is MOenhanced.
        const known = new Set(['error MV.dbRef', 'error ENC.operTimeout', 'error APC.operTimeout']);
        assert.deepEqual(
            [...found].filter((x) => !known.has(x)),
            [],
        );
    });
});
