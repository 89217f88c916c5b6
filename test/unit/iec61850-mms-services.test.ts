import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ObjectName, VariableSpec } from '../../src/protocols/iec61850/mms/access';
import { NS_SCSM_8_2 } from '../../src/protocols/iec61850/mms/constants';
import type { Data } from '../../src/protocols/iec61850/mms/data';
import {
    checkStanza,
    decodePayload,
    decodePayloadXml,
    encodePayload,
    STANZA_MAPPING,
    stanzaFor,
} from '../../src/protocols/iec61850/mms/envelope';
import { MmsError, type MmsReason } from '../../src/protocols/iec61850/mms/errors';
import { decodePdu, encodePdu, type MmsPdu, PDU_KINDS } from '../../src/protocols/iec61850/mms/pdu';
import {
    CONFIRMED_SERVICES,
    type ConfirmedRequest,
    type ConfirmedResponse,
    decodeRequest,
    decodeResponse,
    encodeRequest,
    encodeResponse,
} from '../../src/protocols/iec61850/mms/services';
import { parseXml, serialize, type XmlElement } from '../../src/protocols/xml';
import { generator, mulberry32, single } from '../support/mms-gen';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iec61850', 'mms');
const fixtureText = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');
const fixture = (name: string) => parseXml(fixtureText(name));

/** Structure of an element: name, attributes (namespace declarations left out), children or trimmed text. */
function canon(e: XmlElement): unknown {
    const attrs = Object.fromEntries(Object.entries(e.attrs).filter(([k]) => !k.startsWith('xmlns')));
    const kids = e.elements();
    return kids.length === 0 ? [e.local, attrs, e.text().trim()] : [e.local, attrs, kids.map(canon)];
}

function expectMmsError(fn: () => unknown, reason: MmsReason, pattern?: RegExp): MmsError {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof MmsError, `expected MmsError, got ${String(err)}`);
        assert.equal(err.reason, reason, err.message);
        if (pattern) assert.match(err.message, pattern);
        return err;
    }
    assert.fail('expected an MmsError');
}

const dom = (domainId: string, itemId: string): ObjectName => ({ scope: 'domain-specific', domainId, itemId });
const variable = (itemId: string, ld = 'HP1LD'): VariableSpec => ({ name: dom(ld, itemId) });
const utc: Data = {
    kind: 'utc-time',
    seconds: 0x66322ec0,
    fraction: 0x800000,
    quality: { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, accuracy: 10 },
};
const q0: Data = { kind: 'bit-string', bits: '0000000000000' };
const mv = (v: number): Data => ({
    kind: 'structure',
    components: [{ kind: 'structure', components: [single(v)] }, q0, utc],
});

/** The service element inside a wrapper fixture (`<ConfirmedServiceRequest><read>…`). */
const serviceOf = (name: string) => fixture(name).elements()[0] as XmlElement;

// ---------------------------------------------------------------------------------------------

