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
import type { DataAttribute, DataObject, Server } from '../../src/protocols/iec61850/model/types';
import { carries, typeSpecOf } from '../../src/protocols/iec61850/model/values';
import { allReferences } from '../../src/protocols/iec61850/model/walk';
import { importScl } from '../../src/protocols/iec61850/scl';

const ROOT = path.join(__dirname, '..', '..');
const model = importScl(readFileSync(path.join(ROOT, 'models', 'sdvp-heat-pump.icd')));
const doc = readFileSync(path.join(ROOT, 'docs', 'heat-pump-model.md'), 'utf8');

/** The rows of the seed-item table: item, references, MMS names. */
const rows = doc
    .split('\n')
    .filter((l) => /^\| 4\.\d\.\d+ \|/.test(l))
    .map((l) => {
        const cells = l.split('|').map((c) => c.trim());
        const refs = [...(cells[4] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
        const mms = [...(cells[5] ?? '').matchAll(/`([^`]+)` `([^`]+)`/g)].map((m) => `${m[1]}/${m[2]}`);
        return { item: cells[1] as string, refs, mms };
    });

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

describe('iec61850 heat-pump model (models/sdvp-heat-pump.icd)', () => {
    test('imports without a warning: IED HP1, LD HP1LD, the LNs of the SDVP model', () => {
        assert.deepEqual(model.warnings, []);
        assert.equal(model.iedName, 'HP1');
        const lns = model.server.logicalDevices.map((d) => [d.name, d.logicalNodes.map((n) => n.lnClass)]);
        assert.equal(lns.length, 1);
        const classes = new Set(lns[0]?.[1] as string[]);
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
        assert.ok(!classes.has('DSCH') && !classes.has('DSCC'), 'the 2009 schedule classes are not used');
    });

    test('the docs table covers every seed item 4.2.1-4.2.17, 4.3.1-4.3.2, 4.4.1-4.4.6, 4.5.1-4.5.3', () => {
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
            rows.map((r) => r.item),
            want,
        );
        assert.match(doc, /\| 4\.2\.7 \| [^|]+ \| acc\.htfwd \|/);
    });

    test('every reference of the docs table exists in the model with its FC, and its MMS name is the documented one', () => {
        for (const row of rows) {
            assert.ok(row.refs.length > 0, row.item);
            assert.equal(row.mms.length, row.refs.length, row.item);
            row.refs.forEach((text, i) => {
                const ref = parseReference(text);
                assert.ok(resolve(model.server, ref), `${row.item}: ${text} is not in the model`);
                assert.equal(formatMmsReference(toMms(ref)), row.mms[i], `${row.item}: MMS name of ${text}`);
            });
        }
    });

    test('DHTP is declared in a private namespace; LLN0 names the standard one', () => {
        const ld = model.server.logicalDevices[0];
        const value = (text: string) =>
            (resolve(model.server, parseReference(text)) as DataAttribute | undefined)?.value;
        assert.equal(value('HP1LD/DHTP1.NamPlt.lnNs[EX]'), 'DERlink:SDVP:2026');
        assert.match(String(value('HP1LD/LLN0.NamPlt.ldNs[EX]')), /^IEC 61850-7-4/);
        assert.equal(value('HP1LD/FSPT1.SptVal.ctlModel[CF]'), 3, 'direct-with-enhanced-security');
        assert.equal(value('HP1LD/DHTP1.OpMod.ctlModel[CF]'), 4, 'sbo-with-enhanced-security');
        assert.equal(value('HP1LD/STMP8.Tmp.units.SIUnit[CF]'), 23, '°C');
        assert.ok(ld?.logicalNodes.find((n) => n.name === 'DHTP1')?.dataObjects.some((d) => d.name === 'OpMod'));
    });

    test('data sets resolve, and a buffered and an unbuffered report control block use them', () => {
        const lln0 = model.server.logicalDevices[0]?.logicalNodes.find((n) => n.name === 'LLN0');
        assert.ok(lln0);
        assert.deepEqual(
            lln0.dataSets?.map((d) => d.name),
            ['DS_HP', 'DS_ST'],
        );
        for (const ds of lln0.dataSets ?? []) {
            for (const m of ds.members) assert.ok(resolve(model.server, m), `${ds.name}: ${formatReference(m)}`);
        }
        const rcbs = lln0.reportControls ?? [];
        const brcb = rcbs.find((r) => r.name === 'brcbHP01');
        const urcb = rcbs.find((r) => r.name === 'urcbHP01');
        assert.equal(brcb?.buffered, true);
        assert.equal(brcb?.dataSet, 'DS_HP');
        assert.equal(brcb?.intgPd, 60000);
        assert.deepEqual(brcb?.trgOps, { dchg: true, qchg: true, dupd: false, period: true, gi: true });
        assert.equal(urcb?.buffered, false);
        assert.equal(urcb?.dataSet, 'DS_ST');
        assert.equal(lln0.logControls?.[0]?.logName, 'HPLog');
    });

    test('every node of the model round-trips losslessly through its MMS name, within 64 characters', () => {
        const refs = allReferences(model.server);
        assert.ok(refs.length > 900, `${refs.length} references`);
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
