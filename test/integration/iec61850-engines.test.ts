/**
 * The IEC 61850-8-2 client and server engines against each other through a real Prosody, with
 * the shipped heat-pump model: association, every directory, data and data set service, paging,
 * the error paths (unknown reference, wrong type, read-only FC, unauthorised JID, oversize PDU,
 * unknown association, malformed payload) and re-association after a Prosody restart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Iec61850Client, Iec61850ClientError } from '../../src/protocols/iec61850/client';
import { NS_SCSM_8_2 } from '../../src/protocols/iec61850/mms/constants';
import { decodePayload, encodePayload } from '../../src/protocols/iec61850/mms/envelope';
import type { MmsPdu } from '../../src/protocols/iec61850/mms/pdu';
import type { ConfirmedRequest } from '../../src/protocols/iec61850/mms/services';
import { importScl, type SclModel } from '../../src/protocols/iec61850/scl';
import { Iec61850Server, NS_DERLINK_8_2_ERRORS, type WriteRequest } from '../../src/protocols/iec61850/server';
import { el } from '../../src/protocols/xml';
import { type Session, StanzaError } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { nextState, online, waitFor } from '../support/xmpp';

const ICD = readFileSync(path.join(__dirname, '../../models/sdvp-heat-pump.icd'), 'utf8');

let prosody: Prosody;
let model: SclModel;
let hp: Session;
let agg: Session;
let viewer: Session;
let stranger: Session;
let small: Session;
let server: Iec61850Server;
let client: Iec61850Client;
const writes: WriteRequest[] = [];
let refuseNext: string | boolean | undefined;
/** While set, the flow answers writes only when it resolves. */
let holdWrites: Promise<void> | undefined;
let serverJid: string;