describe('iec61850 mms PDUs: golden vectors of wire note §5', () => {
    test('5.1 read request in its iq: assoID, invokeID, variable; iq get; re-encodes to the same XML', () => {
        const stanza = fixture('5.1-read-request.xml');
        const payload = decodePayload(stanza);
        assert.deepEqual(payload, {
            assoId: '1:7',
            pdu: {
                pdu: 'confirmed-RequestPDU',
                invokeID: 42,
                request: {
                    service: 'read',
                    variableAccessSpecification: { listOfVariable: [variable('MMXN1$MX$Watt$mag$f')] },
                },
            },
        });
        assert.deepEqual(stanzaFor(payload.pdu), { stanza: 'iq', type: 'get' });
        const appl = stanza.child('ApplData', NS_SCSM_8_2) as XmlElement;
        assert.deepEqual(canon(encodePayload(payload)), canon(appl));
        assert.deepEqual(decodePayloadXml(fixtureText('5.1-read-request.xml')), payload);
    });

    test('5.1 / 5.2 read responses: a float, and the MV structure mag{f}, q, t', () => {
        const r1 = decodePdu(fixture('5.1-read-response.xml'));
        assert.deepEqual(r1, {
            pdu: 'confirmed-ResponsePDU',
            invokeID: 42,
            response: { service: 'read', listOfAccessResult: [{ success: single(2300) }] },
        });
        const x2 = fixture('5.2-read-response-structure.xml');
        const r2 = decodePdu(x2);
        assert.deepEqual(r2, {
            pdu: 'confirmed-ResponsePDU',
            invokeID: 43,
            response: { service: 'read', listOfAccessResult: [{ success: mv(2300) }] },
        });
        assert.deepEqual(canon(encodePdu(r2)), canon(x2));
        assert.deepEqual(stanzaFor(r2), { stanza: 'iq', type: 'result' });
    });

    test('5.3 write request (SetBRCBValues RptEna) is an iq set and re-encodes', () => {
        const x = fixture('5.3-write-request.xml');
        const pdu = decodePdu(x);
        assert.deepEqual(pdu, {
            pdu: 'confirmed-RequestPDU',
            invokeID: 44,
            request: {
                service: 'write',
                variableAccessSpecification: { listOfVariable: [variable('LLN0$BR$brcbHP01$RptEna')] },
                listOfData: [{ kind: 'boolean', value: true }],
            },
        });
        assert.deepEqual(stanzaFor(pdu), { stanza: 'iq', type: 'set' });
        assert.deepEqual(canon(encodePdu(pdu)), canon(x));
    });

    test('5.4 GetNameList with paging: request, and moreFollows as attribute (never omitted)', () => {
        const req = fixture('5.4-getnamelist-request.xml');
        const pdu = decodePdu(req);
        assert.deepEqual(pdu, {
            pdu: 'confirmed-RequestPDU',
            invokeID: 45,
            request: { service: 'getNameList', objectClass: 'namedVariable', objectScope: { domainSpecific: 'HP1LD' } },
        });
        assert.deepEqual(canon(encodePdu(pdu)), canon(req));
        const res = fixture('5.4-getnamelist-response.xml');
        const rpdu = decodePdu(res);
        assert.ok(rpdu.pdu === 'confirmed-ResponsePDU' && rpdu.response.service === 'getNameList');
        assert.equal(rpdu.response.moreFollows, true);
        assert.deepEqual(rpdu.response.listOfIdentifier, [
            'DHTP1',
            'DHTP1$CF',
            'DHTP1$CF$OpMod',
            'DHTP1$CF$OpMod$ctlModel',
            'DHTP1$CO',
        ]);
        assert.deepEqual(canon(encodePdu(rpdu)), canon(res));
        const last = encodeResponse({ service: 'getNameList', listOfIdentifier: [], moreFollows: false });
        assert.equal(last.attrs.moreFollows, 'false');
        // pure BASIC-XER variant, and the ASN.1 DEFAULT TRUE when absent
        const child = parseXml('<getNameList><listOfIdentifier/><moreFollows><false/></moreFollows></getNameList>');
        assert.deepEqual(decodeResponse(child, 'g'), {
            service: 'getNameList',
            listOfIdentifier: [],
            moreFollows: false,
        });
        const absent = parseXml('<getNameList><listOfIdentifier/></getNameList>');
        assert.equal((decodeResponse(absent, 'g') as { moreFollows: boolean }).moreFollows, true);
    });

    test('5.5 GetVariableAccessAttributes of STMP1$MX$Tmp: the type specification', () => {
        const req = serviceOf('5.5-gvaa-request.xml');
        assert.deepEqual(decodeRequest(req, 'r'), {
            service: 'getVariableAccessAttributes',
            name: dom('HP1LD', 'STMP1$MX$Tmp'),
        });
        const res = serviceOf('5.5-gvaa-response.xml');
        const decoded = decodeResponse(res, 'r');
        assert.deepEqual(decoded, {
            service: 'getVariableAccessAttributes',
            mmsDeletable: false,
            typeSpecification: {
                kind: 'structure',
                components: [
                    {
                        name: 'mag',
                        type: {
                            kind: 'structure',
                            components: [
                                { name: 'f', type: { kind: 'floating-point', formatWidth: 32, exponentWidth: 8 } },
                            ],
                        },
                    },
                    { name: 'q', type: { kind: 'bit-string', size: 13 } },
                    { name: 't', type: { kind: 'utc-time' } },
                ],
            },
        });
        assert.deepEqual(canon(encodeResponse(decoded)), canon(res));
        assert.deepEqual(canon(encodeRequest(decodeRequest(req, 'r'))), canon(req));
    });

    test('5.6 Operate: the Oper structure (ctlVal, origin, ctlNum, T, Test, Check)', () => {
        const x = fixture('5.6-operate-write.xml');
        const req = decodeRequest(x, 'write');
        assert.ok(req.service === 'write');
        const oper = req.listOfData[0];
        assert.ok(oper?.kind === 'structure');
        assert.equal(oper.components.length, 6);
        assert.deepEqual(oper.components[0], { kind: 'structure', components: [single(45.5)] });
        assert.deepEqual(oper.components[2], { kind: 'unsigned', value: 17n });
        assert.deepEqual(oper.components[5], { kind: 'bit-string', bits: '00' });
        assert.deepEqual(canon(encodeRequest(req)), canon(x));
    });

    test('5.7 InformationReport: RPT, 13 access results, message normal, re-encodes', () => {
        const stanza = fixture('5.7-information-report.xml');
        const { assoId, pdu } = decodePayload(stanza);
        assert.equal(assoId, '1:7');
        assert.ok(pdu.pdu === 'unconfirmed-PDU');
        const r = pdu.informationReport;
        assert.deepEqual(r.variableAccessSpecification, { variableListName: { scope: 'vmd-specific', name: 'RPT' } });
        assert.equal(r.listOfAccessResult.length, 13);
        assert.deepEqual(r.listOfAccessResult[0], {
            success: { kind: 'visible-string', value: 'HP1LD/LLN0$BR$brcbHP01' },
        });
        assert.deepEqual(r.listOfAccessResult[3], {
            success: { kind: 'binary-time', msOfDay: 0x02932ff4, days: 0x398b },
        });
        assert.deepEqual(r.listOfAccessResult[9], { success: mv(2300) });
        assert.deepEqual(stanzaFor(pdu), { stanza: 'message', type: 'normal' });
        assert.deepEqual(
            canon(encodePayload({ assoId: '1:7', pdu })),
            canon(stanza.child('ApplData', NS_SCSM_8_2) as XmlElement),
        );
    });
});

