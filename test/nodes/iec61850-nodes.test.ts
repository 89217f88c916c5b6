/**
 * The IEC 61850-8-2 nodes (iec61850-server, iec61850-client) in a Node-RED runtime
 * (node-red-node-test-helper), talking to each other through a real Prosody: values the flow
 * feeds read back with quality and time, bulk updates, writes the flow accepts, refuses or lets
 * time out, writes from a client without write access, the editor's admin routes, and bad input
 * and bad configuration turned into errors with codes for Catch nodes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import { accountConfig, collect, type Msg, node } from '../support/node-flows';
import { type Prosody, startProsody } from '../support/prosody';
import { waitFor } from '../support/xmpp';

const accountNode = require('../../dist/nodes/xmpp-account.js');
const serverNode = require('../../dist/nodes/iec61850-server.js');
const clientNode = require('../../dist/nodes/iec61850-client.js');
const ALL = [accountNode, serverNode, clientNode];

helper.init(process.env.NODE_RED_PATH || require.resolve('node-red'));

const PASSWORDS = { hp1: 'hp1-secret-1', aggregator: 'agg-secret-2', stranger: 'str-secret-3' } as const;
type User = keyof typeof PASSWORDS;
const RESOURCES: Record<User, string> = { hp1: 'IEC', aggregator: 'nr', stranger: 'nr' };
const WATT = 'HP1LD/MMXN1.Watt[MX]';
const MAXVAL = 'HP1LD/FSPT1.SptVal.maxVal.f[CF]';

let server: Prosody;

before(async () => {
    server = await startProsody({ accounts: { ...PASSWORDS } });
    await helper.startServer();
});

after(async () => {
    await helper.stopServer();
    await server.stop();
    server.cleanup();
});

afterEach(async () => {
    await helper.unload();
});

function account(user: User) {
    return accountConfig(server, `acc-${user}`, user, { resource: RESOURCES[user] });
}

const credentials = Object.fromEntries(Object.entries(PASSWORDS).map(([u, p]) => [`acc-${u}`, { password: p }]));

const iedServer = (extra: Msg = {}) => ({
    id: 'server',
    type: 'iec61850-server',
    account: 'acc-hp1',
    modelSource: 'heat-pump',
    modelFile: '',
    modelText: '',
    iedName: '',
    associate: 'aggregator@localhost, stranger@localhost',
    read: '*',
    write: 'aggregator@localhost',
    operate: '',
    confirm: 'auto',
    timeout: 5,
    maxAssociations: 10,
    wires: [['writes'], ['events']],
    ...extra,
});

const iedClient = (extra: Msg = {}) => ({
    id: 'client',
    type: 'iec61850-client',
    account: 'acc-aggregator',
    server: 'hp1@localhost',
    operation: 'read',
    reference: '',
    timeout: 10,
    wires: [['results']],
    ...extra,
});

interface Loaded {
    caught: Msg[];
    /** Every status each node set since it started (the helper's RED._ gives keys, not text). */
    status: Map<string, Array<{ fill?: string; text?: string }>>;
    /** Every warning each node logged since it started. */
    warnings: Map<string, string[]>;
    /** The messages a helper node received since the flow started. */
    out(id: string): Msg[];
}

