/**
 * The xmpp-account and xmpp-presence nodes in a Node-RED runtime (node-red-node-test-helper),
 * against a real Prosody: status fan-out, operations, errors with codes, credentials.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import { type AnyNode, accountConfig, node } from '../support/node-flows';
import { type Prosody, startProsody } from '../support/prosody';
import { waitFor } from '../support/xmpp';

const accountNode = require('../../dist/nodes/xmpp-account.js');
const presenceNode = require('../../dist/nodes/xmpp-presence.js');

// NODE_RED_PATH points the tests at another Node-RED (e.g. the 4.1 maintenance line); default: the devDependency.
helper.init(process.env.NODE_RED_PATH || require.resolve('node-red'));

let server: Prosody;

before(async () => {
    server = await startProsody({
        accounts: {
            heatpump: 'hp-secret-7',
            aggregator: 'agg-secret-9',
            plug: 'plug-secret-3',
            fleet: 'fleet-secret-4',
        },
    });
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

function account(id: string, user: string, extra: Record<string, unknown> = {}) {
    return accountConfig(server, id, user, extra);
}

function statusTexts(node: AnyNode): string[] {
    const texts: string[] = [];
    node.on('call:status', (call) => texts.push(String((call.args[0] as { text?: string }).text ?? '')));
    return texts;
}

function flow(extraAccount: Record<string, unknown> = {}) {
    return [
        { id: 'f1', type: 'tab', label: 'test' },
        account('acc-hp', 'heatpump', extraAccount),
        account('acc-agg', 'aggregator'),
        {
            id: 'pres-hp',
            z: 'f1',
            type: 'xmpp-presence',
            account: 'acc-hp',
            name: '',
            watch: '',
            presenceEvents: true,
            subscriptionEvents: true,
            rosterEvents: false,
            wires: [['out-hp']],
        },
        {
            id: 'pres-agg',
            z: 'f1',
            type: 'xmpp-presence',
            account: 'acc-agg',
            name: '',
            watch: '',
            presenceEvents: true,
            subscriptionEvents: true,
            rosterEvents: true,
            wires: [['out-agg']],
        },
        { id: 'out-hp', z: 'f1', type: 'helper' },
        { id: 'out-agg', z: 'f1', type: 'helper' },
        { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
    ];
}

/** The helper's RED._ returns message keys; match a status by the end of its key. */
function hasStatus(texts: string[], key: string): boolean {
    return texts.some((t) => t === key || t.endsWith(`.status.${key}`));
}

const credentials = { 'acc-hp': { password: 'hp-secret-7' }, 'acc-agg': { password: 'agg-secret-9' } };