// ---------------------------------------------------------------------------------------------

describe('iec61850 mms PDUs: the decoder accepts every variant of note §3.4 and §4.2', () => {
    const core =
        '<invokeID>7</invokeID>SVC<read><variableAccessSpecification><listOfVariable><SEQUENCE><variableSpecification><name><domain-specific><domainId>HP1LD</domainId><itemId>LLN0$ST$Beh$stVal</itemId></domain-specific></name></variableSpecification></SEQUENCE></listOfVariable></variableAccessSpecification></read>END';
    const expected: MmsPdu = {
        pdu: 'confirmed-RequestPDU',
        invokeID: 7,
        request: {
            service: 'read',
            variableAccessSpecification: { listOfVariable: [variable('LLN0$ST$Beh$stVal')] },
        },
    };

    test('service wrappers: ConfirmedServiceRequest, confirmedServiceRequest, service, or none', () => {
        for (const w of ['ConfirmedServiceRequest', 'confirmedServiceRequest', 'service', '']) {
            const body = core.replace('SVC', w ? `<${w}>` : '').replace('END', w ? `</${w}>` : '');
            assert.deepEqual(decodePdu(parseXml(`<confirmed-RequestPDU>${body}</confirmed-RequestPDU>`)), expected, w);
        }
    });

    test('envelopes: ApplData, query, bare PDU; namespace or none; hyphen or underscore', () => {
        const pdu = (name: string, ns = '') => `<${name}${ns}>${core.replace('SVC', '').replace('END', '')}</${name}>`;
        const forms = [
            `<iq type="get"><ApplData xmlns="${NS_SCSM_8_2}">${pdu('confirmed-RequestPDU')}</ApplData></iq>`,
            `<iq type="get"><query>${pdu('confirmed_RequestPDU')}</query></iq>`,
            `<iq type="get">${pdu('confirmed-RequestPDU', ` xmlns="${NS_SCSM_8_2}"`)}</iq>`,
            `<x:ApplData xmlns:x="${NS_SCSM_8_2}" assoID="3"><x:confirmed-RequestPDU>${core
                .replace('SVC', '')
                .replace('END', '')
                .replace(/<(\/?)/g, '<$1x:')}</x:confirmed-RequestPDU></x:ApplData>`,
        ];
        for (const f of forms) assert.deepEqual(decodePayloadXml(f).pdu, expected, f);
        assert.equal(decodePayloadXml(forms[3] as string).assoId, '3');
        expectMmsError(
            () => decodePayloadXml(`<ApplData xmlns="urn:other">${pdu('confirmed-RequestPDU')}</ApplData>`),
            'unknown-element',
            /namespace/,
        );
    });

    test('ISO 9506-2:2003 and 8-1 (1990) spellings', () => {
        const name2003 =
            '<read><variableAccessSpecificatn><listOfVariable><SEQUENCE><variableSpecification><name><domain-specific><domainID>HP1LD</domainID><itemID>LLN0$ST$Beh$stVal</itemID></domain-specific></name></variableSpecification></SEQUENCE></listOfVariable></variableAccessSpecificatn></read>';
        assert.deepEqual(decodeRequest(parseXml(name2003), 'r'), (expected as { request: ConfirmedRequest }).request);
        const classes = [
            '<objectClass><domain/></objectClass>',
            '<objectClass>9</objectClass>',
            '<objectClass><basicObjectClass><domain/></basicObjectClass></objectClass>',
            '<extendedObjectClass><objectClass>9</objectClass></extendedObjectClass>',
        ];
        for (const c of classes) {
            const r = decodeRequest(
                parseXml(`<getNameList>${c}<objectScope><vmdSpecific/></objectScope></getNameList>`),
                'g',
            );
            assert.deepEqual(
                r,
                { service: 'getNameList', objectClass: 'domain', objectScope: { vmdSpecific: true } },
                c,
            );
        }
        const gvaa2003 =
            '<getVariableAccessAttributes><mmsDeletable><true/></mmsDeletable><typeDescription><visible-string>-129</visible-string></typeDescription></getVariableAccessAttributes>';
        assert.deepEqual(decodeResponse(parseXml(gvaa2003), 'g'), {
            service: 'getVariableAccessAttributes',
            mmsDeletable: true,
            typeSpecification: { kind: 'visible-string', size: -129 },
        });
        const init1990 = parseXml(
            '<initiate-ResponsePDU><localDetailCalled>65000</localDetailCalled><negotiatedMaxServOutstandingCalling>5</negotiatedMaxServOutstandingCalling><negotiatedMaxServOutstandingCalled>5</negotiatedMaxServOutstandingCalled><mmsInitResponseDetail><negotiatedVersionNumber>1</negotiatedVersionNumber><negotiatedParameterCBB>11110001000</negotiatedParameterCBB><servicesSupportedCalled>1110</servicesSupportedCalled></mmsInitResponseDetail></initiate-ResponsePDU>',
        );
        const init = decodePdu(init1990);
        assert.ok(init.pdu === 'initiate-ResponsePDU');
        assert.equal(init.localDetail, 65000);
        assert.equal(init.parameterCBB, '11110001000');
    });

    test('simple components as attribute or child; named numbers as identifier or decimal', () => {
        const del = (attrOrChild: string) =>
            decodeRequest(
                parseXml(
                    `<deleteNamedVariableList${attrOrChild}><listOfVariableListName><ObjectName><aa-specific>@ds</aa-specific></ObjectName></listOfVariableListName></deleteNamedVariableList>`,
                ),
                'd',
            );
        const want = {
            service: 'deleteNamedVariableList',
            scopeOfDelete: 'specific',
            listOfVariableListName: [{ scope: 'aa-specific', name: '@ds' }],
        };
        assert.deepEqual(del(' scopeOfDelete="specific"'), want);
        assert.deepEqual(del(' scopeOfDelete="0"'), want);
        const child = parseXml(
            '<read><specificationWithResult><true/></specificationWithResult><variableAccessSpecification><variableListName><domain-specific><domainId>HP1LD</domainId><itemId>LLN0$DS_HP</itemId></domain-specific></variableListName></variableAccessSpecification></read>',
        );
        const attr = parseXml(
            '<read specificationWithResult="1"><variableAccessSpecification><variableListName><domain-specific><domainId>HP1LD</domainId><itemId>LLN0$DS_HP</itemId></domain-specific></variableListName></variableAccessSpecification></read>',
        );
        assert.deepEqual(decodeRequest(child, 'r'), decodeRequest(attr, 'r'));
        assert.equal((decodeRequest(attr, 'r') as { specificationWithResult: boolean }).specificationWithResult, true);
        const w = parseXml(
            '<write><CHOICE><failure><temporarily-unavailable/></failure></CHOICE><CHOICE><failure>2</failure></CHOICE><CHOICE><success/></CHOICE></write>',
        );
        assert.deepEqual(decodeResponse(w, 'w'), {
            service: 'write',
            results: [{ failure: 2 }, { failure: 2 }, { success: true }],
        });
        expectMmsError(
            () =>
                decodeRequest(
                    parseXml(
                        '<read specificationWithResult="yes"><variableAccessSpecification><variableListName><vmd-specific>x</vmd-specific></variableListName></variableAccessSpecification></read>',
                    ),
                    'r',
                ),
            'bad-lexical',
        );
    });
});