/** Loads the nodes plus accounts, helpers and a Catch node; waits until the accounts are online. */
async function load(
    nodes: Msg[],
    users: User[] = ['hp1', 'aggregator', 'stranger'],
    online: User[] = users.filter((u) => nodes.some((n) => n.account === `acc-${u}`)),
): Promise<Loaded> {
    const used = online;
    const flow: Msg[] = [
        { id: 'f1', type: 'tab', label: 'iec61850' },
        ...users.map(account),
        ...nodes.map((n) => ({ z: 'f1', ...n })),
        { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
    ];
    const wired = new Set(nodes.flatMap((n) => ((n.wires as string[][] | undefined) ?? []).flat()));
    for (const id of wired) if (!nodes.some((n) => n.id === id)) flow.push({ id, z: 'f1', type: 'helper' });
    await helper.load(ALL, flow as Parameters<typeof helper.load>[1], credentials);
    // Listen before any account is online: nothing of the association can have happened yet.
    const status = new Map<string, Array<{ fill?: string; text?: string }>>();
    const warnings = new Map<string, string[]>();
    for (const n of nodes) {
        const id = String(n.id);
        const seen: Array<{ fill?: string; text?: string }> = [];
        const warned: string[] = [];
        status.set(id, seen);
        warnings.set(id, warned);
        node(id).on('call:status', (call) => seen.push(call.args[0] as { fill?: string; text?: string }));
        node(id).on('call:warn', (call) => warned.push(String(call.args[0])));
    }
    const received = new Map<string, Msg[]>();
    for (const n of flow) if (n.type === 'helper') received.set(String(n.id), collect(String(n.id)));
    const caught = received.get('caught') ?? [];
    await waitFor(
        () =>
            used.every(
                (u) =>
                    (
                        helper.getNode(`acc-${u}`) as unknown as { current?: () => { state: string } | undefined }
                    ).current?.()?.state === 'online',
            ),
        15_000,
        () => `accounts online (${used.join(', ')})`,
    );
    const out = (id: string): Msg[] => {
        const got = received.get(id);
        if (!got) throw new Error(`${id} is not a helper node of the flow`);
        return got;
    };
    return { caught, status, warnings, out };
}

/** Waits until a client node shows the association (its status). */
async function associated(loaded: Loaded, id = 'client'): Promise<void> {
    const seen = loaded.status.get(id) ?? [];
    await waitFor(
        () => seen.at(-1)?.text === 'iec61850-client.status.associated',
        15_000,
        () => `${id} associated (status ${JSON.stringify(seen.at(-1))})`,
    );
}

/** Sends msg into a node and waits for one message on an output helper or one Catch. */
async function ask(into: string, msg: Msg, out: Msg[], caught: Msg[], ms = 15_000): Promise<Msg> {
    const before = { out: out.length, caught: caught.length };
    node(into).receive(msg);
    await waitFor(
        () => out.length > before.out || caught.length > before.caught,
        ms,
        () => `an answer from ${into}`,
    );
    if (caught.length > before.caught) {
        const e = caught[before.caught]?.error as { message?: string; code?: string } | undefined;
        throw Object.assign(new Error(e?.message ?? 'caught'), { code: e?.code, caught: caught[before.caught] });
    }
    return out[before.out] as Msg;
}

/** Like ask, but expects a Catch; returns the caught error. */
async function refused(into: string, msg: Msg, out: Msg[], caught: Msg[]): Promise<{ code?: string; message: string }> {
    try {
        const m = await ask(into, msg, out, caught);
        assert.fail(`expected an error, got ${JSON.stringify(m.payload)}`);
    } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        return err as { code?: string; message: string };
    }
}

