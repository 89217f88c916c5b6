import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatReference, fromMms, toMms } from '../../src/protocols/iec61850/model/reference';
import type { DataAttribute, DataObject, LogicalNode, Server } from '../../src/protocols/iec61850/model/types';
import { allReferences } from '../../src/protocols/iec61850/model/walk';
import { importScl, SclError, startTagOffsets } from '../../src/protocols/iec61850/scl';

const SMALL = readFileSync(path.join(__dirname, '..', 'fixtures', 'iec61850', 'scl', 'small.icd'), 'utf8');

function ln(server: Server, ld: string, name: string): LogicalNode {
    const found = server.logicalDevices.find((d) => d.name === ld)?.logicalNodes.find((n) => n.name === name);
    assert.ok(found, `${ld}/${name}`);
    return found;
}

function child(node: DataObject | DataAttribute, name: string): DataObject | DataAttribute {
    const kids = node.kind === 'DO' ? node.children : (node.children ?? []);
    const c = kids.find((k) => k.name === name);
    assert.ok(c, `${node.name}.${name}`);
    return c;
}

function expectSclError(text: string, pattern: RegExp, line?: number): SclError {
    try {
        importScl(text);
    } catch (err) {
        assert.ok(err instanceof SclError, `expected SclError, got ${String(err)}`);
        assert.match(err.message, pattern);
        if (line !== undefined) assert.equal(err.line, line, err.message);
        return err;
    }
    assert.fail('expected an SclError');
}

/** The fixture with one piece of text replaced (the replacement must happen). */
function variant(from: string, to: string): string {
    assert.ok(SMALL.includes(from), from);
    return SMALL.replace(from, to);
}

