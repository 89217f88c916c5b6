import { randomBytes } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Disposable } from '../protocols/xmpp';
import type { ConcentratorNode } from '../protocols/xmpp-iot/codec';
import { ConcentratorServer, METERING_TOPOLOGY } from '../protocols/xmpp-iot/concentrator-server';
import type { Field, NodeRef, ReadoutError } from '../protocols/xmpp-iot/model';
import { provisioningClient } from '../protocols/xmpp-iot/provisioning-client';
import { SensorServer } from '../protocols/xmpp-iot/sensor-server';
import { configFailed, useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { accessMode, simpleAccess } from '../shared/iot-access';
import { SensorStore } from '../shared/iot-sensor-store';
import { numberField } from '../shared/xmpp-config';

interface IotSensorConfig extends NodeDef {
    account: string;
    mode?: string;
    nodes?: string;
    defaultNode?: string;
    access?: string;
    allowlist?: string;
    provisioning?: string;
    maxPerRequester?: string | number;
    timeout?: string | number;
    historyLimit?: string | number;
}

interface NodeConfig {
    nodeId?: unknown;
    displayName?: unknown;
    nodeType?: unknown;
    parentId?: unknown;
}

/** The editor's node list (XEP-0326 nodes of this device); a broken entry is a CONFIG error naming it. */
function parseNodes(text: string | undefined): ConcentratorNode[] {
    let raw: unknown;
    try {
        raw = JSON.parse(text?.trim() || '[]');
    } catch {
        throw new NodeError('CONFIG', 'The node list is not valid JSON');
    }
    if (!Array.isArray(raw)) throw new NodeError('CONFIG', 'The node list must be an array');
    const ids = new Set<string>();
    const nodes = raw.map((n: NodeConfig, i) => {
        if (n === null || typeof n !== 'object' || Array.isArray(n))
            throw new NodeError('CONFIG', `Node ${i + 1} must be an object with a nodeId`);
        const nodeId = typeof n.nodeId === 'string' ? n.nodeId.trim() : '';
        if (!nodeId) throw new NodeError('CONFIG', `Node ${i + 1} has no id`);
        if (ids.has(nodeId)) throw new NodeError('CONFIG', `Node ${nodeId} is listed twice`);
        ids.add(nodeId);
        const node: ConcentratorNode = {
            nodeId,
            sourceId: METERING_TOPOLOGY.sourceId,
            state: 'None',
            hasChildren: false,
            isReadable: true,
            isControllable: false,
            hasCommands: false,
        };
        if (typeof n.displayName === 'string' && n.displayName) node.displayName = n.displayName;
        if (typeof n.nodeType === 'string' && n.nodeType) node.nodeType = n.nodeType;
        if (typeof n.parentId === 'string' && n.parentId) node.parentId = n.parentId;
        return node;
    });
    for (const n of nodes) {
        if (n.parentId && !ids.has(n.parentId))
            throw new NodeError('CONFIG', `Node ${n.nodeId}: parent ${n.parentId} is not in the list`);
        n.hasChildren = nodes.some((c) => c.parentId === n.nodeId);
    }
    // A parent cycle would leave its nodes without a root: nobody browsing the tree could reach them.
    const parentOf = new Map(nodes.map((n) => [n.nodeId, n.parentId]));
    for (const n of nodes) {
        const path = new Set<string>([n.nodeId]);
        for (let up = n.parentId; up; up = parentOf.get(up)) {
            if (path.has(up)) throw new NodeError('CONFIG', `Node ${n.nodeId} is its own ancestor (through ${up})`);
            path.add(up);
        }
    }
    return nodes;
}

function fieldsFromAnswer(payload: unknown, node: NodeRef | undefined): Field[] {
    // The flow answers with the same shapes it would feed the cache with; a scratch store types them.
    const scratch = new SensorStore(node ? [node] : []);
    if (payload !== null && typeof payload === 'object' && !Array.isArray(payload) && !(payload instanceof Date)) {
        return scratch.put(undefined, payload, {});
    }
    throw new NodeError(
        'BAD_INPUT',
        'The answer to a readout must be an object of field names and values in msg.payload',
    );
}

export = (RED: NodeAPI): void => {
    function IotSensor(this: Node, config: IotSensorConfig): void {
        RED.nodes.createNode(this, config);
        let nodes: ConcentratorNode[];
        let timeoutMs: number;
        let historyLimit: number;
        let maxPerRequester: number;
        try {
            nodes = parseNodes(config.nodes);
            accessMode(config);
            timeoutMs = numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000;
            historyLimit = numberField(config.historyLimit, 1000, 1, 1_000_000, 'History', true);
            maxPerRequester = numberField(config.maxPerRequester, 4, 1, 1000, 'Readouts per requester', true);
        } catch (err) {
            configFailed(this, err, RED._('iot-sensor.status.config-error'));
            return;
        }
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const flowMode = config.mode === 'flow';
        const store = new SensorStore(nodes, historyLimit);
        const waiting = new Map<
            string,
            {
                node: NodeRef | undefined;
                resolve: (r: { fields: Field[]; errors?: ReadoutError[] }) => void;
                reject: (e: Error) => void;
            }
        >();
        const handles: Disposable[] = [];
        const allowed = simpleAccess(session, config);
        const provisioning =
            accessMode(config) === 'provisioning'
                ? provisioningClient(session, (config.provisioning ?? '').trim())
                : undefined;
        if (provisioning) {
            // XEP-0324 §3.2: the provisioning server decides who may become a friend.
            handles.push(session.setSubscriptionDecider((from) => provisioning.isFriend(from)));
            provisioning.onEvent = (e) =>
                this.send([
                    null,
                    { topic: provisioning.server, payload: e.kind, xmpp: { event: 'provisioning', detail: e.detail } },
                ]);
        }
        let served = 0;

        let sensor: SensorServer | undefined;
        let concentrator: ConcentratorServer | undefined;
        try {
            sensor = new SensorServer(session, {
                device: {
                    nodes: () => nodes,
                    read: (ctx) => {
                        if (!flowMode) return Promise.resolve({ fields: store.read(ctx.node, ctx.request) });
                        const id = randomBytes(8).toString('hex');
                        return new Promise((resolve, reject) => {
                            const timer = setTimeout(() => {
                                waiting.delete(id);
                                reject(new Error(`The flow did not answer within ${timeoutMs / 1000} s`));
                            }, timeoutMs);
                            waiting.set(id, {
                                node: ctx.node,
                                resolve: (r) => {
                                    clearTimeout(timer);
                                    resolve(r);
                                },
                                reject: (e) => {
                                    clearTimeout(timer);
                                    reject(e);
                                },
                            });
                            const r = ctx.request;
                            this.send([
                                {
                                    topic: ctx.from,
                                    payload: {
                                        node: ctx.node?.nodeId,
                                        fields: r.fields,
                                        categories: r.all ? ['all'] : r.categories,
                                        from: r.from?.date.toISOString(),
                                        to: r.to?.date.toISOString(),
                                    },
                                    xmpp: { requester: ctx.from, generation: ctx.generation, id: r.id },
                                    _iotReadout: id,
                                } as NodeMessage,
                                null,
                            ]);
                        });
                    },
                },
                authorize: async (from, request) => {
                    if (!provisioning) return allowed(from);
                    const verdict = await provisioning.canRead(from, {
                        nodes: request.nodes,
                        fields: request.fields,
                        categories: request.categories,
                        all: request.all,
                        ...(request.tokens ? { tokens: request.tokens } : {}),
                    });
                    if (!verdict.allowed) return false;
                    return verdict.fields || verdict.nodes || verdict.categories
                        ? {
                              ...(verdict.fields ? { fields: verdict.fields } : {}),
                              ...(verdict.nodes ? { nodes: verdict.nodes } : {}),
                              ...(verdict.categories ? { categories: verdict.categories } : {}),
                          }
                        : true;
                },
                maxPerRequester,
                // The flow's own time limit (timeoutMs) reports first, with the clearer message.
                readTimeoutMs: timeoutMs + 1000,
                defaultNodeId: config.defaultNode?.trim() || 'Device',
                onActivity: (e) => {
                    if (e.kind === 'readout') served++;
                    this.send([
                        null,
                        {
                            topic: e.from,
                            payload: e.kind,
                            xmpp: { event: e.kind, detail: e.detail, served },
                        } as NodeMessage,
                    ]);
                },
            });
            concentrator =
                nodes.length > 0
                    ? new ConcentratorServer(session, {
                          tree: {
                              sources: () => [METERING_TOPOLOGY],
                              nodes: () => nodes,
                              parametersForEdit: (n) => [
                                  { name: 'nodeId', type: 'string', value: n.nodeId, readOnly: true, label: 'Node id' },
                                  {
                                      name: 'displayName',
                                      type: 'string',
                                      value: n.displayName ?? '',
                                      readOnly: true,
                                      label: 'Name',
                                  },
                                  {
                                      name: 'nodeType',
                                      type: 'string',
                                      value: n.nodeType ?? '',
                                      readOnly: true,
                                      label: 'Type',
                                  },
                              ],
                          },
                          authorize: (from) => (provisioning ? true : allowed(from)),
                      })
                    : undefined;
        } catch (err) {
            // Another node already serves these requests on this account (one sensor per account).
            sensor?.dispose();
            for (const h of handles) h.dispose();
            void account.release(this);
            configFailed(this, err, RED._('iot-sensor.status.config-error'));
            return;
        }

        this.on(
            'input',
            (msg: NodeMessageInFlow & Record<string, unknown>, _send: unknown, done: (err?: Error) => void) => {
                try {
                    if (typeof msg._iotReadout === 'string') {
                        // The flow's answer to a readout it was asked for.
                        const pending = waiting.get(msg._iotReadout);
                        if (!pending) throw new NodeError('TIMEOUT', 'This readout was already answered or timed out');
                        waiting.delete(msg._iotReadout);
                        if (msg.error)
                            pending.reject(
                                new Error(typeof msg.error === 'string' ? msg.error : 'The flow reported an error'),
                            );
                        else pending.resolve({ fields: fieldsFromAnswer(msg.payload, pending.node) });
                        done();
                        return;
                    }
                    store.put(msg.topic, msg.payload, {
                        node: msg.node,
                        unit: msg.unit,
                        decimals: msg.decimals,
                        type: msg.type,
                        timestamp: msg.timestamp,
                        category: msg.category,
                        quality: msg.quality,
                    });
                    this.status({
                        fill: 'green',
                        shape: 'dot',
                        text: RED._('iot-sensor.status.fields', { count: store.size }),
                    });
                    done();
                } catch (err) {
                    done(withCode(err));
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            sensor?.dispose();
            concentrator?.dispose();
            for (const h of handles) h.dispose();
            for (const w of waiting.values()) w.reject(new Error('The sensor node was stopped'));
            waiting.clear();
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType('iot-sensor', IotSensor as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
