/** Flow pieces the node tests (node-red-node-test-helper against a real Prosody) share. */
import helper from 'node-red-node-test-helper';
import type { Prosody } from './prosody';

export type Msg = Record<string, unknown>;

/** A node of the loaded flow, typed for what the tests use (helper spies add call:<method> events). */
export type AnyNode = {
    id: string;
    receive(msg: Msg): void;
    on(event: string, fn: (arg: { args: unknown[] }) => void): void;
    on(event: 'input', fn: (msg: Msg) => void): void;
};

/** An xmpp-account config node for `user` on the test server, trusting its CA; `extra` overrides. */
export function accountConfig(
    server: Prosody,
    id: string,
    user: string,
    extra: Msg = {},
): Msg & { id: string; type: string } {
    return {
        id,
        type: 'xmpp-account',
        name: user,
        jid: `${user}@localhost`,
        host: server.host,
        port: String(server.port),
        tls: 'starttls',
        ca: server.caPem,
        fingerprint: '',
        allowSelfSigned: false,
        priority: 0,
        subscriptions: 'all',
        allowlist: '',
        defaultAccess: 'all',
        accessRules: '',
        keepalive: 60,
        keepaliveTimeout: 10,
        reconnectMin: 0.2,
        reconnectMax: 2,
        streamManagement: true,
        maxStanzaKiB: 1024,
        ...extra,
    };
}

export function node(id: string): AnyNode {
    return helper.getNode(id) as unknown as AnyNode;
}

/** Messages a helper node receives, in order. */
export function collect(id: string): Msg[] {
    const got: Msg[] = [];
    node(id).on('input', (m) => got.push(m));
    return got;
}

/**
 * Loads `nodes` on one tab with a Catch node wired to helper `caught`, and a helper node for every
 * wire that names no node of the flow; returns the messages each helper received, by id.
 */
export async function loadWithHelpers(
    modules: unknown[],
    nodes: Msg[],
    credentials: Record<string, unknown> = {},
): Promise<(id: string) => Msg[]> {
    const flow: Msg[] = [
        { id: 'f1', type: 'tab', label: 'test' },
        ...nodes.map((n) => ({ z: 'f1', ...n })),
        { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
    ];
    const wired = new Set(nodes.flatMap((n) => ((n.wires as string[][] | undefined) ?? []).flat()));
    for (const id of wired) if (!nodes.some((n) => n.id === id)) flow.push({ id, z: 'f1', type: 'helper' });
    await helper.load(modules as never, flow as Parameters<typeof helper.load>[1], credentials as never);
    const received = new Map<string, Msg[]>();
    for (const n of flow) if (n.type === 'helper') received.set(String(n.id), collect(String(n.id)));
    return (id) => {
        const got = received.get(id);
        if (!got) throw new Error(`${id} is not a helper node of the flow`);
        return got;
    };
}