// ---------------------------------------------------------------------------------------------

const LD = 'HP1LD';
const time = { msOfDay: 43_200_500, days: 14_731 };

/** One of each request body (Annex D Table D.1). */
const REQUESTS: ConfirmedRequest[] = [
    { service: 'getNameList', objectClass: 'domain', objectScope: { vmdSpecific: true } },
    {
        service: 'getNameList',
        objectClass: 'namedVariableList',
        objectScope: { domainSpecific: LD },
        continueAfter: 'LLN0$DS_A',
    },
    { service: 'getNameList', objectClass: 'namedVariableList', objectScope: { aaSpecific: true } },
    {
        service: 'read',
        specificationWithResult: true,
        variableAccessSpecification: { variableListName: dom(LD, 'LLN0$DS_HP') },
    },
    {
        service: 'read',
        variableAccessSpecification: {
            listOfVariable: [
                { name: dom(LD, 'FSCH1$SP$ValASG'), alternateAccess: [{ index: 3 }, { component: 'setMag' }] },
                {
                    name: dom(LD, 'FSCH1$SP$ValASG'),
                    alternateAccess: [{ indexRange: { lowIndex: 2, numberOfElements: 4 } }],
                },
                { name: dom(LD, 'FSCH1$SP$ValASG'), alternateAccess: [{ allElements: true }] },
                { name: { scope: 'vmd-specific', name: 'LastApplError' } },
            ],
        },
    },
    {
        service: 'write',
        variableAccessSpecification: { listOfVariable: [variable('LLN0$BR$brcbHP01$RptEna')] },
        listOfData: [{ kind: 'boolean', value: true }],
    },
    { service: 'getVariableAccessAttributes', name: dom(LD, 'STMP1') },
    {
        service: 'defineNamedVariableList',
        variableListName: { scope: 'aa-specific', name: '@myds' },
        listOfVariable: [variable('MMXN1$MX$Watt'), variable('STMP1$MX$Tmp')],
    },
    { service: 'getNamedVariableListAttributes', name: dom(LD, 'LLN0$DS_HP') },
    {
        service: 'deleteNamedVariableList',
        scopeOfDelete: 'specific',
        listOfVariableListName: [dom(LD, 'LLN0$DS_X')],
    },
    {
        service: 'readJournal',
        journalName: dom(LD, 'LLN0$EventLog'),
        rangeStartSpecification: { startingTime: time },
        rangeStopSpecification: { endingTime: { msOfDay: 1, days: 14_732 } },
    },
    {
        service: 'readJournal',
        journalName: dom(LD, 'LLN0$EventLog'),
        rangeStartSpecification: { startingTime: time },
        rangeStopSpecification: { numberOfEntries: 50 },
        listOfVariables: ['HP1LD/MMXN1$MX$Watt'],
        entryToStartAfter: {
            timeSpecification: time,
            entrySpecification: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x77]),
        },
    },
    { service: 'fileOpen', fileName: ['LD/HP1LD/log.csv'], initialPosition: 0 },
    { service: 'fileRead', frsmID: 3 },
    { service: 'fileClose', frsmID: 3 },
    { service: 'fileDelete', fileName: ['LD/HP1LD/', 'old.csv'] },
    { service: 'fileDirectory' },
    { service: 'fileDirectory', fileSpecification: ['LD/HP1LD/'], continueAfter: ['LD/HP1LD/a.csv'] },
    { service: 'obtainFile', sourceFile: ['upload.cid'], destinationFile: ['LD/HP1LD/config.cid'] },
];

