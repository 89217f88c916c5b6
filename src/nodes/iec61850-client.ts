import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { Iec61850Client } from '../protocols/iec61850/client';
import type { BrowseTree, ClientState, ClientStateInfo, ReadValue } from '../protocols/iec61850/client/types';
import { FC_ORDER } from '../protocols/iec61850/model/fc';
import { tryParseJid } from '../protocols/xmpp';
import { configFailed, useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { numberField } from '../shared/xmpp-config';

interface Iec61850ClientConfig extends NodeDef {
    account: string;
    server?: string;
    operation?: string;
    reference?: string;
    timeout?: string | number;
}

/** What the deployed node offers the editor's admin routes. */
interface Iec61850ClientNode extends Node {
    iec61850Browse?: () => Promise<BrowseTree>;
}

const OPERATIONS = [
    'read',
    'write',
    'readAll',
    'browse',
    'directory',
    'definition',
    'datasetGet',
    'datasetSet',
    'datasetCreate',
    'datasetDelete',
    'datasetDirectory',
] as const;
type Operation = (typeof OPERATIONS)[number];

/** Operations that need no reference (browse: the whole server; directory: its logical devices). */
const NO_REFERENCE: readonly Operation[] = ['browse', 'directory'];

type Msg = NodeMessageInFlow & Record<string, unknown>;

/** How long closing waits for the Conclude (Node-RED gives close handlers 15 s, the account needs some too). */
const CLOSE_TIMEOUT_MS = 3000;

/** `LD/LN.DO[FC]` → the reference without its FC, and the FC. */
function splitFc(reference: string): { ref: string; fc: string | undefined } {
    const m = /^(.*)\[([A-Z]{2})\]$/.exec(reference);
    return m ? { ref: m[1] as string, fc: m[2] } : { ref: reference, fc: undefined };
}

/** The read value's parts as message properties (payload = value). */
function putValue(msg: Msg, v: ReadValue): void {
    msg.payload = v.value;
    msg.reference = v.reference;
    msg.fc = v.fc;
    if (v.attributes) msg.attributes = v.attributes;
    else delete msg.attributes;
    if (v.quality) msg.quality = v.quality.validity;
    else delete msg.quality;
    if (v.timestamp) msg.timestamp = v.timestamp;
    else delete msg.timestamp;
    msg.iec61850 = { ...(v.quality ? { quality: v.quality } : {}) };
}

export = (RED: NodeAPI): void => {
    function Iec61850ClientNodeCtor(this: Iec61850ClientNode, config: Iec61850ClientConfig): void {
        RED.nodes.createNode(this, config);
        let timeoutMs: number;
        let server: string;
        let defaultOperation: Operation;
        try {
            server = (config.server ?? '').trim();
            const jid = tryParseJid(server);
            if (!server || !jid)
                throw new NodeError(
                    'CONFIG',
                    `The server "${server}" is not a JID (hp1@example.com or hp1@example.com/IEC)`,
                );
            defaultOperation = (config.operation || 'read') as Operation;
            if (!(OPERATIONS as readonly string[]).includes(defaultOperation))
                throw new NodeError('CONFIG', `Operation "${config.operation}" is not one of ${OPERATIONS.join(', ')}`);
            timeoutMs = numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000;
        } catch (err) {
            configFailed(this, err, RED._('iec61850-client.status.config-error'));
            return;
        }
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const client = new Iec61850Client(session, { server, timeoutMs });

        let state: ClientState = 'idle';
        let info: ClientStateInfo = {};
        const stateStatus = (): NodeStatus | undefined => {
            switch (state) {
                case 'associated':
                    return { fill: 'green', shape: 'dot', text: RED._('iec61850-client.status.associated') };
                case 'associating':
                    return { fill: 'yellow', shape: 'ring', text: RED._('iec61850-client.status.associating') };
                case 'waiting': {
                    const secs = info.retryInMs === undefined ? 0 : Math.max(1, Math.round(info.retryInMs / 1000));
                    return { fill: 'red', shape: 'ring', text: RED._('iec61850-client.status.waiting', { secs }) };
                }
                case 'closed':
                    return { fill: 'grey', shape: 'ring', text: RED._('iec61850-client.status.closed') };
                default:
                    return undefined;
            }
        };
        /** The association's state, while the account is online (otherwise the account's state shows). */
        const showState = () => {
            if (session.state !== 'online') return;
            const s = stateStatus();
            if (s) this.status(s);
        };
        client.on('state', (s: ClientState, i: ClientStateInfo) => {
            state = s;
            info = i;
            if (s === 'waiting' && i.error) this.debug(`No association with ${server}: ${i.error.message}`);
            showState();
        });
        client.on('warning', (err: Error) => this.debug(`IEC 61850 client: ${err.message}`));
        const onSessionState = (s: string) => {
            if (s === 'online') showState();
        };
        session.on('state', onSessionState);
        client.start();

        this.iec61850Browse = () => client.browse();

        const run = async (operation: Operation, reference: string, msg: Msg): Promise<void> => {
            switch (operation) {
                case 'read':
                    putValue(msg, await client.getDataValues(reference));
                    return;
                case 'write':
                    await client.setDataValues(reference, msg.payload);
                    msg.reference = reference;
                    return;
                case 'readAll': {
                    const { ref, fc: fromRef } = splitFc(reference);
                    const fc = typeof msg.fc === 'string' && msg.fc ? msg.fc : fromRef;
                    if (fc !== undefined && !(FC_ORDER as readonly string[]).includes(fc))
                        throw new NodeError('BAD_INPUT', `"${fc}" is not a functional constraint`);
                    const values = await client.getAllDataValues(
                        ref,
                        fc as Parameters<typeof client.getAllDataValues>[1],
                    );
                    msg.payload = Object.fromEntries(values.map((v) => [v.reference, v.value]));
                    msg.values = values;
                    msg.reference = ref;
                    return;
                }
                case 'browse':
                    msg.payload = await client.browse();
                    return;
                case 'directory': {
                    const ref = splitFc(reference).ref;
                    msg.reference = ref;
                    if (!ref) msg.payload = await client.getServerDirectory();
                    else if (!ref.includes('/')) msg.payload = await client.getLogicalDeviceDirectory(ref);
                    else if (!ref.includes('.')) {
                        const acsiClass = msg.acsiClass ?? 'DATA';
                        if (acsiClass !== 'DATA' && acsiClass !== 'DATA-SET')
                            throw new NodeError('BAD_INPUT', 'msg.acsiClass must be DATA or DATA-SET');
                        msg.payload = await client.getLogicalNodeDirectory(ref, acsiClass);
                    } else msg.payload = await client.getDataDirectory(ref);
                    return;
                }
                case 'definition':
                    msg.payload = await client.getDataDefinition(reference);
                    msg.reference = reference;
                    return;
                case 'datasetGet': {
                    const members = await client.getDataSetValues(reference);
                    msg.payload = Object.fromEntries(
                        members.filter((m) => !('error' in m)).map((m) => [m.reference, (m as ReadValue).value]),
                    );
                    const errors = members.filter((m) => 'error' in m);
                    if (errors.length > 0) msg.errors = errors;
                    else delete msg.errors;
                    msg.values = members;
                    msg.reference = reference;
                    return;
                }
                case 'datasetSet': {
                    if (!Array.isArray(msg.payload))
                        throw new NodeError('BAD_INPUT', 'msg.payload must be an array: one value per member');
                    const results = await client.setDataSetValues(reference, msg.payload);
                    msg.results = results;
                    msg.reference = reference;
                    const bad = results.filter((r) => r.error);
                    if (bad.length > 0) {
                        throw new NodeError(
                            bad[0]?.error?.code ?? 'FAILED',
                            `${bad.length} of ${results.length} members were not written: ${bad
                                .map((r) => `${r.reference}: ${r.error?.message}`)
                                .join('; ')}`,
                        );
                    }
                    return;
                }
                case 'datasetCreate': {
                    const members = msg.payload;
                    if (!Array.isArray(members) || members.length === 0 || !members.every((m) => typeof m === 'string'))
                        throw new NodeError(
                            'BAD_INPUT',
                            'msg.payload must list the members: references with FC, e.g. ["HP1LD/MMXN1.Watt[MX]"]',
                        );
                    await client.createDataSet(reference, members as string[]);
                    msg.reference = reference;
                    return;
                }
                case 'datasetDelete':
                    await client.deleteDataSet(reference);
                    msg.reference = reference;
                    return;
                case 'datasetDirectory':
                    msg.payload = await client.getDataSetDirectory(reference);
                    msg.reference = reference;
                    return;
            }
        };

        this.on(
            'input',
            async (msg: Msg, send: (m: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
                try {
                    const operation = (
                        typeof msg.operation === 'string' && msg.operation ? msg.operation : defaultOperation
                    ) as Operation;
                    if (!(OPERATIONS as readonly string[]).includes(operation))
                        throw new NodeError(
                            'BAD_INPUT',
                            `msg.operation "${String(msg.operation)}" is not one of ${OPERATIONS.join(', ')}`,
                        );
                    const reference =
                        (typeof msg.topic === 'string' && msg.topic.trim()) || (config.reference ?? '').trim();
                    if (!reference && !NO_REFERENCE.includes(operation))
                        throw new NodeError(
                            'BAD_INPUT',
                            `${operation} needs a reference: set one in the node, or put it in msg.topic`,
                        );
                    msg.operation = operation;
                    await run(operation, reference, msg);
                    if (reference) msg.topic = reference;
                    showState();
                    send(msg);
                    done();
                } catch (err) {
                    const e = withCode(err);
                    this.status({ fill: 'red', shape: 'ring', text: e.code.toLowerCase().replace(/_/g, ' ') });
                    done(e);
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            session.off('state', onSessionState);
            delete this.iec61850Browse;
            // Conclude the association (bounded: Node-RED gives close handlers 15 s), then let the account go.
            let timer: NodeJS.Timeout | undefined;
            const concluded = Promise.race([
                client.close().catch(() => undefined),
                new Promise((resolve) => {
                    timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
                }),
            ]);
            concluded
                .then(() => {
                    clearTimeout(timer);
                    return account.release(this);
                })
                .then(done, done);
        });
    }

    RED.nodes.registerType(
        'iec61850-client',
        Iec61850ClientNodeCtor as unknown as Parameters<typeof RED.nodes.registerType>[1],
    );

    // Editor helper: the server's model as the deployed client sees it, to pick a reference from.
    RED.httpAdmin.get(
        '/derlink/iec61850-client/:id/browse',
        RED.auth.needsPermission('iec61850-client.read'),
        (req, res) => {
            const node = RED.nodes.getNode(String(req.params.id)) as Iec61850ClientNode | null;
            if (!node?.iec61850Browse) {
                res.status(404).json({ error: RED._('iec61850-client.errors.not-running') });
                return;
            }
            node.iec61850Browse().then(
                (tree) => res.json(tree),
                (err: unknown) => {
                    const e = withCode(err);
                    res.status(502).json({ error: e.message, code: e.code });
                },
            );
        },
    );
};