describe('iec61850-server + iec61850-client', () => {
    test('values the flow feeds, one by one and in bulk, are read back with quality and time', {
        timeout: 60_000,
    }, async () => {
        const loaded = await load([iedServer(), iedClient()]);
        const { caught } = loaded;
        const results = loaded.out('results');
        const events = loaded.out('events');
        const serverStatus = loaded.status.get('server') ?? [];
        node('server').receive({ topic: 'HP1LD/MMXN1.Watt', payload: 2350 });
        await associated(loaded);

        const watt = await ask('client', { topic: WATT }, results, caught);
        const f = await ask('client', { topic: 'HP1LD/MMXN1.Watt.mag.f[MX]' }, results, caught);
        assert.equal(f.payload, 2350, 'the attribute');
        assert.equal(watt.payload, 2350, `the data object's main attribute: ${JSON.stringify(watt.attributes)}`);
        assert.equal(watt.reference, WATT);
        assert.equal(watt.topic, WATT);
        assert.equal(watt.fc, 'MX');
        assert.equal(watt.quality, 'good');
        assert.ok(Date.now() - Date.parse(String(watt.timestamp)) < 60_000, `timestamp ${watt.timestamp}`);
        assert.equal(typeof watt.attributes, 'object');

        // Bulk: a value object with quality and time, a plain boolean for a status.
        const when = '2026-11-22T10:00:00.000Z';
        node('server').receive({
            payload: {
                'HP1LD/STMP1.Tmp': { value: 45.5, quality: 'questionable', timestamp: when },
                'HP1LD/DHTP1.RunSt': true,
            },
        });
        const tmp = await ask('client', { topic: 'HP1LD/STMP1.Tmp[MX]' }, results, caught);
        assert.equal(tmp.payload, 45.5);
        assert.equal(tmp.quality, 'questionable');
        assert.equal(tmp.timestamp, when);
        const run = await ask('client', { topic: 'HP1LD/DHTP1.RunSt.stVal[ST]' }, results, caught);
        assert.equal(run.payload, true);

        // Other read operations on the same association.
        const dir = await ask('client', { operation: 'directory' }, results, caught);
        assert.deepEqual(dir.payload, ['HP1LD']);
        const all = await ask('client', { operation: 'readAll', topic: 'HP1LD/MMXN1[MX]' }, results, caught);
        assert.equal(typeof all.payload, 'object');
        assert.ok(Array.isArray(all.values) && all.values.length > 0, JSON.stringify(all));
        const ds = await ask('client', { operation: 'datasetGet', topic: 'HP1LD/LLN0.DS_HP' }, results, caught);
        const members = ds.payload as Record<string, unknown>;
        assert.ok(
            Object.entries(members).some(([k, v]) => k.startsWith('HP1LD/MMXN1.Watt') && v === 2350),
            JSON.stringify(members),
        );

        // The server reported the association and counts it.
        assert.ok(
            events.some((e) => e.payload === 'open' && e.topic === 'aggregator@localhost/nr'),
            JSON.stringify(events),
        );
        assert.equal(serverStatus.at(-1)?.text, 'iec61850-server.status.associations');
        assert.equal(serverStatus.at(-1)?.fill, 'green');
        assert.equal(caught.length, 0);
    });

    test('writes confirmed by the flow: accepted, refused with a code, refused, timed out', {
        timeout: 60_000,
    }, async () => {
        const loaded = await load([iedServer({ confirm: 'flow', timeout: 1 }), iedClient()]);
        const { caught } = loaded;
        const results = loaded.out('results');
        const writes = loaded.out('writes');
        await associated(loaded);

        /** Sends a write from the client; once the server asks the flow, answers with `accept` (or not at all). */
        const write = async (value: number, accept: unknown | 'no answer') => {
            const before = writes.length;
            const pending = ask('client', { operation: 'write', topic: MAXVAL, payload: value }, results, caught);
            await waitFor(
                () => writes.length > before,
                10_000,
                () => `the write of ${value} reaching the flow`,
            );
            const w = writes[before] as Msg & { write: { id: string }; payload: Msg[] };
            assert.equal(w.topic, 'write');
            assert.equal(w.from, 'aggregator@localhost/nr');
            assert.equal(w.payload[0]?.reference, MAXVAL);
            assert.equal(w.payload[0]?.value, value);
            assert.equal(typeof w.write.id, 'string');
            if (accept !== 'no answer') node('server').receive({ ...w, write: { ...w.write, accept } });
            return { pending, request: w };
        };

        const ok = await write(28, true);
        await ok.pending;
        const back = await ask('client', { topic: MAXVAL }, results, caught);
        assert.equal(back.payload, 28);

        const invalid = await write(35, 'object-value-invalid');
        await assert.rejects(invalid.pending, (e: { code?: string }) => e.code === 'VALUE_INVALID');
        const denied = await write(29, false);
        await assert.rejects(denied.pending, (e: { code?: string }) => e.code === 'ACCESS_DENIED');
        // An answer the server cannot use is an error for the flow, and refuses the write.
        const before = caught.length;
        const garbled = await write(29.5, 'maybe');
        garbled.pending.catch(() => undefined);
        await waitFor(() => caught.length >= before + 2, 5000, 'errors from the server and the client');
        const bySource = Object.fromEntries(
            caught.slice(before).map((c) => {
                const e = c.error as { code?: string; message?: string; source?: { id?: string } };
                return [e.source?.id, e];
            }),
        );
        assert.equal(bySource.server?.code, 'BAD_INPUT');
        assert.match(String(bySource.server?.message), /msg.write.accept must be/);
        assert.equal(bySource.client?.code, 'ACCESS_DENIED');
        caught.length = before;
        const late = await write(27, 'no answer');
        await assert.rejects(late.pending, (e: { code?: string }) => e.code === 'TEMPORARILY_UNAVAILABLE');
        // An answer after the time limit is an error of its own (and changes nothing).
        const stale = await refused(
            'server',
            { ...late.request, write: { ...late.request.write, accept: true } },
            [],
            caught,
        );
        assert.equal(stale.code, 'TIMEOUT');
        const still = await ask('client', { topic: MAXVAL }, results, caught);
        assert.equal(still.payload, 28);
    });

    test('automatic writes are applied and reported; a client without write access is refused', {
        timeout: 60_000,
    }, async () => {
        const loaded = await load([
            iedServer(),
            iedClient(),
            iedClient({ id: 'stranger', account: 'acc-stranger', wires: [['strangerResults']] }),
        ]);
        const { caught } = loaded;
        const results = loaded.out('results');
        const strangerResults = loaded.out('strangerResults');
        const writes = loaded.out('writes');
        await associated(loaded);
        await associated(loaded, 'stranger');

        await ask('client', { operation: 'write', topic: MAXVAL, payload: 26.5 }, results, caught);
        await waitFor(() => writes.length > 0, 5000, 'the write reported');
        assert.equal(writes[0]?.topic, 'written');
        assert.equal(((writes[0]?.payload ?? []) as Msg[])[0]?.value, 26.5);

        const e = await refused(
            'stranger',
            { operation: 'write', topic: MAXVAL, payload: 20 },
            strangerResults,
            caught,
        );
        assert.equal(e.code, 'ACCESS_DENIED');
        // The stranger may still read (read: *), and sees the aggregator's value, not its own.
        const m = await ask('stranger', { topic: MAXVAL }, strangerResults, caught);
        assert.equal(m.payload, 26.5);
        assert.equal(writes.length, 1);
    });
});

