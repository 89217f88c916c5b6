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