const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('iec61850 SCL import: the tree, values and control blocks', () => {
    const model = importScl(SMALL);

    test('IED, LDs (IEDName+inst or ldName), LNs (prefix+class+inst) in file order', () => {
        assert.equal(model.iedName, 'HP1');
        assert.deepEqual(
            model.server.logicalDevices.map((d) => [d.name, d.logicalNodes.map((n) => n.name)]),
            [
                ['HP1LD', ['LLN0', 'MMXN1', 'outSTMP2']],
                ['HP1Aux', ['LLN0', 'GGIO1']],
            ],
        );
        const mmxn = ln(model.server, 'HP1LD', 'MMXN1');
        assert.equal(mmxn.lnClass, 'MMXN');
        assert.equal(mmxn.inst, '1');
        assert.equal(mmxn.lnType, 'MMXN_T');
        assert.equal(mmxn.desc, 'electrical power');
        assert.equal(ln(model.server, 'HP1LD', 'outSTMP2').prefix, 'out');
    });

    test('types resolve into DOs and DAs with CDC, FC, basic type, triggers, counts and SDOs', () => {
        const watt = ln(model.server, 'HP1LD', 'MMXN1').dataObjects[0] as DataObject;
        assert.equal(watt.cdc, 'MV');
        const mag = child(watt, 'mag') as DataAttribute;
        assert.equal(mag.type, 'Struct');
        assert.equal(mag.fc, 'MX');
        assert.deepEqual(mag.triggers, { dchg: true, qchg: false, dupd: false });
        assert.deepEqual(child(mag, 'f'), { kind: 'DA', name: 'f', fc: 'MX', type: 'FLOAT32', value: 1.5 });
        assert.equal((child(watt, 'q') as DataAttribute).type, 'Quality');
        assert.equal((child(watt, 'units') as DataAttribute).fc, 'CF');
        assert.equal((child(child(watt, 'units'), 'SIUnit') as DataAttribute).fc, 'CF', 'a BDA takes its DA FC');
        const vals = child(child(ln(model.server, 'HP1LD', 'MMXN1').dataObjects[1] as DataObject, 'phsA'), 'vals');
        assert.equal((vals as DataAttribute).count, 3);
    });

    test('initial values: DA Val in the templates, DAI in the instance, enums as ordinals, INT64 as bigint', () => {
        const lln0 = ln(model.server, 'HP1LD', 'LLN0');
        const mod = lln0.dataObjects[0] as DataObject;
        assert.equal((child(mod, 'stVal') as DataAttribute).value, 1);
        assert.equal((child(mod, 'ctlModel') as DataAttribute).value, 0);
        assert.equal((child(lln0.dataObjects[1] as DataObject, 'vendor') as DataAttribute).value, 'DERlink');
        assert.equal((child(lln0.dataObjects[1] as DataObject, 'swRev') as DataAttribute).value, '1.0');
        const watt = ln(model.server, 'HP1LD', 'MMXN1').dataObjects[0] as DataObject;
        assert.equal((child(child(watt, 'units'), 'SIUnit') as DataAttribute).value, 38);
        assert.equal((child(watt, 'db') as DataAttribute).value, 500);
        const ind = ln(model.server, 'HP1Aux', 'GGIO1').dataObjects[0] as DataObject;
        assert.equal((child(ind, 'stVal') as DataAttribute).value, true);
        assert.equal((child(ind, 'pos') as DataAttribute).value, '10');
        assert.equal((child(ind, 'cnt') as DataAttribute).value, 9007199254740993n);
        // every instance has its own values
        const tmp = ln(model.server, 'HP1LD', 'outSTMP2').dataObjects[0] as DataObject;
        assert.equal((child(child(tmp, 'units'), 'SIUnit') as DataAttribute).value, undefined);
        assert.deepEqual(model.enumTypes.SIUnit, { 23: '°C', 38: 'W' });
    });

    test('data sets, report, log and setting control blocks with the 61850-6 defaults', () => {
        const lln0 = ln(model.server, 'HP1LD', 'LLN0');
        assert.deepEqual(
            lln0.dataSets?.[0]?.members.map((m) => formatReference(m)),
            ['HP1LD/MMXN1.Watt[MX]', 'HP1LD/MMXN1.Watt.mag.f[MX]', 'HP1Aux/GGIO1.Ind.stVal[ST]']
                .map((t) => t.replace('[', ' ['))
                .map((t) => t.replace(' [', '[')),
        );
        const [brcb, urcb] = lln0.reportControls ?? [];
        assert.deepEqual(brcb, {
            name: 'brcbHP01',
            buffered: true,
            rptId: 'HP1/brcb',
            dataSet: 'DS_HP',
            confRev: 3,
            intgPd: 60000,
            bufTime: 50,
            trgOps: { dchg: true, qchg: true, dupd: false, period: true, gi: true },
            optFields: {
                seqNum: true,
                timeStamp: true,
                dataSet: true,
                reasonCode: true,
                dataRef: false,
                entryID: true,
                configRef: true,
                bufOvfl: true,
            },
            indexed: true,
            max: 5,
        });
        assert.equal(urcb?.buffered, false);
        assert.equal(urcb?.max, 1);
        assert.equal(urcb?.rptId, '');
        assert.deepEqual(lln0.logControls?.[0], {
            name: 'EventLog',
            dataSet: 'DS_HP',
            logName: 'HPLog',
            logEna: true,
            reasonCode: true,
            intgPd: 0,
            trgOps: { dchg: true, qchg: false, dupd: false, period: false, gi: true },
        });
        assert.deepEqual(lln0.settingControl, { numOfSGs: 2, actSG: 1 });
        assert.deepEqual(lln0.logs, ['HPLog']);
    });

    test('unsupported content is a warning naming the element, with its line', () => {
        assert.deepEqual(
            model.warnings.map((w) => [w.message, w.line]),
            [
                ['GSEControl is not supported and was ignored', lineOf(SMALL, '<GSEControl')],
                ['DAI nope is not an attribute of the type and was ignored', lineOf(SMALL, '<DAI name="nope"')],
            ],
        );
    });

    test('every node of the imported model round-trips through its MMS name', () => {
        const refs = allReferences(model.server);
        assert.ok(refs.length > 40, `${refs.length} references`);
        for (const ref of refs) assert.deepEqual(fromMms(toMms(ref)), ref, formatReference(ref));
    });

    test('start tags map to lines, comments and CDATA skipped', () => {
        const text = '<a>\n<!-- <x> -->\n<b/><![CDATA[<y>]]>\n<?pi <z>?><c></c></a>';
        assert.deepEqual(
            startTagOffsets(text).map((o) => text.slice(o, o + 2)),
            ['<a', '<b', '<c'],
        );
    });
});