describe('data sets and definitions', () => {
    test('create, list, read, write and delete a data set; the server reports them on output 2', {
        timeout: 60_000,
    }, async () => {
        const loaded = await load([iedServer(), iedClient()]);
        const { caught } = loaded;
        const results = loaded.out('results');
        const events = loaded.out('events');
        await associated(loaded);
        node('server').receive({ payload: { 'HP1LD/MMXN1.Watt': 1200, 'HP1LD/STMP1.Tmp': 41 } });
        const DS = 'HP1LD/LLN0.DS_AGG';
        const members = [WATT, 'HP1LD/STMP1.Tmp[MX]'];

        await ask('client', { operation: 'datasetCreate', topic: DS, payload: members }, results, caught);
        await waitFor(
            () => events.some((e) => e.payload === 'created' && e.topic === DS),
            5000,
            () => `the created event (${JSON.stringify(events.map((e) => e.payload))})`,
        );
        const dir = await ask('client', { operation: 'datasetDirectory', topic: DS }, results, caught);
        assert.deepEqual(dir.payload, members);
        const lnDir = await ask(
            'client',
            { operation: 'directory', topic: 'HP1LD/LLN0', acsiClass: 'DATA-SET' },
            results,
            caught,
        );
        assert.ok(
            (lnDir.payload as string[]).some((n) => n.endsWith('DS_AGG')),
            JSON.stringify(lnDir.payload),
        );
        const values = await ask('client', { operation: 'datasetGet', topic: DS }, results, caught);
        assert.deepEqual(Object.values(values.payload as Msg), [1200, 41]);

        // Measurements (MX) are not writable: SetDataSetValues refuses each member, and the node reports it.
        const MXF = 'HP1LD/LLN0.DS_MXF';
        await ask(
            'client',
            {
                operation: 'datasetCreate',
                topic: MXF,
                payload: ['HP1LD/MMXN1.Watt.mag.f[MX]', 'HP1LD/STMP1.Tmp.mag.f[MX]'],
            },
            results,
            caught,
        );
        const e = await refused('client', { operation: 'datasetSet', topic: MXF, payload: [1, 2] }, results, caught);
        assert.equal(e.code, 'ACCESS_DENIED', e.message);
        assert.match(e.message, /2 of 2 members were not written/);
        // Configuration (CF) is: a data set of the set-point's limits, written at once.
        const CFG = 'HP1LD/LLN0.DS_CFG';
        const limits = [MAXVAL, 'HP1LD/FSPT1.SptVal.minVal.f[CF]'];
        await ask('client', { operation: 'datasetCreate', topic: CFG, payload: limits }, results, caught);
        const set = await ask('client', { operation: 'datasetSet', topic: CFG, payload: [26, 10] }, results, caught);
        assert.deepEqual(
            (set.results as Msg[]).map((r) => r.error),
            [undefined, undefined],
        );
        const max = await ask('client', { topic: MAXVAL }, results, caught);
        assert.equal(max.payload, 26);

        const def = await ask('client', { operation: 'definition', topic: WATT }, results, caught);
        assert.equal((def.payload as { kind?: string }).kind, 'structure');

        await ask('client', { operation: 'datasetDelete', topic: DS }, results, caught);
        await waitFor(
            () => events.some((ev) => ev.payload === 'deleted' && ev.topic === DS),
            5000,
            'the deleted event',
        );
        const gone = await refused('client', { operation: 'datasetDirectory', topic: DS }, results, caught);
        assert.equal(gone.code, 'NOT_FOUND');
    });
});

