import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatReference, fromMms, toMms } from '../../src/protocols/iec61850/model/reference';
import type { DataAttribute, DataObject, LogicalNode, Server } from '../../src/protocols/iec61850/model/types';
import { valueToData } from '../../src/protocols/iec61850/model/values';
import { allReferences } from '../../src/protocols/iec61850/model/walk';
import {
    elementOffsets,
    importScl,
    MAX_COUNT,
    MAX_WARNINGS,
    parseVal,
    SclError,
    startTagOffsets,
} from '../../src/protocols/iec61850/scl';
import { parseXml, type XmlElement } from '../../src/protocols/xml';

const SMALL = readFileSync(path.join(__dirname, '..', 'fixtures', 'iec61850', 'scl', 'small.icd'), 'utf8');
const NS = 'http://www.iec.ch/61850/2003/SCL';
const LD0 = 'SCL/IED[HP1]/AccessPoint[AP1]/Server/LDevice[LD]';
const TPL = 'SCL/DataTypeTemplates';

function ln(server: Server, ld: string, name: string): LogicalNode {
    const found = server.logicalDevices.find((d) => d.name === ld)?.logicalNodes.find((n) => n.name === name);
    assert.ok(found, `${ld}/${name}`);
    return found;
}

/** The node at a dotted path below an LN. */
function at(lnode: LogicalNode, dotted: string): DataObject | DataAttribute {
    const [first, ...rest] = dotted.split('.');
    let node: DataObject | DataAttribute | undefined = lnode.dataObjects.find((d) => d.name === first);
    for (const name of rest) {
        const kids: Array<DataObject | DataAttribute> = node?.kind === 'DO' ? node.children : (node?.children ?? []);
        node = kids.find((k) => k.name === name);
    }
    assert.ok(node, `${lnode.name}.${dotted}`);
    return node;
}

const value = (lnode: LogicalNode, dotted: string) => (at(lnode, dotted) as DataAttribute).value;

/** Line (1-based) of the first occurrence of `needle`. */
function lineOf(text: string, needle: string): number {
    const i = text.indexOf(needle);
    assert.ok(i >= 0, needle);
    return text.slice(0, i).split('\n').length;
}

/** The fixture with one piece of text replaced (the replacement must happen). */
function variant(from: string, to: string, base = SMALL): string {
    assert.ok(base.includes(from), from);
    return base.replace(from, to);
}

interface Expected {
    message: RegExp;
    code?: 'SCL_INVALID' | 'SCL_MALFORMED';
    path?: string;
    /** The line, or a needle whose line it is in the failing text. */
    line?: number | string;
}

function expectSclError(text: string, want: Expected): SclError {
    let caught: unknown;
    try {
        importScl(text);
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof SclError, `expected an SclError, got ${String(caught)}`);
    assert.match(caught.message, want.message);
    assert.equal(caught.code, want.code ?? 'SCL_INVALID', caught.message);
    if (want.path !== undefined) assert.equal(caught.path, want.path, caught.message);
    if (want.line !== undefined) {
        const line = typeof want.line === 'number' ? want.line : lineOf(text, want.line);
        assert.equal(caught.line, line, caught.message);
        const shown = (caught.context ?? '').replace(/^…/, '').slice(0, 20);
        assert.ok(shown && text.split('\n')[line - 1]?.includes(shown), `${caught.context} is not line ${line}`);
    }
    return caught;
}

function warningsOf(text: string) {
    return importScl(text).warnings;
}

// ---------------------------------------------------------------------------------------------