/** One of each response body. */
const RESPONSES: ConfirmedResponse[] = [
    { service: 'getNameList', listOfIdentifier: ['HP1LD', 'HP1LD2'], moreFollows: false },
    { service: 'read', listOfAccessResult: [{ success: mv(45.5) }, { failure: 10 }] },
    {
        service: 'read',
        variableAccessSpecification: { variableListName: dom(LD, 'LLN0$DS_HP') },
        listOfAccessResult: [{ success: { kind: 'boolean', value: false } }],
    },
    { service: 'write', results: [{ success: true }, { failure: 3 }] },
    {
        service: 'getVariableAccessAttributes',
        mmsDeletable: false,
        typeSpecification: {
            kind: 'structure',
            packed: false,
            components: [
                {
                    name: 'arr',
                    type: { kind: 'array', numberOfElements: 4, elementType: { kind: 'integer', width: 32 } },
                },
                { name: 'u', type: { kind: 'unsigned', width: 8 } },
                { name: 'b', type: { kind: 'boolean' } },
                { name: 'o', type: { kind: 'octet-string', size: -64 } },
                { name: 'm', type: { kind: 'mMSString', size: -255 } },
                { name: 'e', type: { kind: 'binary-time', withDate: true } },
                { type: { kind: 'visible-string', size: 129 } },
            ],
        },
    },
    { service: 'defineNamedVariableList' },
    { service: 'getNamedVariableListAttributes', mmsDeletable: true, listOfVariable: [variable('MMXN1$MX$Watt')] },
    { service: 'deleteNamedVariableList', numberMatched: 1, numberDeleted: 0 },
    {
        service: 'readJournal',
        moreFollows: true,
        listOfJournalEntry: [
            {
                entryIdentifier: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x78]),
                occurrenceTime: time,
                entryForm: {
                    listOfVariables: [
                        { variableTag: 'HP1LD/MMXN1$MX$Watt', valueSpecification: mv(2300) },
                        { variableTag: 'ReasonCode', valueSpecification: { kind: 'bit-string', bits: '0100000' } },
                    ],
                },
            },
            {
                entryIdentifier: new Uint8Array(8).fill(1),
                occurrenceTime: { msOfDay: 5 },
                entryForm: { annotation: 'boot' },
            },
        ],
    },
    { service: 'fileOpen', frsmID: 3, fileAttributes: { sizeOfFile: 1234, lastModified: '20240501120000.000Z' } },
    { service: 'fileRead', fileData: Uint8Array.from([0x61, 0x3b, 0x62, 0x0a]), moreFollows: false },
    { service: 'fileClose' },
    { service: 'fileDelete' },
    {
        service: 'fileDirectory',
        listOfDirectoryEntry: [{ fileName: ['LD/HP1LD/log.csv'], fileAttributes: { sizeOfFile: 10 } }],
        moreFollows: false,
    },
    { service: 'obtainFile' },
];

const serviceError = { errorClass: { class: 'service', code: 4 }, additionalDescription: 'bad continueAfter' };

/** One of each PDU kind. */
const PDUS: MmsPdu[] = [
    ...REQUESTS.map((request, i): MmsPdu => ({ pdu: 'confirmed-RequestPDU', invokeID: i, request })),
    ...RESPONSES.map((response, i): MmsPdu => ({ pdu: 'confirmed-ResponsePDU', invokeID: 2 ** 31 - 1 - i, response })),
    { pdu: 'confirmed-ErrorPDU', invokeID: 9, serviceError },
    {
        pdu: 'unconfirmed-PDU',
        informationReport: {
            variableAccessSpecification: { listOfVariable: [variable('FSPT1$CO$SptVal$Oper')] },
            listOfAccessResult: [{ success: mv(45.5) }],
        },
    },
    { pdu: 'rejectPDU', originalInvokeID: 9, rejectReason: { pdu: 'confirmed-requestPDU', code: 4 } },
    {
        pdu: 'initiate-RequestPDU',
        localDetail: 65000,
        maxServOutstandingCalling: 5,
        maxServOutstandingCalled: 5,
        dataStructureNestingLevel: 10,
        versionNumber: 1,
        parameterCBB: '11110001000',
        servicesSupported: '1'.repeat(85),
    },
    {
        pdu: 'initiate-ResponsePDU',
        localDetail: 65000,
        maxServOutstandingCalling: 5,
        maxServOutstandingCalled: 5,
        versionNumber: 1,
        parameterCBB: '11110001000',
        servicesSupported: `${'0'.repeat(84)}1`,
    },
    { pdu: 'initiate-ErrorPDU', serviceError: { errorClass: { class: 'initiate', code: 1 } } },
    { pdu: 'conclude-RequestPDU' },
    { pdu: 'conclude-ResponsePDU' },
    { pdu: 'conclude-ErrorPDU', serviceError: { errorClass: { class: 'conclude', code: 1 }, additionalCode: -3 } },
    { pdu: 'cancel-RequestPDU', invokeID: 12 },
    { pdu: 'cancel-ResponsePDU', invokeID: 12 },
    { pdu: 'cancel-ErrorPDU', originalInvokeID: 12, serviceError: { errorClass: { class: 'cancel', code: 2 } } },
];