describe('xmpp-account + xmpp-presence', () => {
    test('both nodes come online, see each other after a subscription, and answer a snapshot', {
        timeout: 30_000,
    }, async () => {
        await helper.load([accountNode, presenceNode], flow(), credentials);
        const hp = node('pres-hp');
        const agg = node('pres-agg');
        const hpStatus = statusTexts(hp);
        const aggOut: Array<Record<string, unknown>> = [];
        node('out-agg').on('input', (m) => aggOut.push(m));
        await waitFor(
            () => hasStatus(hpStatus, 'online'),
            10_000,
            () => `heat pump online (saw ${hpStatus.join(', ')})`,
        );

        agg.receive({ operation: 'subscribe', topic: 'heatpump@localhost' });
        await waitFor(
            () =>
                aggOut.some(
                    (m) =>
                        m.topic === 'heatpump@localhost' && (m.payload as { available?: boolean }).available === true,
                ),
            10_000,
            'the heat pump presence at the aggregator',
        );
        // Before the approval the server may report the heat pump unavailable (probe answer); the approved one follows.
        const presence = aggOut.find(
            (m) => (m.xmpp as { event: string; available: boolean }).available === true,
        ) as Record<string, unknown>;
        assert.match(String(presence.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.match(String((presence.xmpp as { jid: string }).jid), /^heatpump@localhost\/derlink-/);
        assert.ok(
            aggOut.some((m) => m.payload === 'subscribed' && (m.xmpp as { event: string }).event === 'subscription'),
        );
        assert.ok(
            aggOut.some((m) => (m.xmpp as { event: string }).event === 'roster'),
            'roster events are on for this node',
        );

        agg.receive({ operation: 'get', topic: 'heatpump@localhost', _msgid: 'snap' });
        const isSnapshot = (m: Record<string, unknown>) => (m.xmpp as { event: string }).event === 'snapshot';
        await waitFor(() => aggOut.some(isSnapshot), 5000, 'snapshot');
        const snap = aggOut.find(isSnapshot) as {
            payload: { available: boolean; resources: unknown[] };
            _msgid: string;
        };
        assert.equal(snap._msgid, 'snap', 'the snapshot reuses the incoming message');
        assert.equal(snap.payload.available, true);
        assert.equal(snap.payload.resources.length, 1);
    });

    test('"ask the flow": a request reaches the flow as pending, and the flow approves it', {
        timeout: 30_000,
    }, async () => {
        const ask = [
            { id: 'f1', type: 'tab', label: 'test' },
            account('acc-plug', 'plug', { subscriptions: 'ask' }),
            account('acc-fleet', 'fleet'),
            {
                id: 'pres-plug',
                z: 'f1',
                type: 'xmpp-presence',
                account: 'acc-plug',
                watch: '',
                presenceEvents: false,
                subscriptionEvents: true,
                rosterEvents: false,
                wires: [['out-plug']],
            },
            {
                id: 'pres-fleet',
                z: 'f1',
                type: 'xmpp-presence',
                account: 'acc-fleet',
                watch: '',
                presenceEvents: true,
                subscriptionEvents: true,
                rosterEvents: false,
                wires: [['out-fleet']],
            },
            { id: 'out-plug', z: 'f1', type: 'helper' },
            { id: 'out-fleet', z: 'f1', type: 'helper' },
        ];
        await helper.load([accountNode, presenceNode], ask as Parameters<typeof helper.load>[1], {
            'acc-plug': { password: 'plug-secret-3' },
            'acc-fleet': { password: 'fleet-secret-4' },
        });
        const plugOut: Array<Record<string, unknown>> = [];
        const fleetOut: Array<Record<string, unknown>> = [];
        node('out-plug').on('input', (m) => plugOut.push(m));
        node('out-fleet').on('input', (m) => fleetOut.push(m));
        const fleetStatus = statusTexts(node('pres-fleet'));
        const plugStatus = statusTexts(node('pres-plug'));
        await waitFor(() => hasStatus(fleetStatus, 'online') && hasStatus(plugStatus, 'online'), 10_000, 'both online');

        node('pres-fleet').receive({ operation: 'subscribe', topic: 'plug@localhost' });
        await waitFor(() => plugOut.some((m) => m.payload === 'subscribe'), 10_000, 'the request at the plug');
        const request = plugOut.find((m) => m.payload === 'subscribe') as Record<string, unknown>;
        assert.equal(request.topic, 'fleet@localhost');
        assert.deepEqual(request.xmpp, { event: 'subscription', type: 'subscribe', pending: true });
        assert.ok(!fleetOut.some((m) => m.payload === 'subscribed'), 'not approved before the flow says so');

        node('pres-plug').receive({ operation: 'approve', topic: request.topic });
        await waitFor(() => fleetOut.some((m) => m.payload === 'subscribed'), 10_000, 'the approval at the fleet');
        await waitFor(
            () =>
                fleetOut.some(
                    (m) => m.topic === 'plug@localhost' && (m.payload as { available?: boolean }).available === true,
                ),
            10_000,
            "the plug's presence at the fleet",
        );
    });

    test('bad input reaches a Catch node with a code; the node keeps working', { timeout: 30_000 }, async () => {
        await helper.load([accountNode, presenceNode], flow(), credentials);
        const hp = node('pres-hp');
        const caught: Array<{ error: { code: string; message: string } }> = [];
        node('caught').on('input', (m) => caught.push(m as never));
        hp.receive({ operation: 'explode' });
        hp.receive({ operation: 'subscribe' });
        hp.receive({ operation: 'set', payload: { show: 'sleepy' } });
        hp.receive({ operation: 'set', payload: { priority: 1000 } });
        hp.receive({ operation: 'subscribe', topic: 'not a jid@@' });
        await waitFor(
            () => caught.length === 5,
            10_000,
            () => `5 errors (got ${caught.length})`,
        );
        for (const c of caught) assert.equal(c.error.code, 'BAD_INPUT', c.error.message);
        assert.match(caught.map((c) => c.error.message).join('\n'), /Unknown msg.operation "explode"/);
        assert.match(caught.map((c) => c.error.message).join('\n'), /needs the peer's JID in msg.topic/);
        assert.match(caught.map((c) => c.error.message).join('\n'), /show must be online, away/);
        const out: unknown[] = [];
        node('out-hp').on('input', (m) => out.push(m));
        hp.receive({ operation: 'roster' });
        await waitFor(() => out.length > 0, 5000, 'roster answer');
    });

    test('a wrong password shows auth-failed on the user node, and the password never reaches the log', {
        timeout: 30_000,
    }, async () => {
        await helper.load([accountNode, presenceNode], flow(), {
            'acc-hp': { password: 'wrong-secret-1' },
            'acc-agg': credentials['acc-agg'],
        });
        const hp = node('pres-hp');
        const texts = statusTexts(hp);
        await waitFor(
            () => hasStatus(texts, 'auth-failed'),
            10_000,
            () => `auth failed status (saw ${texts.join(', ')})`,
        );
        const logged = JSON.stringify(helper.log().args);
        for (const secret of ['wrong-secret-1', 'hp-secret-7', 'agg-secret-9'])
            assert.ok(!logged.includes(secret), `${secret} was logged`);
    });

    test('a broken account configuration is reported on the node and to Catch, not thrown', {
        timeout: 30_000,
    }, async () => {
        await helper.load([accountNode, presenceNode], flow({ jid: 'no-at-sign' }), credentials);
        const hp = node('pres-hp');
        const caught: Array<{ error: { code: string; message: string } }> = [];
        node('caught').on('input', (m) => caught.push(m as never));
        hp.receive({ operation: 'get' });
        await waitFor(() => caught.length === 1, 5000, 'the configuration error at Catch');
        assert.equal(caught[0]?.error.code, 'CONFIG');
        assert.match(caught[0]?.error.message ?? '', /needs a user part/);
        assert.match(JSON.stringify(helper.log().args), /needs a user part/);
    });

    test('closing the flow closes the session (the peer sees it go unavailable)', { timeout: 30_000 }, async () => {
        await helper.load([accountNode, presenceNode], flow(), credentials);
        const agg = node('pres-agg');
        const aggOut: Array<Record<string, unknown>> = [];
        node('out-agg').on('input', (m) => aggOut.push(m));
        agg.receive({ operation: 'subscribe', topic: 'heatpump@localhost' });
        await waitFor(
            () => aggOut.some((m) => (m.payload as { available?: boolean }).available === true),
            10_000,
            'heat pump available',
        );
        // Unload only the heat pump side by loading a flow without it.
        const remaining = flow().filter((n) => !['acc-hp', 'pres-hp', 'out-hp'].includes(n.id));
        await helper.unload();
        await helper.load([accountNode, presenceNode], remaining, { 'acc-agg': credentials['acc-agg'] });
        const agg2 = node('pres-agg');
        const out2: Array<Record<string, unknown>> = [];
        node('out-agg').on('input', (m) => out2.push(m));
        agg2.receive({ operation: 'get', topic: 'heatpump@localhost' });
        await waitFor(() => out2.some((m) => (m.xmpp as { event: string }).event === 'snapshot'), 5000, 'snapshot');
        const snap = out2.find((m) => (m.xmpp as { event: string }).event === 'snapshot') as {
            payload: { available: boolean };
        };
        assert.equal(snap.payload.available, false, 'the heat pump account went offline when its flow was removed');
    });
});