describe('errors', () => {
    test('bad input and bad configuration give errors with codes, and nothing breaks', {
        timeout: 60_000,
    }, async () => {
        const loaded = await load(
            [
                iedServer(),
                iedClient(),
                iedServer({ id: 'badScl', account: 'acc-stranger', modelSource: 'text', modelText: '<SCL>broken' }),
                iedServer({
                    id: 'noFile',
                    account: 'acc-stranger',
                    modelSource: 'file',
                    modelFile: '/nonexistent/x.icd',
                }),
                iedServer({ id: 'badPattern', account: 'acc-stranger', write: 'user@@example.com' }),
                iedServer({ id: 'badPattern2', account: 'acc-stranger', associate: 'roster, bad!pattern' }),
                iedServer({ id: 'badConfirm', account: 'acc-stranger', confirm: 'maybe' }),
                iedServer({ id: 'noAccount', account: 'acc-nobody' }),
                iedServer({ id: 'second', wires: [[], []] }),
                iedClient({ id: 'badJid', server: 'not a jid', wires: [[]] }),
                iedClient({ id: 'badOp', operation: 'explode', wires: [[]] }),
            ],
            undefined,
            ['hp1', 'aggregator'],
        );
        const { caught } = loaded;
        const results = loaded.out('results');
        await associated(loaded);
        const cases: Array<[string, Msg, string, RegExp]> = [
            ['server', { topic: 'HP1LD/NOPE1.Watt', payload: 1 }, 'NOT_FOUND', /NOPE1/],
            ['server', { topic: 'HP1LD/MMXN1.Watt', payload: 'lots' }, 'BAD_INPUT', /./],
            ['server', { payload: 5 }, 'BAD_INPUT', /msg.topic/],
            ['server', { payload: { 'HP1LD/MMXN1.Watt': 1, 'HP1LD/NOPE1.X': 2 } }, 'NOT_FOUND', /1 of 2.*NOPE1/],
            ['server', { write: { id: 'nope', accept: true } }, 'TIMEOUT', /already answered/],
            ['server', { topic: 'write', write: { accept: true } }, 'BAD_INPUT', /msg.write.id is missing/],
            ['client', { operation: 'explode', topic: WATT }, 'BAD_INPUT', /explode/],
            ['client', { operation: 'read' }, 'BAD_INPUT', /needs a reference/],
            ['client', { topic: 'HP1LD/NOPE1.Watt[MX]' }, 'NOT_FOUND', /./],
            ['client', { operation: 'datasetSet', topic: 'HP1LD/LLN0.DS_HP', payload: 3 }, 'BAD_INPUT', /array/],
            [
                'client',
                { operation: 'write', topic: 'HP1LD/MMXN1.Watt.mag.f[MX]', payload: 1 },
                'ACCESS_DENIED',
                /object-access-denied/,
            ],
            ['client', { operation: 'write', topic: MAXVAL, payload: 'hot' }, 'TYPE_CONFLICT', /needs a number/],
            ['client', { operation: 'write', topic: MAXVAL, payload: 1e300 }, 'VALUE_INVALID', /FLOAT32/],
            [
                'client',
                { operation: 'datasetCreate', topic: '@big', payload: Array.from({ length: 2000 }, () => WATT) },
                'PDU_SIZE',
                /octets/,
            ],
            ['badScl', { topic: 'x', payload: 1 }, 'CONFIG', /not a usable SCL model/],
            ['noFile', { topic: 'x', payload: 1 }, 'CONFIG', /Cannot read the SCL file \/nonexistent/],
            ['badPattern', { topic: 'x', payload: 1 }, 'CONFIG', /Write: "user@@example.com"/],
            ['badPattern2', { topic: 'x', payload: 1 }, 'CONFIG', /Associate: "bad!pattern"/],
            ['badConfirm', { topic: 'x', payload: 1 }, 'CONFIG', /maybe/],
            ['noAccount', { topic: 'x', payload: 1 }, 'CONFIG', /No XMPP account/],
            ['second', { topic: 'HP1LD/MMXN1.Watt', payload: 1 }, 'CONFIG', /already serves/],
            ['badJid', { topic: WATT }, 'CONFIG', /not a JID/],
            ['badOp', { topic: WATT }, 'CONFIG', /explode/],
        ];
        for (const [into, msg, code, text] of cases) {
            const before = caught.length;
            node(into).receive(msg);
            await waitFor(
                () => caught.length > before,
                15_000,
                () => `an error from ${into} for ${JSON.stringify(msg)}`,
            );
            const e = caught.at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, code, `${into} ${JSON.stringify(msg)}: ${e.message}`);
            assert.match(String(e.message), text, `${into} ${JSON.stringify(msg)}`);
        }
        // After all that, the server still serves, with the value of the bulk update that was valid.
        const m = await ask('client', { topic: 'HP1LD/MMXN1.Watt.mag.f[MX]' }, results, caught);
        assert.equal(m.payload, 1);
    });

    test('a server on an account that is not bound to the resource IEC says so', { timeout: 30_000 }, async () => {
        const loaded = await load([iedServer({ account: 'acc-stranger' })], ['stranger']);
        const seen = loaded.status.get('server') ?? [];
        await waitFor(
            () => seen.at(-1)?.text === 'iec61850-server.status.resource',
            5000,
            () => `the resource status (${JSON.stringify(seen)})`,
        );
        assert.equal(seen.at(-1)?.fill, 'red');
        const warned = loaded.warnings.get('server') ?? [];
        assert.ok(
            warned.some((w) => /stranger@localhost\/nr.*resource to IEC/.test(w)),
            `no warning about the resource: ${JSON.stringify(warned)}`,
        );
    });
});