describe('iec61850 mms PDUs: every PDU and every service of Table D.1 round-trips', () => {
    test('each PDU kind, request and response through XML text, with and without ApplData', () => {
        const kinds = new Set(PDUS.map((p) => p.pdu));
        assert.deepEqual([...kinds].sort(), [...PDU_KINDS].sort(), 'one sample of each PDU kind');
        const reqServices = new Set(REQUESTS.map((r) => r.service));
        const resServices = new Set(RESPONSES.map((r) => r.service));
        assert.deepEqual([...reqServices].sort(), [...CONFIRMED_SERVICES].sort());
        assert.deepEqual([...resServices].sort(), [...CONFIRMED_SERVICES].sort());
        for (const pdu of PDUS) {
            const text = serialize(encodePayload({ assoId: '1:7', pdu }));
            assert.deepStrictEqual(decodePayloadXml(text), { assoId: '1:7', pdu }, text);
            const bare = serialize(encodePdu(pdu));
            assert.deepStrictEqual(decodePayloadXml(bare), { pdu }, bare);
        }
    });

    test('Table D.1: every PDU has one stanza; gets are reads, sets change state', () => {
        for (const pdu of PDUS) {
            const rows = STANZA_MAPPING.filter(
                (r) =>
                    r.pdu === pdu.pdu &&
                    (r.services === undefined ||
                        (pdu.pdu === 'confirmed-RequestPDU' && r.services.includes(pdu.request.service))),
            );
            assert.equal(rows.length, 1, `${pdu.pdu} ${pdu.pdu === 'confirmed-RequestPDU' ? pdu.request.service : ''}`);
        }
        const get = (s: ConfirmedRequest['service']) =>
            stanzaFor({ pdu: 'confirmed-RequestPDU', invokeID: 1, request: { service: s } as ConfirmedRequest });
        for (const s of ['read', 'getNameList', 'getVariableAccessAttributes', 'readJournal', 'fileRead'] as const) {
            assert.deepEqual(get(s), { stanza: 'iq', type: 'get' }, s);
        }
        for (const s of [
            'write',
            'defineNamedVariableList',
            'deleteNamedVariableList',
            'fileOpen',
            'fileDelete',
        ] as const) {
            assert.deepEqual(get(s), { stanza: 'iq', type: 'set' }, s);
        }
        assert.deepEqual(stanzaFor({ pdu: 'rejectPDU', rejectReason: { pdu: 'pdu-error', code: 0 } }), {
            stanza: 'message',
            type: 'normal',
        });
        assert.deepEqual(stanzaFor({ pdu: 'conclude-RequestPDU' }), { stanza: 'iq', type: 'set' });
        const write = PDUS[5] as MmsPdu;
        checkStanza(write, 'iq', 'set');
        expectMmsError(() => checkStanza(write, 'iq', 'get'), 'unexpected-content', /Table D\.1/);
        checkStanza({ pdu: 'rejectPDU', rejectReason: { pdu: 'pdu-error', code: 0 } }, 'message', '');
    });

    test('property: 400 random read/write/report PDUs with random names and Data round-trip', () => {
        const rnd = mulberry32(0x8200);
        const tree = generator(0x8201);
        const int = (n: number) => Math.floor(rnd() * n);
        const ident = () =>
            Array.from(
                { length: 1 + int(63) },
                () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$'[int(64)],
            ).join('');
        const name = (): ObjectName => {
            const r = int(3);
            if (r === 0) return { scope: 'vmd-specific', name: ident() };
            if (r === 1) return { scope: 'aa-specific', name: ident() };
            return dom(ident(), ident());
        };
        const spec = (): VariableSpec =>
            rnd() < 0.3
                ? { name: name(), alternateAccess: [{ index: int(2 ** 31) }, { component: 'f' }] }
                : { name: name() };
        for (let i = 0; i < 400; i++) {
            const vars = Array.from({ length: int(6) }, spec);
            const vas = rnd() < 0.5 ? { listOfVariable: vars } : { variableListName: name() };
            const datas = Array.from({ length: int(6) }, () => tree(4));
            const candidates: MmsPdu[] = [
                {
                    pdu: 'confirmed-RequestPDU',
                    invokeID: int(2 ** 32),
                    request: { service: 'read', variableAccessSpecification: vas },
                },
                {
                    pdu: 'confirmed-RequestPDU',
                    invokeID: int(2 ** 32),
                    request: { service: 'write', variableAccessSpecification: vas, listOfData: datas },
                },
                {
                    pdu: 'confirmed-ResponsePDU',
                    invokeID: int(2 ** 32),
                    response: {
                        service: 'read',
                        listOfAccessResult: datas.map((d) => (rnd() < 0.2 ? { failure: int(12) } : { success: d })),
                    },
                },
                {
                    pdu: 'unconfirmed-PDU',
                    informationReport: {
                        variableAccessSpecification: vas,
                        listOfAccessResult: datas.map((d) => ({ success: d })),
                    },
                },
            ];
            const pdu = candidates[int(candidates.length)] as MmsPdu;
            const text = serialize(encodePayload({ pdu }));
            assert.deepStrictEqual(decodePayloadXml(text).pdu, pdu, text);
        }
    });
});

