import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
    formatMmsReference,
    formatReference,
    fromMms,
    type ObjectReference,
    parseReference,
    toMms,
} from '../../src/protocols/iec61850/model/reference';
import type { DataAttribute, DataObject, LogicalNode, Server } from '../../src/protocols/iec61850/model/types';
import { carries, typeSpecOf } from '../../src/protocols/iec61850/model/values';
import { allReferences } from '../../src/protocols/iec61850/model/walk';
import { importScl } from '../../src/protocols/iec61850/scl';

/**
 * The heat-pump model DERlink ships (models/sdvp-heat-pump.icd) against its documentation
 * (docs/heat-pump-model.md): the seed-item table is parsed here, so the two cannot drift apart.
 */

const ROOT = path.join(__dirname, '..', '..');
const model = importScl(readFileSync(path.join(ROOT, 'models', 'sdvp-heat-pump.icd')));
const doc = readFileSync(path.join(ROOT, 'docs', 'heat-pump-model.md'), 'utf8');
const LD = 'HP1LD';

interface Row {
    item: string;
    sdvp: string;
    refs: string[];
    mms: string[];
}

/** The table under "## Seed items", its columns found by their headers. */
function seedTable(text: string): Row[] {
    const section = text.split(/^## /m).find((s) => s.startsWith('Seed items'));
    assert.ok(section, 'docs/heat-pump-model.md has a "## Seed items" section');
    const lines = section.split('\n').filter((l) => l.startsWith('|'));
    const cells = (l: string) =>
        l
            .slice(1, -1)
            .split('|')
            .map((c) => c.trim());
    const head = cells(lines[0] as string);
    const col = (prefix: string) => {
        const i = head.findIndex((h) => h.startsWith(prefix));
        assert.ok(i >= 0, `column "${prefix}" in ${head.join(' | ')}`);
        return i;
    };
    const [item, sdvp, ref, mms] = [col('Item'), col('SDVPv1'), col('Reference'), col('MMS')];
    return lines.slice(2).map((l) => {
        const c = cells(l);
        assert.equal(c.length, head.length, `row has ${head.length} cells: ${l}`);
        return {
            item: c[item] as string,
            sdvp: c[sdvp] as string,
            refs: [...(c[ref] as string).matchAll(/`([^`]+)`/g)].map((m) => m[1] as string),
            mms: [...(c[mms] as string).matchAll(/`([^`]+)` `([^`]+)`/g)].map((m) => `${m[1]}/${m[2]}`),
        };
    });
}
const rows = seedTable(doc);

const device = model.server.logicalDevices.find((d) => d.name === LD);
function lnNamed(name: string): LogicalNode {
    const ln = device?.logicalNodes.find((n) => n.name === name);
    assert.ok(ln, `${LD}/${name} is in the model`);
    return ln;
}

/** The model node a reference names, checked to carry its FC; undefined when there is none. */
function resolve(server: Server, ref: ObjectReference): DataObject | DataAttribute | undefined {
    const ln = server.logicalDevices.find((d) => d.name === ref.ld)?.logicalNodes.find((n) => n.name === ref.ln);
    let node: DataObject | DataAttribute | undefined;
    let kids: Array<DataObject | DataAttribute> = ln?.dataObjects ?? [];
    for (const step of ref.path) {
        node = kids.find((k) => k.name === step.name);
        if (!node) return undefined;
        kids = node.kind === 'DO' ? node.children : (node.children ?? []);
    }
    return node && ref.fc && carries(node, ref.fc) ? node : undefined;
}

function valueAt(text: string): unknown {
    const node = resolve(model.server, parseReference(text));
    assert.ok(node?.kind === 'DA', `${text} is a data attribute of the model`);
    return node.value;
}

describe('iec61850 heat-pump model (models/sdvp-heat-pump.icd)', () => {
    test('imports without a warning: IED HP1, one LD HP1LD, the LN classes of the SDVP model', () => {
        assert.deepEqual(model.warnings, []);
        assert.equal(model.iedName, 'HP1');
        assert.deepEqual(
            model.server.logicalDevices.map((d) => d.name),
            [LD],
        );
        const classes = new Set(device?.logicalNodes.map((n) => n.lnClass));
        for (const c of [
            'LLN0',
            'LPHD',
            'DHTP',
            'MHET',
            'MFLW',
            'STMP',
            'MMTR',
            'MMXN',
            'FSPT',
            'KPMP',
            'FSCH',
            'FSCC',
        ]) {
            assert.ok(classes.has(c), c);
        }
        assert.ok(!classes.has('DSCH') && !classes.has('DSCC'), 'the 7-420 Ed1 schedule classes are not used');
    });

    test('every LN has Beh (LPHD excepted, as in 7-4) and LLN0 has Mod; each temperature has its own described STMP', () => {
        for (const ln of device?.logicalNodes ?? []) {
            if (ln.lnClass === 'LPHD') continue;
            assert.ok(
                ln.dataObjects.some((d) => d.name === 'Beh'),
                `${ln.name} has Beh`,
            );
        }
        assert.ok(lnNamed('LLN0').dataObjects.some((d) => d.name === 'Mod'));
        const lphd = lnNamed('LPHD1').dataObjects.map((d) => d.name);
        for (const d of ['PhyNam', 'PhyHealth', 'Proxy']) assert.ok(lphd.includes(d), `LPHD1.${d}`);
        const stmp = device?.logicalNodes.filter((n) => n.lnClass === 'STMP') ?? [];
        assert.equal(stmp.length, 8);
        assert.equal(new Set(stmp.map((n) => n.desc)).size, 8, 'each STMP says which temperature it is');
        for (const n of stmp) assert.equal(valueAt(`${LD}/${n.name}.Tmp.units.SIUnit[CF]`), 23, `${n.name} in °C`);
    });

    test('the docs table lists every seed item 4.2.1-4.5.3 in order, with the SDVPv1 names the seed gives', () => {
        const want = [
            ...Array.from({ length: 17 }, (_, i) => `4.2.${i + 1}`),
            '4.3.1',
            '4.3.2',
            ...Array.from({ length: 6 }, (_, i) => `4.4.${i + 1}`),
            '4.5.1',
            '4.5.2',
            '4.5.3',
        ];
        assert.deepEqual(
            rows.map((r) => r.item).filter((i) => /^4\./.test(i)),
            want,
        );
        const sdvp: Record<string, string> = {
            '4.2.6': 'acc.hflow',
            '4.2.7': 'acc.htfwd',
            '4.2.8': 'acc.htret',
            '4.2.10': 'acc.pwhp',
            '4.2.11': 'acc.tttop',
            '4.2.12': 'acc.wflow',
            '4.2.13': 'acc.wcin',
            '4.2.14': 'acc.whout',
            '4.2.16': 'acc.rtind',
            '4.2.17': 'acc.rtoutd',
            '4.4.1': 'pws_relay1',
            '4.4.3': 'comfort_min, comfort_max',
            '4.4.5': 'enstyrerapp_mode',
            '4.5.1': 'comfort_min, comfort_max',
        };
        for (const [item, name] of Object.entries(sdvp)) {
            assert.equal(rows.find((r) => r.item === item)?.sdvp, name, item);
        }
        for (const [item, note] of [
            ['4.2.1', /can be calculated/],
            ['4.2.4', /internal to the HP/],
            ['4.2.5', /can be calculated/],
            ['4.2.15', /N\/A in SDVP/],
        ] as const) {
            assert.match(rows.find((r) => r.item === item)?.sdvp ?? '', note, item);
        }
    });

    test('every reference of the docs table exists in the model with its FC, and its MMS name is the documented one', () => {
        let n = 0;
        for (const row of rows) {
            assert.ok(row.refs.length > 0, row.item);
            assert.equal(row.mms.length, row.refs.length, `${row.item}: one MMS name per reference`);
            row.refs.forEach((text, i) => {
                const ref = parseReference(text);
                assert.ok(ref.fc, `${row.item}: ${text} names its FC`);
                assert.ok(resolve(model.server, ref), `${row.item}: ${text} is not in the model`);
                const mms = toMms(ref);
                assert.ok(mms.itemId.length <= 64, mms.itemId);
                assert.equal(formatMmsReference(mms), row.mms[i], `${row.item}: MMS name of ${text}`);
                n++;
            });
        }
        assert.ok(n >= 40, `${n} references checked`);
    });

    test('DHTP is declared in a private namespace; LLN0 names the standard one', () => {
        assert.equal(valueAt(`${LD}/DHTP1.NamPlt.lnNs[EX]`), 'DERlink:SDVP:2026');
        assert.equal(valueAt(`${LD}/LLN0.NamPlt.ldNs[EX]`), 'IEC 61850-7-4:2007B');
        for (const ln of device?.logicalNodes ?? []) {
            if (ln.lnClass === 'DHTP') continue;
            assert.equal(resolve(model.server, parseReference(`${LD}/${ln.name}.NamPlt.lnNs[EX]`)), undefined, ln.name);
        }
    });

    test('control models, units and enumerations carry the 7-3 ordinals', () => {
        assert.equal(valueAt(`${LD}/FSPT1.SptVal.ctlModel[CF]`), 3, 'direct-with-enhanced-security');
        assert.equal(valueAt(`${LD}/FSPT2.SptVal.ctlModel[CF]`), 3, 'direct-with-enhanced-security');
        assert.equal(valueAt(`${LD}/DHTP1.OpMod.ctlModel[CF]`), 4, 'sbo-with-enhanced-security');
        assert.equal(valueAt(`${LD}/KPMP1.OpCtl.ctlModel[CF]`), 1, 'direct-with-normal-security');
        assert.equal(valueAt(`${LD}/FSCH1.EnaReq.ctlModel[CF]`), 1, 'direct-with-normal-security');
        for (const co of ['SBOw', 'Oper', 'Cancel']) {
            assert.ok(resolve(model.server, parseReference(`${LD}/DHTP1.OpMod.${co}[CO]`)), `DHTP1.OpMod.${co}`);
        }
        assert.equal(resolve(model.server, parseReference(`${LD}/KPMP1.OpCtl.Cancel[CO]`)), undefined);
        assert.equal(valueAt(`${LD}/MMXN1.Watt.units.SIUnit[CF]`), 62);
        assert.equal(valueAt(`${LD}/MHET1.HeatOut.units.SIUnit[CF]`), 38);
        assert.equal(valueAt(`${LD}/MHET1.HeatOut.units.multiplier[CF]`), 3);
        assert.equal(valueAt(`${LD}/MHET1.AccmHeatOut.units.SIUnit[CF]`), 72);
        assert.equal(valueAt(`${LD}/MMTR1.TotWh.units.SIUnit[CF]`), 72);
        assert.equal(valueAt(`${LD}/MFLW1.FlwRte.units.SIUnit[CF]`), 45);
        const e = model.enumTypes;
        const ord = (type: string, literal: string) =>
            Number(Object.entries(e[type] ?? {}).find(([, l]) => l === literal)?.[0]);
        for (const [literal, n] of [
            ['°C', 23],
            ['J', 31],
            ['W', 38],
            ['m³/s', 45],
            ['Watts', 62],
            ['Wh', 72],
        ] as const) {
            assert.equal(ord('SIUnit', literal), n, literal);
        }
        assert.equal(ord('Multiplier', 'k'), 3);
        assert.equal(ord('Multiplier', 'm'), -3);
        assert.deepEqual(e.CtlModel, {
            0: 'status-only',
            1: 'direct-with-normal-security',
            2: 'sbo-with-normal-security',
            3: 'direct-with-enhanced-security',
            4: 'sbo-with-enhanced-security',
        });
        assert.deepEqual(e.Beh, { 1: 'on', 2: 'on-blocked', 3: 'test', 4: 'test/blocked', 5: 'off' });
    });

    test('schedules: each FSCC controls an existing object from an existing FSCH holding NumEntr entries', () => {
        for (const i of [1, 2, 3]) {
            const target = String(valueAt(`${LD}/FSCC${i}.CtlEnt.setSrcRef[SP]`));
            const ref = parseReference(target);
            const ln = lnNamed(ref.ln);
            assert.ok(
                ln.dataObjects.some((d) => d.name === ref.path[0]?.name),
                `FSCC${i} controls ${target}`,
            );
            assert.equal(valueAt(`${LD}/FSCC${i}.Schd01.setSrcRef[SP]`), `${LD}/FSCH${i}`);
            const fsch = lnNamed(`FSCH${i}`);
            const entries = fsch.dataObjects.filter((d) => /^Val(SPG|ASG|ENG)\d{3}$/.test(d.name));
            assert.equal(entries.length, valueAt(`${LD}/FSCH${i}.NumEntr.setVal[SP]`), `FSCH${i} entries`);
        }
    });

    test('data sets resolve member by member with their FC; the buffered and unbuffered RCBs and the log use them', () => {
        const lln0 = lnNamed('LLN0');
        const sets = lln0.dataSets ?? [];
        assert.deepEqual(
            sets.map((d) => d.name),
            ['DS_HP', 'DS_ST'],
        );
        for (const ds of sets) {
            assert.ok(ds.members.length > 0, ds.name);
            const seen = new Set<string>();
            for (const m of ds.members) {
                const text = formatReference(m);
                assert.ok(m.fc, `${ds.name}: ${text} has an FC`);
                assert.ok(resolve(model.server, m), `${ds.name}: ${text} is in the model with FC ${m.fc}`);
                assert.ok(toMms(m).itemId.length <= 64, text);
                assert.ok(!seen.has(text), `${ds.name}: ${text} twice`);
                seen.add(text);
            }
        }
        const names = new Set(sets.map((d) => d.name));
        const rcbs = lln0.reportControls ?? [];
        const brcb = rcbs.find((r) => r.name === 'brcbHP01');
        const urcb = rcbs.find((r) => r.name === 'urcbHP01');
        assert.equal(brcb?.buffered, true);
        assert.equal(urcb?.buffered, false);
        for (const rc of [brcb, urcb]) {
            assert.ok(rc?.dataSet && names.has(rc.dataSet), `${rc?.name} uses an existing data set`);
            assert.ok(rc.max >= 1 && rc.trgOps.gi && rc.trgOps.dchg, rc.name);
        }
        assert.equal(brcb?.dataSet, 'DS_HP');
        assert.equal(brcb?.intgPd, 60000);
        assert.deepEqual(brcb?.trgOps, { dchg: true, qchg: true, dupd: false, period: true, gi: true });
        assert.equal(brcb?.optFields.entryID, true);
        // The first members are those of the wire note's report example (§5.7).
        assert.deepEqual(
            sets[0]?.members.slice(0, 4).map((m) => formatMmsReference(toMms(m))),
            [`${LD}/MMXN1$MX$Watt`, `${LD}/MMTR1$ST$TotWh`, `${LD}/STMP1$MX$Tmp`, `${LD}/DHTP1$ST$OpModSt`],
        );
        const log = lln0.logControls?.[0];
        assert.ok(log?.dataSet && names.has(log.dataSet));
        assert.ok(lln0.logs?.includes(log.logName), `log ${log.logName} exists`);
    });

    test('every node round-trips losslessly through its MMS name, within 64 characters', () => {
        const refs = allReferences(model.server);
        assert.ok(refs.length > 1000, `${refs.length} references`);
        const seen = new Set<string>();
        for (const ref of refs) {
            const mms = toMms(ref);
            assert.ok(mms.itemId.length <= 64, mms.itemId);
            assert.deepEqual(fromMms(mms), ref, formatReference(ref));
            assert.deepEqual(parseReference(formatReference(ref)), ref);
            seen.add(formatMmsReference(mms));
        }
        assert.equal(seen.size, refs.length, 'MMS names are unique');
    });

    test('every FCD has an MMS type (what GetDataDefinition answers)', () => {
        const fcds = allReferences(model.server).filter((r) => r.fc !== undefined);
        assert.ok(fcds.length > 800, `${fcds.length}`);
        for (const ref of fcds) {
            const node = resolve(model.server, ref);
            assert.ok(node, formatReference(ref));
            const spec = typeSpecOf(node, ref.fc);
            assert.ok(spec.kind === 'structure' || node.kind === 'DA', formatReference(ref));
        }
    });
});