describe('paging and restart', () => {
    test('an LD directory larger than one PDU comes whole; after a Prosody restart the nodes re-associate', {
        timeout: 90_000,
    }, async () => {
        const loaded = await load([iedServer(), iedClient()]);
        const { caught } = loaded;
        const results = loaded.out('results');
        const events = loaded.out('events');
        await associated(loaded);
        // About 70 KB of names in HP1LD: more than the 64 KB PDU, so it takes several GetNameList pages.
        const lns = await ask('client', { operation: 'directory', topic: 'HP1LD' }, results, caught);
        assert.equal((lns.payload as string[]).length, 28, JSON.stringify(lns.payload));
        assert.ok((lns.payload as string[]).includes('FSCC3'));

        const seen = loaded.status.get('client') ?? [];
        const mark = seen.length;
        await server.stop();
        await server.start();
        await waitFor(
            () =>
                seen.slice(mark).some((s) => s.text !== 'iec61850-client.status.associated') &&
                seen.at(-1)?.text === 'iec61850-client.status.associated',
            45_000,
            () => `re-associated (${JSON.stringify(seen.slice(mark))})`,
        );
        node('server').receive({ topic: 'HP1LD/MMXN1.Watt', payload: 777 });
        const watt = await ask('client', { topic: WATT }, results, caught);
        assert.equal(watt.payload, 777);
        assert.ok(
            events.some((e) => e.payload === 'abort'),
            `the server reported the lost association: ${JSON.stringify(events.map((e) => e.payload))}`,
        );
    });
});