async function associated(c: Iec61850Client): Promise<void> {
    if (c.state === 'associated') return;
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
            () => reject(new Error(`not associated: ${c.state} ${c.info.error?.message}`)),
            10_000,
        );
        const on = (s: string) => {
            if (s !== 'associated') return;
            clearTimeout(timer);
            c.off('state', on);
            resolve();
        };
        c.on('state', on);
    });
}

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<Iec61850ClientError> {
    const err = await p.then(
        () => assert.fail(`expected ${code}`),
        (e: unknown) => e,
    );
    assert.ok(err instanceof Iec61850ClientError, `not a client error: ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
}

/** Sends a PDU as it is (no client checks) and decodes the answer. */
async function raw(session: Session, pdu: MmsPdu, assoId: string | undefined, type: 'get' | 'set' = 'get') {
    const answer = await session.request(serverJid, type, encodePayload(assoId ? { assoId, pdu } : { pdu }));
    assert.ok(answer, 'an answer payload');
    return decodePayload(answer);
}

before(async () => {
    prosody = await startProsody({
        accounts: { hp1: 'h', agg: 'a', viewer: 'v', stranger: 's', small: 'm', hp2: 'h2', friend: 'f' },
    });
    const d = prosody.domain;
    serverJid = `hp1@${d}/IEC`;
    model = importScl(ICD);
    hp = await online(prosody, 'hp1', { resource: 'IEC' });
    agg = await online(prosody, 'agg', { resource: 'app' });
    viewer = await online(prosody, 'viewer', { resource: 'v' });
    stranger = await online(prosody, 'stranger', { resource: 's' });
    small = await online(prosody, 'small', { resource: 'm' });
    server = new Iec61850Server(hp, {
        model,
        access: {
            associate: [`agg@${d}`, `viewer@${d}`, `small@${d}`],
            read: [`agg@${d}`, `viewer@${d}`, `small@${d}`],
            write: [`agg@${d}`, `small@${d}`],
        },
        writeTimeoutMs: 1500,
        onWrite: async (req) => {
            if (holdWrites) await holdWrites;
            writes.push(req);
            const r = refuseNext;
            refuseNext = undefined;
            return r;
        },
    });
    client = new Iec61850Client(agg, { server: `hp1@${d}`, reconnect: { minMs: 200, maxMs: 1000 } });
    client.start();
    await associated(client);
});

after(async () => {
    await client?.close();
    server?.close();
    for (const s of [hp, agg, viewer, stranger, small]) await s?.close();
    await prosody?.stop();
    prosody?.cleanup();
});

describe('association', () => {
    test('the client associates; the server lists the association with the negotiated parameters', () => {
        assert.equal(client.state, 'associated');
        const a = server.associations.find((x) => x.peer === agg.jid);
        assert.ok(a, 'association listed');
        assert.match(a.assoId, /^\d{1,3}:\d{1,3}$/);
        assert.equal(a.maxPduSize, 65_536);
        assert.equal(client.info.assoId, a.assoId);
    });

    test('a JID that may not associate gets initiate-ErrorPDU access-denied, and nothing else', async () => {
        const events: string[] = [];
        server.on('association', (e) => events.push(`${e.type} ${e.peer}`));
        const c = new Iec61850Client(stranger, { server: serverJid, reassociate: false });
        const state = new Promise<string>((resolve) =>
            c.on(
                'state',
                (s, info) =>
                    s === 'waiting' && resolve(`${(info.error as Iec61850ClientError).code} ${info.error?.message}`),
            ),
        );
        c.start();
        const s = await state;
        assert.match(s, /^ACCESS_DENIED .*access\/object-access-denied/);
        assert.ok(events.includes(`refused ${stranger.jid}`));
        assert.ok(!server.associations.some((a) => a.peer === stranger.jid));
        await rejects(c.getServerDirectory(), 'NOT_ASSOCIATED');
        await c.close();
    });

    test('a request without an association gets item-not-found with unknown-association (note §8.3)', async () => {
        const err = await raw(
            stranger,
            {
                pdu: 'confirmed-RequestPDU',
                invokeID: 1,
                request: { service: 'getNameList', objectClass: 'domain', objectScope: { vmdSpecific: true } },
            },
            '7:7',
        ).then(
            () => assert.fail('expected an error'),
            (e: unknown) => e,
        );
        assert.ok(err instanceof StanzaError);
        assert.equal(err.condition, 'item-not-found');
        assert.equal(err.application?.local, 'unknown-association');
        assert.equal(err.application?.ns, NS_DERLINK_8_2_ERRORS);
    });

    test('a proposed max PDU size below 8192 is refused (max-segment-insufficient)', async () => {
        const answer = await raw(
            stranger,
            {
                pdu: 'initiate-RequestPDU',
                localDetail: 4096,
                maxServOutstandingCalling: 1,
                maxServOutstandingCalled: 1,
                versionNumber: 1,
                parameterCBB: '11110001000',
                servicesSupported: '1'.repeat(85),
            },
            '1',
            'set',
        );
        assert.equal(answer.pdu.pdu, 'initiate-ErrorPDU');
    });
});

describe('directories', () => {
    test('GetServerDirectory lists the logical device', async () => {
        assert.deepEqual(await client.getServerDirectory(), ['HP1LD']);
    });

    test('GetLogicalDeviceDirectory lists every LN of the model, through paging at 8192 octets', async () => {
        const expected = model.server.logicalDevices[0]?.logicalNodes.map((l) => l.name);
        assert.deepEqual(await client.getLogicalDeviceDirectory('HP1LD'), expected);
        const c = new Iec61850Client(small, { server: serverJid, maxPduSize: 8192 });
        c.start();
        await associated(c);
        assert.equal(c.info.maxPduSize, 8192);
        const before = server.associations.find((a) => a.peer === small.jid)?.requests ?? 0;
        assert.deepEqual(await c.getLogicalDeviceDirectory('HP1LD'), expected);
        const pages = (server.associations.find((a) => a.peer === small.jid)?.requests ?? 0) - before;
        assert.ok(pages > 3, `several pages with moreFollows (${pages})`);
        await c.close();
    });

    test('a continueAfter that is not in the list gets continuation-invalid', async () => {
        const a = server.associations.find((x) => x.peer === agg.jid);
        const answer = await raw(
            agg,
            {
                pdu: 'confirmed-RequestPDU',
                invokeID: 9001,
                request: {
                    service: 'getNameList',
                    objectClass: 'namedVariable',
                    objectScope: { domainSpecific: 'HP1LD' },
                    continueAfter: 'NOPE1$MX$X',
                },
            },
            a?.assoId,
        );
        assert.equal(answer.pdu.pdu, 'confirmed-ErrorPDU');
        if (answer.pdu.pdu === 'confirmed-ErrorPDU') {
            assert.equal(answer.pdu.invokeID, 9001);
            assert.deepEqual(answer.pdu.serviceError.errorClass, { class: 'service', code: 4 });
        }
    });

    test('GetLogicalNodeDirectory gives data objects and data sets', async () => {
        const dos = await client.getLogicalNodeDirectory('HP1LD/MMXN1');
        const ln = model.server.logicalDevices[0]?.logicalNodes.find((l) => l.name === 'MMXN1');
        assert.deepEqual([...dos].sort(), ln?.dataObjects.map((d) => d.name).sort());
        assert.deepEqual(await client.getLogicalNodeDirectory('HP1LD/LLN0', 'DATA-SET'), [
            'HP1LD/LLN0.DS_HP',
            'HP1LD/LLN0.DS_ST',
        ]);
        await rejects(client.getLogicalNodeDirectory('HP1LD/XXXX9'), 'NOT_FOUND');
        await rejects(client.getLogicalDeviceDirectory('NOLD'), 'NOT_FOUND');
    });

    test('GetDataDirectory and GetDataDefinition describe a DO', async () => {
        const dir = await client.getDataDirectory('HP1LD/MMXN1.Watt');
        const mag = dir.find((e) => e.name === 'mag');
        assert.deepEqual(mag?.fcs, ['MX']);
        assert.ok(dir.some((e) => e.name === 'q') && dir.some((e) => e.name === 't'));
        const def = await client.getDataDefinition('HP1LD/MMXN1.Watt[MX]');
        assert.equal(def.kind, 'structure');
        if (def.kind === 'structure')
            assert.deepEqual(
                def.components.map((c) => c.name),
                ['mag', 'q', 't'],
            );
        await rejects(client.getDataDefinition('HP1LD/MMXN1.Nope[MX]'), 'NOT_FOUND');
    });
});

describe('browse', () => {
    test('browse walks the whole model into a typed tree with every reference', async () => {
        const tree = await client.browse();
        assert.equal(tree.server, serverJid);
        assert.deepEqual(
            tree.logicalDevices.map((l) => l.name),
            ['HP1LD'],
        );
        const lns = tree.logicalDevices[0]?.logicalNodes ?? [];
        assert.deepEqual(
            lns.map((l) => l.name),
            model.server.logicalDevices[0]?.logicalNodes.map((l) => l.name),
        );
        const mmxn = lns.find((l) => l.name === 'MMXN1');
        assert.ok(mmxn?.fcs.MX && mmxn.fcs.MX.kind === 'structure');
        const lln0 = lns.find((l) => l.name === 'LLN0');
        assert.deepEqual(
            lln0?.dataSets.map((d) => [d.reference, d.deletable]),
            [
                ['HP1LD/LLN0.DS_HP', false],
                ['HP1LD/LLN0.DS_ST', false],
            ],
        );
        // The same references the server itself lists (FCDs and FCDAs of every LN).
        assert.deepEqual([...tree.references].sort(), server.references().sort());
        assert.ok(tree.references.includes('HP1LD/FSPT1.SptVal.maxVal.f[CF]'));
    });
});

describe('data', () => {
    test('a value set by the flow is read with its quality and time (FCD and FCDA)', async () => {
        const t0 = Date.now();
        const r = server.update('HP1LD/MMXN1.Watt', { value: 2300, quality: 'good' });
        assert.deepEqual(r.set, ['HP1LD/MMXN1.Watt.mag.f[MX]', 'HP1LD/MMXN1.Watt.q[MX]', 'HP1LD/MMXN1.Watt.t[MX]']);
        const v = await client.getDataValues('HP1LD/MMXN1.Watt[MX]');
        assert.equal(v.reference, 'HP1LD/MMXN1.Watt[MX]');
        assert.equal(v.value, 2300);
        assert.equal(v.quality?.validity, 'good');
        assert.ok(v.timestamp && Math.abs(Date.parse(v.timestamp) - t0) < 5000, v.timestamp);
        server.update('HP1LD/MMXN1.Watt', { value: 1234.5, quality: 'questionable' });
        const f = await client.getDataValues('HP1LD/MMXN1.Watt.mag.f[MX]');
        assert.equal(f.value, 1234.5);
        assert.equal((await client.getDataValues('HP1LD/MMXN1.Watt.q[MX]')).value && 'ok', 'ok');
        assert.equal((await client.getDataValues('HP1LD/MMXN1.Watt[MX]')).quality?.validity, 'questionable');
    });

    test('64 reads at once: within the negotiated requests outstanding, the waiting ones combined into fewer Reads', async () => {
        server.update('HP1LD/STMP1.Tmp', 45.5);
        const warnings: string[] = [];
        client.on('warning', (e) => warnings.push(e.message));
        const before = server.associations.find((a) => a.peer === agg.jid)?.requests ?? 0;
        const refs = Array.from({ length: 64 }, (_, i) =>
            i === 40 ? 'HP1LD/MMXN1.Nope[MX]' : i % 2 ? 'HP1LD/MMXN1.Watt.mag.f[MX]' : 'HP1LD/STMP1.Tmp[MX]',
        );
        const reads = await Promise.allSettled(refs.map((r) => client.getDataValues(r)));
        const requests = (server.associations.find((a) => a.peer === agg.jid)?.requests ?? 0) - before;
        assert.ok(requests < 30, `${requests} MMS requests for 64 reads`);
        reads.forEach((r, i) => {
            if (i === 40) {
                assert.equal(r.status, 'rejected');
                if (r.status === 'rejected') {
                    assert.equal((r.reason as Iec61850ClientError).code, 'NOT_FOUND');
                    assert.match((r.reason as Error).message, /MMXN1\.Nope/);
                }
                return;
            }
            assert.equal(r.status, 'fulfilled', String(r.status === 'rejected' && r.reason));
            if (r.status === 'fulfilled') {
                assert.equal(r.value.reference, refs[i]);
                assert.equal(r.value.value, i % 2 ? 1234.5 : 45.5);
            }
        });
        assert.deepEqual(warnings, []);
    });

    test('GetAllDataValues returns every FCD of an LN', async () => {
        server.update('HP1LD/STMP1.Tmp', 45.5);
        const all = await client.getAllDataValues('HP1LD/STMP1', 'MX');
        const tmp = all.find((x) => x.reference === 'HP1LD/STMP1.Tmp[MX]');
        assert.equal(tmp?.value, 45.5);
        const every = await client.getAllDataValues('HP1LD/STMP1');
        assert.ok(
            every.some((x) => x.fc === 'CF'),
            'CF attributes too',
        );
    });

    test('SetDataValues goes to the flow, which accepts it; the value is then read back', async () => {
        const n = writes.length;
        await client.setDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]', 28);
        assert.equal(writes.length, n + 1);
        const w = writes[n] as WriteRequest;
        assert.equal(w.from, agg.jid);
        assert.deepEqual(
            w.items.map((i) => [i.reference, i.value, i.previous]),
            [['HP1LD/FSPT1.SptVal.maxVal.f[CF]', 28, 30]],
        );
        assert.equal((await client.getDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]')).value, 28);
        assert.equal(server.read('HP1LD/FSPT1.SptVal.maxVal.f[CF]'), 28);
    });

    test('the flow refuses a write: the client gets its code and the value stays', async () => {
        refuseNext = 'object-value-invalid';
        await rejects(client.setDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]', 99), 'VALUE_INVALID');
        refuseNext = false;
        await rejects(client.setDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]', 27), 'ACCESS_DENIED');
        assert.equal(server.read('HP1LD/FSPT1.SptVal.maxVal.f[CF]'), 28);
    });

    test('errors: unknown reference, read-only FC, wrong type (client and server side), missing FC', async () => {
        await rejects(client.getDataValues('HP1LD/MMXN1.Nope[MX]'), 'NOT_FOUND');
        await rejects(client.getDataValues('HP1LD/NOPE1.Watt[MX]'), 'NOT_FOUND');
        await rejects(client.setDataValues('HP1LD/MMXN1.Watt.mag.f[MX]', 1), 'ACCESS_DENIED');
        await rejects(client.setDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]', 'hot'), 'TYPE_CONFLICT');
        await rejects(client.getDataValues('HP1LD/MMXN1.Watt'), 'BAD_INPUT', /functional constraint/);
        const n = writes.length;
        const a = server.associations.find((x) => x.peer === agg.jid);
        const answer = await raw(
            agg,
            {
                pdu: 'confirmed-RequestPDU',
                invokeID: 77,
                request: {
                    service: 'write',
                    variableAccessSpecification: {
                        listOfVariable: [
                            {
                                name: {
                                    scope: 'domain-specific',
                                    domainId: 'HP1LD',
                                    itemId: 'FSPT1$CF$SptVal$maxVal$f',
                                },
                            },
                            {
                                name: {
                                    scope: 'domain-specific',
                                    domainId: 'HP1LD',
                                    itemId: 'FSPT1$CF$SptVal$maxVal$f',
                                },
                            },
                        ],
                    },
                    listOfData: [
                        { kind: 'boolean', value: true },
                        { kind: 'visible-string', value: 'x' },
                    ],
                },
            },
            a?.assoId,
            'set',
        );
        assert.equal(answer.pdu.pdu, 'confirmed-ResponsePDU');
        if (answer.pdu.pdu === 'confirmed-ResponsePDU' && answer.pdu.response.service === 'write')
            assert.deepEqual(answer.pdu.response.results, [{ failure: 7 }, { failure: 7 }]);
        assert.equal(writes.length, n, 'the flow never saw the refused writes');
        assert.equal(server.read('HP1LD/FSPT1.SptVal.maxVal.f[CF]'), 28);
    });

    test('a peer with read but not write rights: reads work, writes are access-denied', async () => {
        const c = new Iec61850Client(viewer, { server: serverJid });
        c.start();
        await associated(c);
        assert.equal((await c.getDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]')).value, 28);
        const n = writes.length;
        await rejects(c.setDataValues('HP1LD/FSPT1.SptVal.maxVal.f[CF]', 25), 'ACCESS_DENIED');
        await rejects(c.createDataSet('@mine', ['HP1LD/MMXN1.Watt[MX]']), 'ACCESS_DENIED');
        assert.equal(writes.length, n);
        await c.close();
    });

    test('oversize PDUs: the client refuses to send, the server answers pdu-size', async () => {
        const c = new Iec61850Client(small, { server: serverJid, maxPduSize: 8192 });
        c.start();
        await associated(c);
        const many = Array.from({ length: 400 }, () => 'HP1LD/MMXN1.Watt[MX]');
        await rejects(c.createDataSet('@big', many), 'PDU_SIZE', /8192/);
        const a = server.associations.find((x) => x.peer === small.jid);
        const listOfVariable = Array.from({ length: 200 }, () => ({
            name: { scope: 'domain-specific' as const, domainId: 'HP1LD', itemId: 'MMXN1$MX$Watt$mag$f' },
        }));
        const request: ConfirmedRequest = { service: 'read', variableAccessSpecification: { listOfVariable } };
        const answer = await raw(small, { pdu: 'confirmed-RequestPDU', invokeID: 5, request }, a?.assoId);
        assert.equal(answer.pdu.pdu, 'confirmed-ErrorPDU');
        if (answer.pdu.pdu === 'confirmed-ErrorPDU')
            assert.deepEqual(answer.pdu.serviceError.errorClass, { class: 'service', code: 3 });
        // A response over the size: a whole schedule LN of 24 entries and more.
        const big = await c.getAllDataValues('HP1LD/LLN0').then(
            () => undefined,
            (e: Iec61850ClientError) => e.code,
        );
        assert.ok(big === undefined || big === 'PDU_SIZE', String(big));
        await c.close();
    });

    test('a malformed payload gets bad-request and the server keeps serving', async () => {
        const a = server.associations.find((x) => x.peer === agg.jid);
        const bad = el(
            'ApplData',
            { xmlns: NS_SCSM_8_2, assoID: a?.assoId },
            el('confirmed-RequestPDU', {}, el('invokeID', {}, '12'), el('bogus')),
        );
        const err = await agg.request(serverJid, 'get', bad).then(
            () => assert.fail('expected an error'),
            (e: unknown) => e,
        );
        assert.ok(err instanceof StanzaError);
        assert.equal(err.condition, 'bad-request');
        const wrongType = el('ApplData', { xmlns: NS_SCSM_8_2, assoID: a?.assoId }, el('garbage'));
        await assert.rejects(agg.request(serverJid, 'set', wrongType), StanzaError);
        assert.deepEqual(await client.getServerDirectory(), ['HP1LD']);
    });
});

describe('a flow that is slow to decide', () => {
    test('no answer within writeTimeoutMs: temporarily-unavailable, nothing written', async () => {
        let release = () => {};
        holdWrites = new Promise<void>((r) => {
            release = r;
        });
        try {
            await rejects(client.setDataValues('HP1LD/FSPT1.SptVal.minVal.f[CF]', 7), 'TEMPORARILY_UNAVAILABLE');
        } finally {
            holdWrites = undefined;
            release();
        }
        assert.equal(server.read('HP1LD/FSPT1.SptVal.minVal.f[CF]'), 5);
    });

    test('more requests outstanding than negotiated: a rejectPDU message and a wait error, the rest served', async () => {
        const a = server.associations.find((x) => x.peer === agg.jid);
        assert.equal(a?.maxServOutstanding, 10);
        const rejected = new Promise<MmsPdu>((resolve) => {
            const h = agg.handleMessage(NS_SCSM_8_2, 'ApplData', (m) => {
                h.dispose();
                resolve(decodePayload(m.payload).pdu);
            });
        });
        let release = () => {};
        holdWrites = new Promise<void>((r) => {
            release = r;
        });
        const write = (i: number) =>
            raw(
                agg,
                {
                    pdu: 'confirmed-RequestPDU',
                    invokeID: 500 + i,
                    request: {
                        service: 'write',
                        variableAccessSpecification: {
                            listOfVariable: [
                                {
                                    name: {
                                        scope: 'domain-specific',
                                        domainId: 'HP1LD',
                                        itemId: 'FSPT1$CF$SptVal$stepSize$f',
                                    },
                                },
                            ],
                        },
                        listOfData: [{ kind: 'floating-point', format: 'single', value: 0.25 }],
                    },
                },
                a?.assoId,
                'set',
            ).then(
                (p) => p.pdu.pdu,
                (e: StanzaError) => e.condition,
            );
        const all = Array.from({ length: 11 }, (_, i) => write(i));
        const reject = await rejected;
        release();
        holdWrites = undefined;
        const outcomes = await Promise.all(all);
        assert.equal(reject.pdu, 'rejectPDU');
        if (reject.pdu === 'rejectPDU') {
            assert.equal(reject.originalInvokeID, 510);
            assert.deepEqual(reject.rejectReason, { pdu: 'confirmed-requestPDU', code: 6 });
        }
        assert.deepEqual(outcomes.filter((o) => o === 'confirmed-ResponsePDU').length, 10);
        assert.deepEqual(outcomes[10], 'resource-constraint');
        assert.equal(server.read('HP1LD/FSPT1.SptVal.stepSize.f[CF]'), 0.25);
    });
});

describe('roster access and presence', () => {
    test('default access: a contact associates, a stranger does not; the contact going offline aborts it', {
        timeout: 30_000,
    }, async () => {
        const d = prosody.domain;
        const hp2 = await online(prosody, 'hp2', { resource: 'IEC', subscriptions: 'all' });
        const friend = await online(prosody, 'friend', { resource: 'f', subscriptions: 'all' });
        const server2 = new Iec61850Server(hp2, { model });
        const events: string[] = [];
        server2.on('association', (e) => events.push(`${e.type} ${e.peer}`));
        try {
            await friend.subscribe(`hp2@${d}`);
            await waitFor(
                () => hp2.roster.some((r) => r.jid === `friend@${d}` && r.subscription === 'both'),
                10_000,
                () => `mutual subscription (${JSON.stringify(hp2.roster)})`,
            );
            const c = new Iec61850Client(friend, { server: `hp2@${d}` });
            c.start();
            await associated(c);
            assert.deepEqual(await c.getServerDirectory(), ['HP1LD']);
            const s = new Iec61850Client(stranger, { server: `hp2@${d}`, reassociate: false });
            const refused = new Promise<string>((resolve) =>
                s.on('state', (st, info) => st === 'waiting' && resolve((info.error as Iec61850ClientError).code)),
            );
            s.start();
            assert.equal(await refused, 'ACCESS_DENIED');
            await s.close();
            await friend.close();
            await waitFor(
                () => events.includes(`abort ${friend.jid ?? `friend@${d}/f`}`),
                10_000,
                () => `abort on unavailable presence (${events.join(', ')})`,
            );
            assert.equal(server2.associations.length, 0);
        } finally {
            server2.close();
            await friend.close();
            await hp2.close();
        }
    });
});

describe('data sets', () => {
    test('GetDataSetDirectory and GetDataSetValues of a configured data set', async () => {
        const members = await client.getDataSetDirectory('HP1LD/LLN0.DS_HP');
        const ds = model.server.logicalDevices[0]?.logicalNodes[0]?.dataSets?.find((d) => d.name === 'DS_HP');
        assert.equal(members.length, ds?.members.length);
        assert.ok(members.includes('HP1LD/MMXN1.Watt[MX]'), members.join(' '));
        const values = await client.getDataSetValues('HP1LD/LLN0.DS_HP');
        assert.equal(values.length, members.length);
        const watt = values.find((v) => v.reference === 'HP1LD/MMXN1.Watt[MX]');
        assert.ok(watt && 'value' in watt && watt.value === 1234.5);
    });

    test('create, read, write, list and delete a persistent data set; duplicates and unknown members refused', async () => {
        const events: string[] = [];
        server.on('dataset', (e) => events.push(`${e.type} ${e.reference}`));
        await client.createDataSet('HP1LD/LLN0.Limits', [
            'HP1LD/FSPT1.SptVal.maxVal.f[CF]',
            'HP1LD/FSPT1.SptVal.minVal.f[CF]',
        ]);
        assert.deepEqual(await client.getDataSetDirectory('HP1LD/LLN0.Limits'), [
            'HP1LD/FSPT1.SptVal.maxVal.f[CF]',
            'HP1LD/FSPT1.SptVal.minVal.f[CF]',
        ]);
        assert.ok((await client.getLogicalNodeDirectory('HP1LD/LLN0', 'DATA-SET')).includes('HP1LD/LLN0.Limits'));
        // Persistent: another association sees it too.
        const other = new Iec61850Client(viewer, { server: serverJid });
        other.start();
        await associated(other);
        assert.equal((await other.getDataSetDirectory('HP1LD/LLN0.Limits')).length, 2);
        await other.close();
        const results = await client.setDataSetValues('HP1LD/LLN0.Limits', [26, 6]);
        assert.deepEqual(results, [
            { reference: 'HP1LD/FSPT1.SptVal.maxVal.f[CF]' },
            { reference: 'HP1LD/FSPT1.SptVal.minVal.f[CF]' },
        ]);
        assert.equal(writes[writes.length - 1]?.dataSet, 'HP1LD/LLN0.Limits');
        const values = await client.getDataSetValues('HP1LD/LLN0.Limits');
        assert.deepEqual(
            values.map((v) => ('value' in v ? v.value : v.error.code)),
            [26, 6],
        );
        await rejects(client.createDataSet('HP1LD/LLN0.Limits', ['HP1LD/MMXN1.Watt[MX]']), 'OBJECT_EXISTS');
        await rejects(client.createDataSet('HP1LD/LLN0.Bad', ['HP1LD/MMXN1.Nope[MX]']), 'NOT_FOUND');
        await rejects(client.createDataSet('HP1LD/NOPE1.Bad', ['HP1LD/MMXN1.Watt[MX]']), 'NOT_FOUND');
        await client.deleteDataSet('HP1LD/LLN0.Limits');
        await rejects(client.getDataSetDirectory('HP1LD/LLN0.Limits'), 'NOT_FOUND');
        await rejects(client.deleteDataSet('HP1LD/LLN0.Limits'), 'NOT_FOUND');
        await rejects(client.deleteDataSet('HP1LD/LLN0.DS_HP'), 'ACCESS_DENIED');
        assert.deepEqual(events, ['created HP1LD/LLN0.Limits', 'deleted HP1LD/LLN0.Limits']);
    });

    test('a non-persistent data set belongs to its association and ends with it', async () => {
        await client.createDataSet('@mine', ['HP1LD/MMXN1.Watt[MX]', 'HP1LD/STMP1.Tmp.mag.f[MX]']);
        const v = await client.getDataSetValues('@mine');
        assert.deepEqual(
            v.map((x) => ('value' in x ? x.value : 'err')),
            [1234.5, 45.5],
        );
        const other = new Iec61850Client(viewer, { server: serverJid });
        other.start();
        await associated(other);
        await rejects(other.getDataSetValues('@mine'), 'NOT_FOUND');
        await other.close();
        assert.deepEqual(server.associations.find((a) => a.peer === agg.jid)?.dataSets, ['@mine']);
    });
});

describe('resilience', () => {
    test('after a Prosody restart the client re-associates by itself and serves again', {
        timeout: 60_000,
    }, async () => {
        const aborts: string[] = [];
        server.on('association', (e) => e.type === 'abort' && aborts.push(e.peer));
        const states: string[] = [];
        client.on('state', (s) => states.push(s));
        await prosody.stop();
        await prosody.start();
        await Promise.all([
            nextState(hp, 'online', 30_000).catch(() => undefined),
            nextState(agg, 'online', 30_000).catch(() => undefined),
        ]);
        await waitFor(
            () => states.includes('associated'),
            20_000,
            () => `re-association (${states.join(' ')})`,
        );
        assert.ok(states.includes('associating'), states.join(' '));
        assert.deepEqual(await client.getServerDirectory(), ['HP1LD']);
        assert.equal((await client.getDataValues('HP1LD/MMXN1.Watt.mag.f[MX]')).value, 1234.5);
        assert.ok(aborts.includes(agg.jid as string), 'the old association was aborted on the server');
        await rejects(client.getDataSetValues('@mine'), 'NOT_FOUND');
    });
});