describe('iec61850 SCL import: the tree of the small ICD', () => {
    const model = importScl(SMALL);
    const s = model.server;

    test('IED, LDs (IEDName+inst or ldName) and LNs (prefix+class+inst) in file order, with their SCL attributes', () => {
        assert.equal(model.iedName, 'HP1');
        assert.deepEqual(
            s.logicalDevices.map((d) => [d.name, d.logicalNodes.map((n) => n.name)]),
            [
                ['HP1LD', ['LLN0', 'MMXN1', 'outSTMP2']],
                ['HP1Aux', ['LLN0', 'GGIO1']],
            ],
        );
        const stmp = ln(s, 'HP1LD', 'outSTMP2');
        assert.deepEqual([stmp.prefix, stmp.lnClass, stmp.inst, stmp.lnType], ['out', 'STMP', '2', 'STMP_T']);
        const lln0 = ln(s, 'HP1LD', 'LLN0');
        assert.deepEqual([lln0.prefix, lln0.lnClass, lln0.inst, lln0.lnType], [undefined, 'LLN0', undefined, 'LLN0_T']);
        assert.equal(ln(s, 'HP1LD', 'MMXN1').desc, 'power > 0 is consumption');
        assert.equal(lln0.lnNs, 'IEC 61850-7-4:2007B', 'NamPlt.lnNs with a value');
        assert.equal(ln(s, 'HP1Aux', 'LLN0').lnNs, undefined);
    });

    test('MMXN1 exactly: MV with mag.f, units enum, db; an SDO with an array of structures and a DAI ix value', () => {
        const trg = (dchg: boolean, qchg: boolean) => ({ dchg, qchg, dupd: false });
        assert.deepEqual(ln(s, 'HP1LD', 'MMXN1'), {
            name: 'MMXN1',
            lnClass: 'MMXN',
            inst: '1',
            lnType: 'MMXN_T',
            desc: 'power > 0 is consumption',
            dataObjects: [
                {
                    kind: 'DO',
                    name: 'Watt',
                    cdc: 'MV',
                    children: [
                        {
                            kind: 'DA',
                            name: 'mag',
                            fc: 'MX',
                            type: 'Struct',
                            triggers: trg(true, false),
                            children: [{ kind: 'DA', name: 'f', fc: 'MX', type: 'FLOAT32', value: 1.5 }],
                        },
                        { kind: 'DA', name: 'q', fc: 'MX', type: 'Quality', triggers: trg(false, true) },
                        { kind: 'DA', name: 't', fc: 'MX', type: 'Timestamp' },
                        {
                            kind: 'DA',
                            name: 'units',
                            fc: 'CF',
                            type: 'Struct',
                            children: [
                                { kind: 'DA', name: 'SIUnit', fc: 'CF', type: 'ENUMERATED', value: 38 },
                                { kind: 'DA', name: 'multiplier', fc: 'CF', type: 'ENUMERATED' },
                            ],
                        },
                        { kind: 'DA', name: 'db', fc: 'CF', type: 'INT32U', value: 500 },
                    ],
                },
                {
                    kind: 'DO',
                    name: 'Har',
                    cdc: 'HMV',
                    children: [
                        {
                            kind: 'DO',
                            name: 'phsA',
                            cdc: 'CMV',
                            children: [
                                {
                                    kind: 'DA',
                                    name: 'vals',
                                    fc: 'MX',
                                    type: 'Struct',
                                    count: 3,
                                    children: [{ kind: 'DA', name: 'f', fc: 'MX', type: 'FLOAT32', value: 1.5 }],
                                },
                                { kind: 'DA', name: 'num', fc: 'CF', type: 'INT16', count: 3, value: [0, 7, 0] },
                            ],
                        },
                    ],
                },
            ],
        });
    });

    test('GGIO1 exactly: SPC with Oper structure and Enum ctlModel (DAI overrides the DOType default), SPS values', () => {
        const g = ln(s, 'HP1Aux', 'GGIO1');
        assert.deepEqual(at(g, 'SPCSO1'), {
            kind: 'DO',
            name: 'SPCSO1',
            cdc: 'SPC',
            children: [
                {
                    kind: 'DA',
                    name: 'stVal',
                    fc: 'ST',
                    type: 'BOOLEAN',
                    triggers: { dchg: true, qchg: false, dupd: false },
                },
                {
                    kind: 'DA',
                    name: 'q',
                    fc: 'ST',
                    type: 'Quality',
                    triggers: { dchg: false, qchg: true, dupd: false },
                },
                {
                    kind: 'DA',
                    name: 'Oper',
                    fc: 'CO',
                    type: 'Struct',
                    children: [
                        { kind: 'DA', name: 'ctlVal', fc: 'CO', type: 'BOOLEAN' },
                        { kind: 'DA', name: 'ctlNum', fc: 'CO', type: 'INT8U' },
                        { kind: 'DA', name: 'T', fc: 'CO', type: 'Timestamp' },
                        { kind: 'DA', name: 'Test', fc: 'CO', type: 'BOOLEAN' },
                        { kind: 'DA', name: 'Check', fc: 'CO', type: 'Check' },
                    ],
                },
                {
                    kind: 'DA',
                    name: 'ctlModel',
                    fc: 'CF',
                    type: 'ENUMERATED',
                    triggers: { dchg: true, qchg: false, dupd: false },
                    value: 1,
                },
            ],
        });
        assert.deepEqual(
            (at(g, 'Ind') as DataObject).children.map((c) => [
                c.name,
                (c as DataAttribute).type,
                (c as DataAttribute).value,
            ]),
            [
                ['stVal', 'BOOLEAN', true],
                ['pos', 'CODED ENUM', '10'],
                ['cnt', 'INT64', 9007199254740993n],
                ['small', 'INT64', -5],
                ['label', 'VISIBLE STRING', 'pump & valve'],
            ],
        );
    });

    test('initial values are per instance: template defaults, DAI values, CDATA text, enums as ordinals', () => {
        const lln0 = ln(s, 'HP1LD', 'LLN0');
        assert.equal(value(lln0, 'Mod.stVal'), 1, 'DA Val "on" of EnumType Beh');
        assert.equal(value(lln0, 'Mod.ctlModel'), 0, 'DAI status-only');
        assert.equal(value(ln(s, 'HP1Aux', 'LLN0'), 'Mod.ctlModel'), undefined, 'the other LLN0 has no DAI');
        assert.equal(value(lln0, 'NamPlt.vendor'), 'DERlink <tools>');
        assert.equal(value(lln0, 'NamPlt.swRev'), '1.0');
        assert.equal(value(ln(s, 'HP1LD', 'outSTMP2'), 'Tmp.units.SIUnit'), undefined, 'same DOType, no DAI');
        assert.equal(value(ln(s, 'HP1LD', 'outSTMP2'), 'Tmp.mag.f'), 1.5);
        assert.notEqual(at(ln(s, 'HP1LD', 'outSTMP2'), 'Tmp'), at(ln(s, 'HP1LD', 'MMXN1'), 'Watt'), 'fresh nodes');
        assert.deepEqual(model.enumTypes, {
            Beh: { 1: 'on', 5: 'off' },
            CtlModel: { 0: 'status-only', 1: 'direct-with-normal-security' },
            SIUnit: { 23: '°C', 38: 'W' },
            Multiplier: { 0: '', 3: 'k' },
        });
    });

    test('every imported value is accepted by the MMS value mapping', () => {
        for (const ld of s.logicalDevices) {
            for (const lnode of ld.logicalNodes) {
                const visit = (n: DataObject | DataAttribute): void => {
                    if (n.kind === 'DA' && n.value !== undefined) valueToData(n);
                    for (const c of n.children ?? []) visit(c);
                };
                lnode.dataObjects.forEach(visit);
            }
        }
    });

    test('data set members are ObjectReferences: FCD, FCDA, array element, other LD', () => {
        const ds = ln(s, 'HP1LD', 'LLN0').dataSets;
        assert.equal(ds?.length, 1);
        assert.equal(ds?.[0]?.name, 'DS_HP');
        assert.deepEqual(ds?.[0]?.members, [
            { ld: 'HP1LD', ln: 'MMXN1', path: [{ name: 'Watt' }], fc: 'MX' },
            { ld: 'HP1LD', ln: 'MMXN1', path: [{ name: 'Watt' }, { name: 'mag' }, { name: 'f' }], fc: 'MX' },
            {
                ld: 'HP1LD',
                ln: 'MMXN1',
                path: [{ name: 'Har' }, { name: 'phsA' }, { name: 'vals', index: 2 }, { name: 'f' }],
                fc: 'MX',
            },
            { ld: 'HP1Aux', ln: 'GGIO1', path: [{ name: 'SPCSO1' }, { name: 'stVal' }], fc: 'ST' },
        ]);
        assert.deepEqual(
            ds?.[0]?.members.map((m) => formatReference(m)),
            [
                'HP1LD/MMXN1.Watt[MX]',
                'HP1LD/MMXN1.Watt.mag.f[MX]',
                'HP1LD/MMXN1.Har.phsA.vals(2).f[MX]',
                'HP1Aux/GGIO1.SPCSO1.stVal[ST]',
            ],
        );
        assert.deepEqual(toMms(ds?.[0]?.members[2] as never), {
            domainId: 'HP1LD',
            itemId: 'MMXN1$MX$Har$phsA$vals',
            alternateAccess: [{ index: 2 }, { component: 'f' }],
        });
    });

    test('buffered RCB as written, unbuffered RCB with the 61850-6 defaults', () => {
        const [brcb, urcb] = ln(s, 'HP1LD', 'LLN0').reportControls ?? [];
        assert.deepEqual(brcb, {
            name: 'brcbHP',
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
        assert.deepEqual(urcb, {
            name: 'urcbHP',
            buffered: false,
            rptId: '',
            dataSet: 'DS_HP',
            confRev: 1,
            intgPd: 0,
            bufTime: 0,
            trgOps: { dchg: false, qchg: false, dupd: false, period: false, gi: true },
            optFields: {
                seqNum: false,
                timeStamp: false,
                dataSet: false,
                reasonCode: false,
                dataRef: false,
                entryID: false,
                configRef: false,
                bufOvfl: true,
            },
            indexed: false,
            max: 1,
        });
    });

    test('log control (logEna, reasonCode defaults), setting control (actSG default 1), logs', () => {
        const lln0 = ln(s, 'HP1LD', 'LLN0');
        assert.deepEqual(lln0.logControls, [
            {
                name: 'EventLog',
                dataSet: 'DS_HP',
                logName: 'HPLog',
                logEna: true,
                reasonCode: true,
                intgPd: 0,
                trgOps: { dchg: true, qchg: false, dupd: false, period: false, gi: true },
            },
        ]);
        assert.deepEqual(lln0.settingControl, { numOfSGs: 2, actSG: 1 });
        assert.deepEqual(lln0.logs, ['HPLog']);
        const aux = ln(s, 'HP1Aux', 'LLN0');
        assert.deepEqual(
            [aux.dataSets, aux.reportControls, aux.logControls, aux.settingControl, aux.logs],
            [undefined, undefined, undefined, undefined, undefined],
        );
    });

    test('warnings: one per unsupported element kind, unknown DAI names, in document order with path and line', () => {
        assert.deepEqual(model.warnings, [
            {
                message: 'DAI nope is not an attribute of the type and was ignored',
                path: `${LD0}/LN0[LLN0]/DOI[NamPlt]/DAI[nope]`,
                line: lineOf(SMALL, '<DAI name="nope"'),
            },
            {
                message: 'GSEControl is not supported and was ignored',
                path: `${LD0}/LN0[LLN0]/GSEControl[gcb1]`,
                line: lineOf(SMALL, '<GSEControl name="gcb1"'),
            },
            {
                message: 'Inputs is not supported and was ignored',
                path: 'SCL/IED[HP1]/AccessPoint[AP1]/Server/LDevice[AUX]/LN[GGIO1]/Inputs',
                line: lineOf(SMALL, '<Inputs>'),
            },
        ]);
    });

    test('every reference of the model (LN, FCD, FCDA, array elements) round-trips through its MMS name', () => {
        const refs = allReferences(s);
        // LLN0 12 twice, MMXN1 26 (vals(0..2) and num(0..2) with their members), outSTMP2 11, GGIO1 20
        assert.equal(refs.length, 81);
        assert.ok(refs.some((r) => formatReference(r) === 'HP1LD/MMXN1.Har.phsA.vals(1).f[MX]'));
        for (const ref of refs) assert.deepEqual(fromMms(toMms(ref)), ref, formatReference(ref));
    });

    test('a Uint8Array (with a byte order mark) gives the same model and lines', () => {
        const bytes = new TextEncoder().encode(`\uFEFF${SMALL}`);
        const fromBytes = importScl(bytes);
        assert.deepEqual(fromBytes.server, model.server);
        assert.deepEqual(fromBytes.warnings, model.warnings);
    });

    test('options.iedName picks an IED; an unknown name is an error', () => {
        const two = variant(
            '<DataTypeTemplates>',
            '<IED name="HP2"><AccessPoint name="AP"><Server><LDevice inst="X"><LN0 lnClass="LLN0" inst="" lnType="LLN0_T"/></LDevice></Server></AccessPoint></IED>\n  <DataTypeTemplates>',
        );
        const hp2 = importScl(two, { iedName: 'HP2' });
        assert.equal(hp2.iedName, 'HP2');
        assert.deepEqual(
            hp2.server.logicalDevices.map((d) => [d.name, d.logicalNodes.map((n) => n.name)]),
            [['HP2X', ['LLN0']]],
        );
        assert.equal(importScl(two).iedName, 'HP1', 'the first IED by default');
        assert.throws(
            () => importScl(two, { iedName: 'HP9' }),
            (e: unknown) => e instanceof SclError && /no IED "HP9"/.test(e.message) && e.path === 'SCL',
        );
    });

    test('a file without the SCL namespace is read the same; elements of other namespaces are skipped', () => {
        const bare = importScl(SMALL.replace(` xmlns="${NS}"`, ''));
        assert.deepEqual(bare.server, model.server);
        assert.ok(!model.warnings.some((w) => /Vendor/.test(w.message)));
    });
});

describe('iec61850 SCL import: source positions', () => {
    test('start tags are found in document order; comments, CDATA, PIs, declarations and end tags skipped', () => {
        const text = '<?xml version="1.0"?>\n<a>\n<!-- <x> -->\n<b k=">"/><![CDATA[<y>]]>\n<?pi <z>?><c></c></a>';
        assert.deepEqual(
            startTagOffsets(text).map((o) => text.slice(o, o + 2)),
            ['<a', '<b', '<c'],
        );
    });

    test('every element of the fixture maps to the start tag of its own name', () => {
        const root = parseXml(SMALL);
        const offsets = elementOffsets(root, SMALL);
        let count = 0;
        const stack: XmlElement[] = [root];
        while (stack.length > 0) {
            const e = stack.pop() as XmlElement;
            count++;
            const at = offsets.get(e);
            assert.ok(at !== undefined, e.name);
            assert.ok(new RegExp(`^<${e.name}[\\s/>]`).test(SMALL.slice(at)), `${e.name} at ${at}`);
            stack.push(...e.elements());
        }
        assert.equal(offsets.size, count);
        assert.ok(count > 100);
    });

    test('a text that does not match the tree gives no positions from the first mismatch on', () => {
        const root = parseXml('<a><b/><c/></a>');
        const offsets = elementOffsets(root, '<a><b/><d/></a>');
        assert.deepEqual([...offsets.values()], [0, 3]);
    });
});

describe('iec61850 SCL import: malformed and hostile input', () => {
    test('not well-formed XML: SCL_MALFORMED with line, column and the source line', () => {
        const text = variant('</LN0>', '</LNX>');
        const e = expectSclError(text, {
            message: /not well-formed.*<\/LNX>|Expected closing tag/,
            code: 'SCL_MALFORMED',
        });
        assert.equal(e.line, lineOf(text, '</LNX>'));
        assert.ok(e.column && e.column > 1);
        assert.match(e.context ?? '', /LNX/);
        assert.equal(e.path, '');
    });

    test('DOCTYPE and entity declarations are refused, nothing is expanded', () => {
        const lol = `<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n<SCL>&b;</SCL>`;
        const e = expectSclError(lol, { message: /DOCTYPE|declaration/i, code: 'SCL_MALFORMED' });
        assert.equal((e.cause as { code?: string }).code, 'XML_FORBIDDEN');
        expectSclError(variant('<Val>1.0</Val>', '<Val>&ext;</Val>'), { message: /ext/, code: 'SCL_MALFORMED' });
    });

    test('10 MB of nesting is refused by the XML limits, quickly and cleanly', () => {
        const depth = Math.ceil((10 * 1024 * 1024) / 7);
        const deep = `<SCL>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</SCL>`;
        assert.ok(deep.length > 10 * 1024 * 1024);
        const started = Date.now();
        const e = expectSclError(deep, { message: /nested|deep|depth/i, code: 'SCL_MALFORMED' });
        assert.equal((e.cause as { code?: string }).code, 'XML_LIMIT');
        assert.ok(Date.now() - started < 5000);
        assert.throws(
            () => importScl(SMALL, { limits: { maxBytes: 100 } }),
            (err: unknown) =>
                err instanceof SclError && err.code === 'SCL_MALFORMED' && /limit of 100/.test(err.message),
        );
        assert.throws(
            () => importScl(new TextEncoder().encode(SMALL), { limits: { maxElements: 50 } }),
            (err: unknown) => err instanceof SclError && /more than 50 elements/.test(err.message),
        );
    });

    test('not SCL: wrong root, wrong namespace, no DataTypeTemplates, no IED', () => {
        expectSclError('<foo/>', { message: /root element is <foo>, not <SCL>/, path: 'foo', line: 1 });
        expectSclError('<SCL xmlns="urn:x"/>', { message: /namespace is "urn:x"/, path: 'SCL' });
        expectSclError(`<SCL xmlns="${NS}"/>`, { message: /no DataTypeTemplates/, path: 'SCL' });
        expectSclError(SMALL.replace(/<IED [\s\S]*<\/IED>/, ''), { message: /has no IED \(line 4/, path: 'SCL' });
    });

    test('unknown type ids name the id, the referring element (path) and its line', () => {
        let t = variant('<DO name="Tmp" type="MV_T"/>', '<DO name="Tmp" type="MV_X"/>');
        const e = expectSclError(t, {
            message: /type "MV_X" of Tmp is not a DOType/,
            path: `${TPL}/LNodeType[STMP_T]/DO[Tmp]`,
            line: 'type="MV_X"',
        });
        assert.match(e.context ?? '', /MV_X/);
        expectSclError(variant('lnType="STMP_T"/>', 'lnType="NOPE"/>'), {
            message: /lnType "NOPE" is not an LNodeType/,
            path: `${LD0}/LN[outSTMP2]`,
            line: 'lnType="NOPE"',
        });
        t = variant('type="Unit" fc="CF"', 'type="Unitx" fc="CF"');
        expectSclError(t, {
            message: /type "Unitx" of units is not a DAType/,
            path: `${TPL}/DOType[MV_T]/DA[units]`,
            line: 'Unitx',
        });
        t = variant('bType="Enum" type="Beh"', 'bType="Enum" type="Behx"');
        expectSclError(t, { message: /type "Behx" of stVal is not an EnumType/, line: 'Behx' });
        t = variant('<SDO name="phsA" type="HVAL_T"/>', '<SDO name="phsA" type="HVAL_X"/>');
        expectSclError(t, { message: /"HVAL_X" of phsA is not a DOType/, path: `${TPL}/DOType[HAR_T]/SDO[phsA]` });
        expectSclError(variant('bType="INT32U" fc="CF"', 'bType="INT33" fc="CF"'), {
            message: /bType "INT33" is not an SCL basic type/,
            line: 'INT33',
        });
        expectSclError(variant('fc="CF"><Val>500', 'fc="ZZ"><Val>500'), {
            message: /fc "ZZ" is not a functional constraint/,
            path: `${TPL}/DOType[MV_T]/DA[db]`,
        });
    });

    test('circular type references are refused: a DOType through an SDO, a DAType directly and indirectly', () => {
        expectSclError(variant('<SDO name="phsA" type="HVAL_T"/>', '<SDO name="phsA" type="HAR_T"/>'), {
            message: /DOType "HAR_T" refers to itself \(through phsA\)/,
            path: `${TPL}/DOType[HAR_T]/SDO[phsA]`,
            line: '<SDO name="phsA" type="HAR_T"/>',
        });
        expectSclError(
            variant(
                '<BDA name="f" bType="FLOAT32">',
                '<BDA name="g" bType="Struct" type="AV"/><BDA name="f" bType="FLOAT32">',
            ),
            { message: /DAType "AV" refers to itself \(through g\)/, path: `${TPL}/DAType[AV]/BDA[g]` },
        );
        const indirect = variant(
            '<BDA name="multiplier" bType="Enum" type="Multiplier"/>',
            '<BDA name="multiplier" bType="Enum" type="Multiplier"/><BDA name="loop" bType="Struct" type="Loop"/></DAType><DAType id="Loop"><BDA name="back" bType="Struct" type="Unit"/>',
        );
        expectSclError(indirect, { message: /DAType "Unit" refers to itself \(through back\)/, line: 'name="back"' });
    });

    test('counts: a huge count, a count that is no number, types that multiply beyond the node budget', () => {
        expectSclError(variant('count="3"', 'count="100000"'), {
            message: new RegExp(`count 100000 is larger than the limit of ${MAX_COUNT}`),
            path: `${TPL}/DOType[HVAL_T]/DA[vals]`,
            line: 'count="100000"',
        });
        expectSclError(variant('count="3"', 'count="numPts"'), { message: /count "numPts" is not a number/ });
        // 1024 × 1024 elements of a structure with a member: more than the node budget, not built
        const multiply = variant(
            '<DAType id="AV"><BDA name="f" bType="FLOAT32"><Val>1.5</Val></BDA></DAType>',
            '<DAType id="AV"><BDA name="f" bType="FLOAT32"><Val>1.5</Val></BDA></DAType><DAType id="Row"><BDA name="cells" bType="Struct" type="AV" count="1024"/></DAType>',
        ).replace(
            '<DA name="num" bType="INT16" fc="CF" count="3"/>',
            '<DA name="grid" bType="Struct" type="Row" fc="CF" count="1024"/>',
        );
        expectSclError(multiply, { message: /grows beyond 500000 nodes/, path: `${TPL}/DOType[HVAL_T]/DA[grid]` });
    });

    test('duplicate names and ids are errors with the line of the second one', () => {
        const cases: Array<[string, string, RegExp, string]> = [
            [
                '<EnumType id="Beh">',
                '<EnumType id="Beh"></EnumType><EnumType id="Beh">',
                /EnumType id "Beh" is defined twice/,
                '',
            ],
            [
                '<DOType id="SPS_T" cdc="SPS">',
                '<DOType id="SPS_T" cdc="SPS"/><DOType id="SPS_T" cdc="SPS">',
                /DOType id "SPS_T" is defined twice/,
                '',
            ],
            [
                '<DO name="Ind" type="SPS_T"/>',
                '<DO name="Ind" type="SPS_T"/><DO name="Ind" type="SPC_T"/>',
                /Ind appears twice in LNodeType "GGIO_T"/,
                '<DO name="Ind" type="SPC_T"/>',
            ],
            [
                '<DA name="small" bType="INT64"',
                '<DA name="pos" bType="INT64"',
                /pos appears twice in DOType "SPS_T"/,
                '<DA name="pos" bType="INT64"',
            ],
            [
                '<BDA name="Test" bType="BOOLEAN"/>',
                '<BDA name="T" bType="BOOLEAN"/>',
                /T appears twice in DAType "SPCOperate"/,
                '<BDA name="T" bType="BOOLEAN"/>',
            ],
            [
                '<EnumVal ord="5">off',
                '<EnumVal ord="1">off',
                /ord 1 appears twice in EnumType "Beh"/,
                '<EnumVal ord="1">off',
            ],
            [
                '<LN prefix="out" lnClass="STMP" inst="2"',
                '<LN prefix="" lnClass="MMXN" inst="1"',
                /Logical node "MMXN1" is defined twice in HP1LD/,
                '',
            ],
            [
                '<LDevice inst="AUX" ldName="HP1Aux">',
                '<LDevice inst="AUX" ldName="HP1LD">',
                /Logical device "HP1LD" is defined twice/,
                'ldName="HP1LD"',
            ],
            [
                '<LDevice inst="AUX" ldName="HP1Aux">',
                '<LDevice inst="LD" ldName="HP1Aux">',
                /LDevice inst "LD" is defined twice/,
                '',
            ],
            [
                '<ReportControl name="urcbHP"',
                '<ReportControl name="brcbHP"',
                /ReportControl "brcbHP" is defined twice in LLN0/,
                '',
            ],
            ['<Log name="HPLog"/>', '<Log name="HPLog"/><Log name="HPLog"/>', /Log "HPLog" is defined twice/, ''],
            ['<DOI name="Mod">', '<DOI name="NamPlt"/><DOI name="Mod">', /DOI "NamPlt" appears twice/, ''],
            [
                '<SettingControl numOfSGs="2"/>',
                '<SettingControl numOfSGs="2"/><SettingControl numOfSGs="1"/>',
                /SettingControl appears twice/,
                'numOfSGs="1"',
            ],
        ];
        for (const [from, to, message, needle] of cases) {
            const text = variant(from, to);
            expectSclError(text, needle === '' ? { message } : { message, line: needle });
        }
    });

    test('missing required attributes name the attribute, the element and its line', () => {
        const cases: Array<[string, string, string]> = [
            ['<LN prefix="out" lnClass="STMP"', '<LN prefix="out" lnClassX="STMP"', 'lnClass'],
            ['<LN prefix="out" lnClass="STMP" inst="2"', '<LN prefix="out" lnClass="STMP"', 'inst'],
            [
                '<LN prefix="out" lnClass="STMP" inst="2" lnType="STMP_T"/>',
                '<LN prefix="out" lnClass="STMP" inst="2"/>',
                'lnType',
            ],
            [
                '<ReportControl name="urcbHP" datSet="DS_HP" confRev="1"',
                '<ReportControl name="urcbHP" datSet="DS_HP"',
                'confRev',
            ],
            ['<SettingControl numOfSGs="2"/>', '<SettingControl/>', 'numOfSGs'],
            [
                '<LogControl name="EventLog" datSet="DS_HP" logName="HPLog">',
                '<LogControl name="EventLog" datSet="DS_HP">',
                'logName',
            ],
            ['<DA name="small" bType="INT64" fc="ST">', '<DA name="small" bType="INT64">', 'fc'],
            ['<DA name="small" bType="INT64" fc="ST">', '<DA name="small" fc="ST">', 'bType'],
            ['<DOType id="SPS_T" cdc="SPS">', '<DOType id="SPS_T">', 'cdc'],
            ['<LDevice inst="AUX" ldName="HP1Aux">', '<LDevice ldName="HP1Aux">', 'inst'],
            ['<EnumVal ord="5">', '<EnumVal>', 'ord'],
            ['<IED name="HP1">', '<IED>', 'name'],
        ];
        for (const [from, to, attr] of cases) {
            const text = variant(from, to);
            const element = /^<(\w+)/.exec(to)?.[1];
            expectSclError(text, { message: new RegExp(`^<${element}> needs the attribute ${attr} `), line: to });
        }
    });

    test('wrong-typed values are errors with the line of the Val and the attribute path', () => {
        const cases: Array<[string, string, RegExp]> = [
            ['<Val>500</Val>', '<Val>five</Val>', /Val "five" is not a valid INT32U/],
            ['<Val>500</Val>', '<Val>-1</Val>', /Val "-1" is out of range for INT32U \(0\.\.4294967295\)/],
            ['<Val>true</Val>', '<Val>yes</Val>', /Val "yes" is not a valid BOOLEAN/],
            ['<Val>1.5</Val>', '<Val>1e40</Val>', /Val "1e40" is out of range for FLOAT32/],
            ['<Val>1.5</Val>', '<Val>0x10</Val>', /Val "0x10" is not a valid FLOAT32/],
            ['<Val>9007199254740993</Val>', '<Val>9223372036854775808</Val>', /out of range for INT64/],
            [
                '<Val>on</Val></DA>\n      <DA name="q"',
                '<Val>maybe</Val></DA>\n      <DA name="q"',
                /Val "maybe" is not a literal of EnumType "Beh"/,
            ],
            ['<Val>status-only</Val></DAI>', '<Val>7</Val></DAI>', /Val "7" is not a literal of EnumType "CtlModel"/],
            [
                '<Val>on</Val></DA>\n      <DA name="cnt"',
                '<Val>middle</Val></DA>\n      <DA name="cnt"',
                /Val "middle" is not a valid Dbpos literal/,
            ],
            [
                '<Val>pump &amp; valve</Val>',
                `<Val>${'x'.repeat(33)}</Val>`,
                /33 characters, more than the 32 of VisString32/,
            ],
        ];
        for (const [from, to, message] of cases) {
            const text = variant(from, to);
            expectSclError(text, { message, line: to.split('\n')[0] as string });
        }
        const e = expectSclError(variant('<Val>W</Val>', '<Val>Watt</Val>'), {
            message: /"Watt" is not a literal of EnumType "SIUnit"/,
        });
        assert.equal(e.path, `${LD0}/LN[MMXN1]/DOI[Watt]/SDI[units]/DAI[SIUnit]/Val`);
    });

    test('attribute values of the wrong form: booleans, integers, names', () => {
        expectSclError(variant('buffered="true"', 'buffered="yes"'), {
            message: /buffered="yes" is not a boolean/,
            line: 'buffered="yes"',
        });
        expectSclError(variant('intgPd="60000"', 'intgPd="1h"'), { message: /intgPd="1h" must be an integer/ });
        expectSclError(variant('<RptEnabled max="5"/>', '<RptEnabled max="500"/>'), {
            message: /max="500" must be an integer 1\.\.99/,
        });
        expectSclError(variant('<SettingControl numOfSGs="2"/>', '<SettingControl numOfSGs="2" actSG="3"/>'), {
            message: /actSG 3 is larger than numOfSGs 2/,
        });
        expectSclError(variant('<DA name="small"', '<DA name="sm-all"'), {
            message: /name="sm-all" is not a valid name/,
        });
        expectSclError(variant('<LN prefix="out"', '<LN prefix="1out"'), {
            message: /LN name "1outSTMP2" is not prefix/,
        });
        expectSclError(
            variant('<LN0 lnClass="LLN0" inst="" lnType="LLN0_T">', '<LN0 lnClass="LPHD" inst="" lnType="LLN0_T">'),
            {
                message: /LN0 has lnClass "LPHD"; it must be LLN0/,
            },
        );
        expectSclError(variant('ldName="HP1Aux"', 'ldName="1Aux"'), {
            message: /Logical device name "1Aux" is not usable/,
        });
        expectSclError(variant('inst="AUX" ldName="HP1Aux"', `inst="AUX" ldName="${'L'.repeat(65)}"`), {
            message: /longer than 64/,
        });
    });

    test('dangling references: data set of a control block, FCDA members, ldInst, log', () => {
        expectSclError(
            variant('<ReportControl name="urcbHP" datSet="DS_HP"', '<ReportControl name="urcbHP" datSet="DS_NONE"'),
            {
                message: /ReportControl urcbHP refers to data set "DS_NONE", which LLN0 does not have/,
                path: `${LD0}/LN0[LLN0]/ReportControl[urcbHP]`,
                line: 'DS_NONE',
            },
        );
        const member = (from: string, to: string, message: RegExp) =>
            expectSclError(variant(from, to), { message, line: to, path: `${LD0}/LN0[LLN0]/DataSet[DS_HP]/FCDA` });
        member(
            'doName="Watt" daName="mag.f"',
            'doName="Watt" daName="mag.g"',
            /FCDA HP1LD\/MMXN1.Watt.mag.g\[MX\] of data set DS_HP: MMXN1.Watt.mag has no attribute g/,
        );
        member('doName="Watt" fc="MX"', 'doName="Watts" fc="MX"', /MMXN1 has no data object Watts/);
        member('doName="Watt" fc="MX"', 'doName="Watt" fc="ST"', /MMXN1.Watt has no attribute with FC ST/);
        member('daName="vals(2).f"', 'daName="vals(3).f"', /MMXN1.Har.phsA.vals has no element 3/);
        member(
            'lnInst="1" doName="Watt" fc="MX"',
            'lnInst="7" doName="Watt" fc="MX"',
            /HP1LD has no logical node MMXN7/,
        );
        member(
            'doName="Har.phsA" daName="vals(2).f"',
            'doName="Har" daName="phsA.vals(2).f"',
            /MMXN1.Har has no attribute phsA/,
        );
        member('daName="vals(2).f"', 'daName="vals[2].f"', /daName="vals\[2\].f" is not a dotted list of names/);
        expectSclError(variant('ldInst="AUX" lnClass="GGIO"', 'ldInst="AUX2" lnClass="GGIO"'), {
            message: /ldInst "AUX2" is not a logical device of IED HP1/,
        });
        const w = warningsOf(variant('<Log name="HPLog"/>', '<Log name="OtherLog"/>'));
        assert.deepEqual(
            w.find((x) => x.message.startsWith('LogControl')),
            {
                message: 'LogControl EventLog writes to log HPLog, which HP1LD/LLN0 does not declare',
                path: `${LD0}/LN0[LLN0]/LogControl[EventLog]`,
                line: lineOf(SMALL, '<LogControl'),
            },
        );
    });

    test('warnings, not errors: sGroup, Val on a structure or whole array, ix misuse, class mismatch, untyped Val', () => {
        const cases: Array<[string, string, string]> = [
            [
                '<Val>500</Val>',
                '<Val sGroup="1">400</Val><Val sGroup="2">600</Val>',
                'Val with sGroup (setting group values) is not supported; sGroup was ignored',
            ],
            [
                '<DA name="mag" bType="Struct" type="AV" fc="MX" dchg="true"/>',
                '<DA name="mag" bType="Struct" type="AV" fc="MX" dchg="true"><Val>1</Val></DA>',
                'a Val for the structure mag was ignored (values belong to its members)',
            ],
            [
                '<DA name="num" bType="INT16" fc="CF" count="3"/>',
                '<DA name="num" bType="INT16" fc="CF" count="3"><Val>1</Val></DA>',
                'a Val for the array num was ignored (array values need DAI ix)',
            ],
            [
                '<DAI name="SIUnit">',
                '<DAI name="SIUnit" ix="0">',
                'DAI SIUnit has ix but is not an array of a basic type; it was ignored',
            ],
            [
                '<DOI name="Watt">',
                '<DOI name="Watt" ix="0">',
                'DOI with ix (values of array elements of structures) is not supported and was ignored',
            ],
            [
                '<DO name="Tmp" type="MV_T"/></LNodeType>',
                '<DO name="Tmp" type="MV_T"/></LNodeType><LNodeType id="X_T" lnClass="XXXX"/>',
                '',
            ],
            [
                '<LN prefix="out" lnClass="STMP" inst="2" lnType="STMP_T"/>',
                '<LN prefix="out" lnClass="STMP" inst="2" lnType="MMXN_T"/>',
                'lnType "MMXN_T" is an LNodeType of class MMXN, not STMP',
            ],
            [
                '<DA name="t" bType="Timestamp" fc="MX"/>',
                '<DA name="t" bType="Timestamp" fc="MX"><Val>2026-01-01T00:00:00Z</Val></DA>',
                'a Val of type Timestamp is not supported and was ignored',
            ],
            [
                '<LN prefix="out" lnClass="STMP" inst="2" lnType="STMP_T"/>',
                '<LN prefix="out" lnClass="STMP" inst="2" lnType="STMP_T"><SettingControl numOfSGs="1"/></LN>',
                'SettingControl is only read in LN0 and was ignored',
            ],
            [
                '<Communication/>',
                '<Communication/><Substation name="S1"/><Bay/>',
                'Bay is not supported and was ignored',
            ],
            [
                '<Authentication/>',
                '<Authentication/><Association kind="predefined" iedName="C" ldInst="LD" lnClass="ITCI" lnInst="1"/>',
                'Association is not supported and was ignored',
            ],
        ];
        for (const [from, to, message] of cases) {
            const text = variant(from, to);
            const extra = warningsOf(text).filter(
                (w) => !importScl(SMALL).warnings.some((x) => x.message === w.message),
            );
            if (message === '') {
                assert.deepEqual(extra, [], 'an unused LNodeType is fine');
                continue;
            }
            assert.equal(extra.length, 1, `${message}: ${JSON.stringify(extra)}`);
            assert.equal(extra[0]?.message, message);
            assert.ok(extra[0]?.line, message);
            assert.ok(extra[0]?.path.startsWith('SCL/'), extra[0]?.path);
        }
        // a file full of unknown DAIs: the warnings stop at MAX_WARNINGS, with one more saying so
        const many = variant(
            '<DAI name="nope">',
            `${Array.from({ length: 300 }, (_, i) => `<DAI name="x${i}"/>`).join('')}<DAI name="nope">`,
        );
        const w = warningsOf(many);
        assert.equal(w.length, MAX_WARNINGS + 1);
        assert.deepEqual(w.at(-1), { message: `More than ${MAX_WARNINGS} warnings; the rest were left out`, path: '' });
        // sGroup: the value of group 1 is kept
        const sg = importScl(variant('<Val>500</Val>', '<Val sGroup="2">600</Val><Val sGroup="1">400</Val>'));
        assert.equal(value(ln(sg.server, 'HP1LD', 'MMXN1'), 'Watt.db'), 400);
    });
});

describe('iec61850 SCL import: ids that are property names of JavaScript objects', () => {
    test('an EnumType "__proto__" is an ordinary entry and changes no prototype', () => {
        const text = variant(
            '<EnumType id="Beh">',
            '<EnumType id="__proto__"><EnumVal ord="1">polluted</EnumVal></EnumType><EnumType id="Beh">',
        ).replace(
            '<DOType id="ENC_Mod" cdc="ENC">',
            '<DOType id="constructor" cdc="X"/><DOType id="ENC_Mod" cdc="ENC">',
        );
        const m = importScl(text);
        assert.equal(Object.getPrototypeOf(m.enumTypes), Object.prototype);
        assert.deepEqual(Object.getOwnPropertyDescriptor(m.enumTypes, '__proto__')?.value, { 1: 'polluted' });
        assert.equal(({} as Record<string, unknown>)[1], undefined);
    });
});

describe('iec61850 SCL import: Val text by basic type (parseVal)', () => {
    test('integers, INT64 as number or bigint, floats with INF/NaN, booleans, coded enums, strings', () => {
        assert.deepEqual(parseVal('INT8', 'INT8', ' -128 ', undefined), { value: -128 });
        assert.match((parseVal('INT8', 'INT8', '128', undefined) as { error: string }).error, /out of range/);
        assert.deepEqual(parseVal('INT8U', 'INT8U', '+255', undefined), { value: 255 });
        assert.deepEqual(parseVal('INT64', 'INT64', '-9007199254740991', undefined), { value: -9007199254740991 });
        assert.deepEqual(parseVal('INT64', 'INT64', '-9223372036854775808', undefined), { value: -(2n ** 63n) });
        assert.deepEqual(parseVal('FLOAT64', 'FLOAT64', '-INF', undefined), { value: Number.NEGATIVE_INFINITY });
        assert.ok(Number.isNaN((parseVal('FLOAT32', 'FLOAT32', 'NaN', undefined) as { value: number }).value));
        assert.deepEqual(parseVal('FLOAT32', 'FLOAT32', '0.1', undefined), { value: Math.fround(0.1) });
        assert.deepEqual(parseVal('FLOAT64', 'FLOAT64', '.5e1', undefined), { value: 5 });
        assert.deepEqual(parseVal('BOOLEAN', 'BOOLEAN', '0', undefined), { value: false });
        assert.deepEqual(parseVal('CODED ENUM', 'Tcmd', 'higher', undefined), { value: '10' });
        assert.deepEqual(parseVal('ENUMERATED', 'Enum', '5', new Map([['off', 5]])), { value: 5 }, 'a defined ord');
        assert.deepEqual(parseVal('UNICODE STRING', 'Unicode255', 'Wärmepumpe', undefined), { value: 'Wärmepumpe' });
        assert.deepEqual(parseVal('Quality', 'Quality', '0000000000000', undefined), { unsupported: true });
    });
});