describe('editor routes', () => {
    test("browse through the deployed client; the server's references; errors", { timeout: 60_000 }, async () => {
        const loaded = await load([
            iedServer(),
            iedClient(),
            iedClient({ id: 'lonely', server: 'nobody@localhost', timeout: 2, wires: [[]] }),
        ]);
        await associated(loaded);
        const tree = await helper.request().get('/derlink/iec61850-client/client/browse').expect(200);
        const body = tree.body as {
            logicalDevices: Array<{ name: string; logicalNodes: Array<{ name: string; dataSets: unknown[] }> }>;
            references: string[];
        };
        assert.deepEqual(
            body.logicalDevices.map((ld) => ld.name),
            ['HP1LD'],
        );
        const lns = body.logicalDevices[0]?.logicalNodes.map((ln) => ln.name) ?? [];
        for (const ln of ['LLN0', 'MMXN1', 'STMP1', 'FSPT1']) assert.ok(lns.includes(ln), `${ln} in ${lns.join(',')}`);
        assert.ok(body.references.includes(WATT), `${WATT} among ${body.references.length} references`);
        assert.ok(body.references.includes(MAXVAL), `${MAXVAL} among the references`);

        const refs = await helper.request().get('/derlink/iec61850-server/server/references').expect(200);
        assert.ok((refs.body.references as string[]).includes(WATT));

        const icd = readFileSync(path.join(__dirname, '..', '..', 'models', 'sdvp-heat-pump.icd'), 'utf8');
        const checked = await helper.request().post('/derlink/iec61850-server/check').send({ text: icd }).expect(200);
        assert.equal(checked.body.iedName, 'HP1');
        assert.deepEqual(
            (checked.body.logicalDevices as Array<{ name: string }>).map((ld) => ld.name),
            ['HP1LD'],
        );
        const broken = await helper
            .request()
            .post('/derlink/iec61850-server/check')
            .send({ text: icd.replace('<LN0 ', '<LN0 lnClass="XXXX" ') })
            .expect(400);
        assert.equal(broken.body.code, 'CONFIG');
        assert.match(String(broken.body.error), /line \d+/);
        await helper.request().post('/derlink/iec61850-server/check').send({}).expect(400);

        await helper.request().get('/derlink/iec61850-client/nope/browse').expect(404);
        await helper.request().get('/derlink/iec61850-server/nope/references').expect(404);
        const lonely = await helper.request().get('/derlink/iec61850-client/lonely/browse').expect(502);
        assert.equal(typeof lonely.body.code, 'string');
        assert.match(String(lonely.body.error), /./);
    });
});