// ---------------------------------------------------------------------------------------------

describe('iec61850 mms PDUs: hostile and malformed input gives a typed error, never a crash', () => {
    const readReq = serialize(encodePayload({ assoId: '1:7', pdu: PDUS[3] as MmsPdu }));

    test('XML-level attacks are refused by the hardened layer as reason xml', () => {
        const billion =
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><ApplData>&lol2;</ApplData>';
        expectMmsError(() => decodePayloadXml(billion), 'xml');
        const big = `<ApplData xmlns="${NS_SCSM_8_2}"><rejectPDU><rejectReason><pdu-error>0</pdu-error></rejectReason></rejectPDU><!--${'x'.repeat(10 * 1024 * 1024)}--></ApplData>`;
        expectMmsError(() => decodePayloadXml(big), 'xml', /bytes|size|large/i);
        const deep = `${'<structure><Data>'.repeat(10_000)}<boolean><true/></boolean>${'</Data></structure>'.repeat(10_000)}`;
        expectMmsError(
            () =>
                decodePayloadXml(
                    `<confirmed-ResponsePDU><invokeID>1</invokeID><read><listOfAccessResult><AccessResult><success>${deep}</success></AccessResult></listOfAccessResult></read></confirmed-ResponsePDU>`,
                ),
            'xml',
            /deep|depth|nest/i,
        );
        for (const cut of [10, 100, readReq.length - 5])
            expectMmsError(() => decodePayloadXml(readReq.slice(0, cut)), 'xml');
        expectMmsError(() => decodePayloadXml('not xml at all'), 'xml');
    });

    test('Data nested beyond the codec limit (within the XML limit) is refused as too-deep', () => {
        const n = 40;
        const deep = `${'<structure><Data>'.repeat(n)}<boolean><true/></boolean>${'</Data></structure>'.repeat(n)}`;
        const err = expectMmsError(
            () =>
                decodePayloadXml(
                    `<confirmed-ResponsePDU><invokeID>1</invokeID><read><listOfAccessResult><AccessResult><success>${deep}</success></AccessResult></listOfAccessResult></read></confirmed-ResponsePDU>`,
                    { xml: { maxDepth: 200 } },
                ),
            'too-deep',
        );
        assert.equal(err.code, 'LIMIT');
    });

    test('unknown, unmapped and malformed PDUs and services', () => {
        const wrap = (svc: string) =>
            `<confirmed-RequestPDU><invokeID>5</invokeID><ConfirmedServiceRequest>${svc}</ConfirmedServiceRequest></confirmed-RequestPDU>`;
        const cases: Array<[string, MmsReason, RegExp?]> = [
            ['<bogusPDU/>', 'unknown-element', /not an MMS PDU/],
            [wrap('<status/>'), 'unsupported', /Table D\.1/],
            [wrap('<extendedGetNameList/>'), 'unsupported'],
            [wrap('<frobnicate/>'), 'unknown-element', /not an MMS confirmed service/],
            ['<confirmed-RequestPDU><read/></confirmed-RequestPDU>', 'missing-element', /invokeID/],
            ['<confirmed-RequestPDU><invokeID>5</invokeID></confirmed-RequestPDU>', 'missing-element', /no service/],
            ['<confirmed-RequestPDU><invokeID>4294967296</invokeID><read/></confirmed-RequestPDU>', 'out-of-range'],
            ['<confirmed-RequestPDU><invokeID>abc</invokeID><read/></confirmed-RequestPDU>', 'bad-lexical'],
            [
                '<confirmed-RequestPDU><invokeID>5</invokeID><listOfModifier/><read/></confirmed-RequestPDU>',
                'unsupported',
            ],
            [
                wrap(
                    '<read><variableAccessSpecification><listOfVariable><SEQUENCE><variableSpecification><address>1</address></variableSpecification></SEQUENCE></listOfVariable></variableAccessSpecification></read>',
                ),
                'unsupported',
            ],
            [
                wrap(
                    `<getVariableAccessAttributes><name><domain-specific><domainId>LD</domainId><itemId>${'A'.repeat(65)}</itemId></domain-specific></name></getVariableAccessAttributes>`,
                ),
                'out-of-range',
                /64/,
            ],
            [
                wrap(
                    '<getVariableAccessAttributes><name><domain-specific><domainId>LD</domainId></domain-specific></name></getVariableAccessAttributes>',
                ),
                'missing-element',
            ],
            [
                wrap(
                    '<getNameList><objectClass><bogus/></objectClass><objectScope><vmdSpecific/></objectScope></getNameList>',
                ),
                'unknown-element',
            ],
            [
                wrap(
                    '<getNameList><objectClass>99</objectClass><objectScope><vmdSpecific/></objectScope></getNameList>',
                ),
                'out-of-range',
            ],
            [
                wrap(
                    '<write><variableAccessSpecification><variableListName><vmd-specific>x</vmd-specific></variableListName></variableAccessSpecification><listOfData><Data><integer>1e3</integer></Data></listOfData></write>',
                ),
                'bad-lexical',
            ],
            [wrap('<fileOpen><fileName/><initialPosition>0</initialPosition></fileOpen>'), 'missing-element'],
            [
                wrap(
                    '<readJournal><journalName><vmd-specific>j</vmd-specific></journalName><rangeStartSpecification><startingTime>0102</startingTime></rangeStartSpecification></readJournal>',
                ),
                'bad-lexical',
            ],
            [
                '<unconfirmed-PDU><UnconfirmedService><eventNotification/></UnconfirmedService></unconfirmed-PDU>',
                'unsupported',
            ],
            [
                '<initiate-RequestPDU><proposedMaxServOutstandingCalling>0</proposedMaxServOutstandingCalling><proposedMaxServOutstandingCalled>1</proposedMaxServOutstandingCalled><initRequestDetail><proposedVersionNumber>1</proposedVersionNumber><proposedParameterCBB>1</proposedParameterCBB><servicesSupportedCalling>1</servicesSupportedCalling></initRequestDetail></initiate-RequestPDU>',
                'out-of-range',
            ],
            ['<conclude-RequestPDU>x</conclude-RequestPDU>', 'unexpected-content'],
            [
                `<ApplData xmlns="${NS_SCSM_8_2}" assoID="one"><conclude-RequestPDU/></ApplData>`,
                'bad-lexical',
                /assoID/,
            ],
            [
                `<ApplData xmlns="${NS_SCSM_8_2}"><conclude-RequestPDU/><conclude-RequestPDU/></ApplData>`,
                'missing-element',
                /exactly one/,
            ],
            [`<ApplData xmlns="${NS_SCSM_8_2}"/>`, 'missing-element'],
        ];
        for (const [xml, reason, pattern] of cases) {
            const err = expectMmsError(() => decodePayloadXml(xml), reason, pattern);
            assert.ok(err.message.length > 10, err.message);
        }
        // the codec holds no state: a good payload still decodes after all of the above
        assert.equal(decodePayloadXml(readReq).assoId, '1:7');
    });

    test('the encoder refuses wrong types and out-of-range values with a typed error', () => {
        const bad: Array<[() => unknown, MmsReason]> = [
            [() => encodePdu({ pdu: 'nope' } as unknown as MmsPdu), 'wrong-type'],
            [
                () =>
                    encodePdu({ pdu: 'confirmed-RequestPDU', invokeID: -1, request: REQUESTS[0] as ConfirmedRequest }),
                'out-of-range',
            ],
            [() => encodeRequest({ service: 'bogus' } as unknown as ConfirmedRequest), 'wrong-type'],
            [
                () => encodeRequest({ service: 'getVariableAccessAttributes', name: dom('LD', 'x'.repeat(65)) }),
                'out-of-range',
            ],
            [
                () => encodeRequest({ service: 'getVariableAccessAttributes', name: dom('LD', 'tab\there') }),
                'out-of-range',
            ],
            [() => encodeRequest({ service: 'fileOpen', fileName: [], initialPosition: 0 }), 'wrong-type'],
            [() => encodeRequest({ service: 'fileOpen', fileName: ['a\u0000b'], initialPosition: 0 }), 'out-of-range'],
            [
                () =>
                    encodeResponse({
                        service: 'fileOpen',
                        frsmID: 1,
                        fileAttributes: { sizeOfFile: 1, lastModified: 'yesterday' },
                    }),
                'bad-lexical',
            ],
            [() => encodePayload({ assoId: 'x:y', pdu: { pdu: 'conclude-RequestPDU' } }), 'wrong-type'],
            [
                () =>
                    encodePdu({
                        ...(PDUS.find((p) => p.pdu === 'initiate-RequestPDU') as MmsPdu),
                        parameterCBB: '12',
                    } as MmsPdu),
                'wrong-type',
            ],
            [
                () => encodePdu({ pdu: 'conclude-ErrorPDU', serviceError: { errorClass: { class: 'nope', code: 1 } } }),
                'wrong-type',
            ],
        ];
        for (const [fn, reason] of bad) expectMmsError(fn, reason);
    });
});