describe('iec61850 SCL import: malformed and hostile files give a clear error with the line', () => {
    test('not XML, not SCL, no templates, no IED', () => {
        const e = expectSclError(SMALL.replace('</LN0>', '</LNX>'), /not well-formed/);
        assert.equal(e.code, 'SCL_MALFORMED');
        assert.ok(e.line && e.line > 1);
        expectSclError('<foo/>', /root element is <foo>/);
        expectSclError('<SCL xmlns="urn:x"/>', /namespace/);
        expectSclError('<SCL xmlns="http://www.iec.ch/61850/2003/SCL"/>', /no DataTypeTemplates/);
        expectSclError(SMALL.replace(/<IED [\s\S]*<\/IED>/, ''), /no IED/);
        assert.throws(() => importScl(SMALL, { iedName: 'HP9' }), /no IED "HP9"/);
        expectSclError(
            `<!DOCTYPE x [<!ENTITY a "b">]>${SMALL.replace(/^<\?xml[^>]*>/, '')}`,
            /not well-formed.*DOCTYPE|declarations/,
        );
    });

    test('unknown type references name the id and the line of the reference', () => {
        const t = variant('<DO name="Tmp" type="MV_T"/>', '<DO name="Tmp" type="MV_X"/>');
        const e = expectSclError(t, /type "MV_X" of Tmp is not a DOType/, lineOf(t, 'type="MV_X"'));
        assert.equal(e.code, 'SCL_INVALID');
        assert.match(e.context ?? '', /MV_X/);
        expectSclError(variant('lnType="STMP_T"/>', 'lnType="NOPE"/>'), /lnType "NOPE"/);
        expectSclError(variant('type="Unit" fc="CF"', 'type="Unitx" fc="CF"'), /"Unitx" of units is not a DAType/);
        expectSclError(
            variant('bType="Enum" type="Beh"', 'bType="Enum" type="Behx"'),
            /"Behx" of stVal is not an EnumType/,
        );
        expectSclError(variant('bType="INT32U" fc="CF"', 'bType="INT33" fc="CF"'), /bType "INT33"/);
        expectSclError(variant('fc="CF"><Val>500', 'fc="ZZ"><Val>500'), /fc "ZZ"/);
    });

    test('recursive types, huge counts, duplicates, missing attributes and bad values', () => {
        expectSclError(
            variant('<SDO name="phsA" type="HVAL_T"/>', '<SDO name="phsA" type="HAR_T"/>'),
            /refers to itself/,
        );
        expectSclError(
            variant(
                '<DAType id="AV"><BDA name="f" bType="FLOAT32">',
                '<DAType id="AV"><BDA name="g" bType="Struct" type="AV"/><BDA name="f" bType="FLOAT32">',
            ),
            /DAType "AV" refers to itself/,
        );
        expectSclError(variant('count="3"', 'count="100000"'), /limit of 1024/);
        expectSclError(variant('count="3"', 'count="n"'), /count "n"/);
        expectSclError(
            variant('<EnumType id="Beh">', '<EnumType id="Beh"></EnumType><EnumType id="Beh">'),
            /defined twice/,
        );
        expectSclError(
            variant(
                '<LN lnClass="GGIO" inst="1" lnType="GGIO_T"/>',
                '<LN lnClass="GGIO" inst="1" lnType="GGIO_T"/><LN lnClass="GGIO" inst="1" lnType="GGIO_T"/>',
            ),
            /"GGIO1" is defined twice/,
        );
        expectSclError(
            variant(
                '<DA name="stVal" bType="BOOLEAN"',
                '<DA name="stVal" bType="BOOLEAN" fc="ST"/><DA name="stVal" bType="BOOLEAN"',
            ),
            /stVal appears twice/,
        );
        expectSclError(
            variant('<LN prefix="out" lnClass="STMP"', '<LN prefix="out" lnClassX="STMP"'),
            /needs the attribute lnClass/,
        );
        expectSclError(
            variant('<Val>500</Val>', '<Val>five</Val>'),
            /"five" is not a valid INT32U/,
            lineOf(SMALL, '<Val>500</Val>'),
        );
        expectSclError(variant('<Val>status-only</Val>', '<Val>maybe</Val>'), /not a literal of EnumType "CtlModel"/);
        expectSclError(variant('datSet="DS_HP"/>', 'datSet="DS_NONE"/>'), /urcbHP01 refers to data set "DS_NONE"/);
        expectSclError(variant('ldInst="AUX"', 'ldInst="AUX2"'), /ldInst "AUX2" is not a logical device/);
        expectSclError(variant('<RptEnabled max="5"/>', '<RptEnabled max="500"/>'), /max="500"/);
    });

    test('size and depth limits of the XML layer apply', () => {
        assert.throws(
            () => importScl(SMALL, { limits: { maxBytes: 100 } }),
            (e: unknown) => e instanceof SclError && /limit of 100/.test(e.message),
        );
        assert.throws(
            () => importScl(SMALL, { limits: { maxDepth: 5 } }),
            (e: unknown) => e instanceof SclError && /nested/.test(e.message),
        );
    });
});
