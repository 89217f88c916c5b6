/**
 * Interoperability with a real, independent XEP-0323/0325 implementation: slixmpp 1.8.3
 * (Debian python3-slixmpp), through Prosody. Both directions: DERlink as client of a slixmpp
 * device, and a slixmpp client of DERlink's device engines. slixmpp speaks G1 with the
 * 2013-era answer shapes (<rejected>, setResponse responseCode); its known bugs are noted where
 * a test tolerates them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Session } from '../../src/protocols/xmpp';
import { ControlClient, ControlError } from '../../src/protocols/xmpp-iot/control-client';
import { ControlServer } from '../../src/protocols/xmpp-iot/control-server';
import type { Field, NodeRef, ParameterDescription, ParameterValue } from '../../src/protocols/xmpp-iot/model';
import { ReadoutClient, type ReadoutFailure } from '../../src/protocols/xmpp-iot/readout-client';
import { SensorServer } from '../../src/protocols/xmpp-iot/sensor-server';
import { type Prosody, startProsody } from '../support/prosody';
import { type SlixmppPeer, startSlixmpp } from '../support/slixmpp';
import { online } from '../support/xmpp';

let server: Prosody;

before(async () => {
    server = await startProsody({ accounts: { slixdevice: 'sd', slixclient: 'sc', ours: 'o', ourdevice: 'od' } });
});

after(async () => {
    await server?.stop();
    server?.cleanup();
});

describe('DERlink client -> slixmpp device', () => {
    let device: SlixmppPeer;
    let session: Session;

    before(async () => {
        device = await startSlixmpp(server, 'device', 'slixdevice');
        session = await online(server, 'ours', { resource: 'client' });
    });

    after(async () => {
        await session?.close();
        await device?.stop();
    });

    test('generation auto-detected (G1) and a momentary readout returns every field with units and flags', {
        timeout: 30_000,
    }, async () => {
        const readout = new ReadoutClient(session);
        const r = await readout.read(device.jid, { categories: ['momentary'], all: false, nodes: [], fields: [] });
        readout.dispose();
        assert.equal(r.generation, 'G1');
        const byName = new Map(r.fields.map((f) => [f.name, f]));
        assert.deepEqual([...byName.keys()].sort(), ['Energy', 'Output', 'Power', 'Setpoint', 'Temperature']);
        assert.equal(byName.get('Temperature')?.value, 20.9);
        assert.equal(byName.get('Temperature')?.unit, '°C');
        assert.equal(byName.get('Energy')?.text, '1234.500');
        assert.equal(byName.get('Energy')?.decimals, 3);
        assert.equal(byName.get('Output')?.type, 'boolean');
        assert.deepEqual(byName.get('Output')?.categories.sort(), ['momentary', 'status']);
        assert.ok(byName.get('Power')?.quality.includes('automaticReadout'));
        assert.equal(byName.get('Power')?.node?.nodeId, 'Device01');
        // slixmpp writes local time without a zone (datetime.now().isoformat()).
        assert.equal(byName.get('Power')?.timestamp.zoneless, true);
        assert.ok(Math.abs((byName.get('Power')?.timestamp.date.getTime() ?? 0) - Date.now()) < 60_000);
    });

    test('two requested fields: slixmpp returns only the last one (its bug); the result says which is missing', {
        timeout: 30_000,
    }, async () => {
        const readout = new ReadoutClient(session);
        const r = await readout.read(
            device.jid,
            { categories: ['momentary'], all: false, nodes: [], fields: ['Power', 'Temperature'] },
            { generation: 'G1' },
        );
        readout.dispose();
        // slixmpp 1.8.3 _handle_event_req builds process_fields from the last <field> only.
        assert.deepEqual(
            r.fields.map((f) => f.name),
            ['Temperature'],
        );
        assert.deepEqual(r.missing, ['Power']);
    });

    test('an unknown node is rejected the 2013 way (<rejected>, no RFC 6120 error) and reaches the caller as NOT_FOUND', {
        timeout: 30_000,
    }, async () => {
        const readout = new ReadoutClient(session);
        await assert.rejects(
            readout.read(
                device.jid,
                { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Nope' }], fields: [] },
                { generation: 'G1', timeoutMs: 10_000 },
            ),
            (err: ReadoutFailure) => {
                assert.equal(err.code, 'NOT_FOUND');
                assert.match(err.message, /Invalid nodeId Nope/);
                return true;
            },
        );
        readout.dispose();
    });

    test('an acknowledged set reaches the device, and the next readout shows the new value', {
        timeout: 30_000,
    }, async () => {
        const control = new ControlClient(session);
        await control.set(device.jid, { nodes: [], parameters: [{ name: 'Output', type: 'boolean', text: 'true' }] });
        await device.waitFor((l) => l.event === 'set' && l.name === 'Output' && l.value === 'true');
        const readout = new ReadoutClient(session);
        const r = await readout.read(
            device.jid,
            { categories: ['momentary'], all: false, nodes: [], fields: ['Output'] },
            { generation: 'G1' },
        );
        readout.dispose();
        assert.equal(r.fields[0]?.value, true);
    });

    test('a set of an unknown parameter: slixmpp answers setResponse NotFound without an RFC 6120 error; we report NOT_FOUND', {
        timeout: 30_000,
    }, async () => {
        const control = new ControlClient(session);
        await assert.rejects(
            control.set(
                device.jid,
                { nodes: [], parameters: [{ name: 'Nope', type: 'boolean', text: 'true' }] },
                { generation: 'G1' },
            ),
            (err: ControlError) => {
                assert.ok(err instanceof ControlError);
                assert.equal(err.code, 'NOT_FOUND');
                return true;
            },
        );
    });

    test('a set without acknowledgement (message) is applied by the device', { timeout: 30_000 }, async () => {
        const control = new ControlClient(session);
        await control.set(
            device.jid,
            { nodes: [], parameters: [{ name: 'Setpoint', type: 'double', text: '23.5' }] },
            { generation: 'G1', acknowledged: false },
        );
        await device.waitFor((l) => l.event === 'set' && l.name === 'Setpoint' && l.value === '23.5');
    });
});

describe('slixmpp client -> DERlink device', () => {
    let client: SlixmppPeer;
    let session: Session;
    let sensor: SensorServer;
    let control: ControlServer;
    const applied: ParameterValue[][] = [];
    const params: ParameterDescription[] = [
        { name: 'Output', type: 'boolean', value: 'false' },
        { name: 'Setpoint', type: 'double', min: 10, max: 30, value: '21' },
    ];

    before(async () => {
        session = await online(server, 'ourdevice', { resource: 'dev' });
        const at = { date: new Date(Date.UTC(2026, 10, 22, 10, 0, 0)), zoneless: false };
        const fields = (node: NodeRef | undefined): Field[] =>
            [
                {
                    node,
                    timestamp: at,
                    name: 'Temperature',
                    type: 'numeric',
                    value: 20.5,
                    text: '20.5',
                    decimals: 1,
                    unit: '°C',
                    categories: ['momentary'],
                    quality: ['automaticReadout'],
                },
                {
                    node,
                    timestamp: at,
                    name: 'Running',
                    type: 'boolean',
                    value: true,
                    text: 'true',
                    categories: ['momentary', 'status'],
                    quality: [],
                },
                {
                    node,
                    timestamp: at,
                    name: 'Model',
                    type: 'string',
                    value: 'HP-9',
                    text: 'HP-9',
                    categories: ['identity'],
                    quality: [],
                },
            ] as Field[];
        sensor = new SensorServer(session, {
            device: { nodes: () => [{ nodeId: 'Pump' }], read: async (ctx) => ({ fields: fields(ctx.node) }) },
        });
        control = new ControlServer(session, {
            actuator: {
                nodes: () => [],
                parameters: () => params,
                apply: async (ctx) => {
                    applied.push(ctx.parameters);
                    return undefined;
                },
            },
        });
        client = await startSlixmpp(server, 'client', 'slixclient');
    });

    after(async () => {
        sensor?.dispose();
        control?.dispose();
        await client?.stop();
        await session?.close();
    });

    test('a slixmpp readout gets accepted, then every field and done', { timeout: 30_000 }, async () => {
        const answer = await client.command({ cmd: 'readout', to: session.jid, flags: { all: 'true' } });
        assert.deepEqual(answer.results, ['accepted', 'fields', 'done']);
        const fields = answer.fields as Array<Record<string, unknown>>;
        const byName = new Map(fields.map((f) => [f.name, f]));
        assert.equal(byName.get('Temperature')?.value, '20.5');
        assert.equal(byName.get('Temperature')?.unit, '°C');
        assert.equal(byName.get('Temperature')?.nodeId, 'Pump');
        assert.equal(byName.get('Running')?.typename, 'boolean');
        assert.equal(byName.get('Model')?.typename, 'string');
        assert.equal(byName.get('Temperature')?.timestamp, '2026-11-22T10:00:00Z');
    });

    test('a slixmpp readout of an unknown node gets <rejected>, which slixmpp understands', {
        timeout: 30_000,
    }, async () => {
        const answer = await client.command({
            cmd: 'readout',
            to: session.jid,
            nodes: ['Nope'],
            flags: { momentary: 'true' },
        });
        assert.deepEqual(answer.results, ['rejected']);
        assert.match(String(answer.error), /Invalid nodeId Nope/);
    });

    test('a slixmpp set is applied and confirmed with responseCode OK', { timeout: 30_000 }, async () => {
        applied.length = 0;
        const answer = await client.command({ cmd: 'set', to: session.jid, fields: [['Setpoint', 'double', '24.5']] });
        assert.equal(answer.result, 'OK');
        assert.deepEqual(
            applied[0]?.map((p) => `${p.name}=${p.text}`),
            ['Setpoint=24.5'],
        );
    });

    test('a slixmpp set out of range is refused with a 2013 responseCode slixmpp reads', {
        timeout: 30_000,
    }, async () => {
        const answer = await client.command({ cmd: 'set', to: session.jid, fields: [['Setpoint', 'double', '99']] });
        assert.notEqual(answer.result, 'OK');
        assert.ok(['OtherError', 'FormError', 'NotFound'].includes(String(answer.result)), String(answer.result));
    });

    test('a slixmpp set sent as a message (it omits the message type) is applied', { timeout: 30_000 }, async () => {
        applied.length = 0;
        await client.command({ cmd: 'set', to: session.jid, message: true, fields: [['Output', 'boolean', 'true']] });
        const deadline = Date.now() + 5000;
        while (applied.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(
            applied[0]?.map((p) => `${p.name}=${p.text}`),
            ['Output=true'],
        );
    });
});
