import { randomBytes } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ControlServer } from '../protocols/xmpp-iot/control-server';
import type { ControlFailure, NodeRef, ParameterDescription, ParameterValue } from '../protocols/xmpp-iot/model';
import { provisioningClient } from '../protocols/xmpp-iot/provisioning-client';
import { validValue } from '../protocols/xmpp-iot/validate';
import { configFailed, useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { accessMode, simpleAccess } from '../shared/iot-access';
import { parseParameters } from '../shared/iot-params';
import { listField, numberField } from '../shared/xmpp-config';

interface IotActuatorConfig extends NodeDef {
    account: string;
    parameters?: string;
    nodes?: string;
    access?: string;
    allowlist?: string;
    provisioning?: string;
    confirm?: string;
    timeout?: string | number;
}

/** A validated value as the flow gets it: booleans and numbers typed, the rest as text. */
function typed(p: ParameterValue): unknown {
    if (p.type === 'boolean') return p.text.trim() === 'true' || p.text.trim() === '1';
    if (p.type === 'int' || p.type === 'double') return Number(p.text);
    if (p.type === 'long') {
        const n = Number(p.text);
        return Number.isSafeInteger(n) ? n : p.text;
    }
    return p.text;
}

export = (RED: NodeAPI): void => {
    function IotActuator(this: Node, config: IotActuatorConfig): void {
        RED.nodes.createNode(this, config);
        let described: ParameterDescription[];
        let timeoutMs: number;
        try {
            described = parseParameters(config.parameters);
            accessMode(config);
            timeoutMs = numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000;
        } catch (err) {
            configFailed(this, err, RED._('iot-actuator.status.config-error'));
            return;
        }
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const allowed = simpleAccess(session, config);
        const nodes: NodeRef[] = listField(config.nodes).map((nodeId) => ({ nodeId }));
        /** Current values per node ('' for the device itself). */
        const values = new Map<string, Map<string, string>>();
        const keyOf = (n: NodeRef | undefined) => n?.nodeId ?? '';
        const confirmByFlow = config.confirm === 'flow';
        const waiting = new Map<string, (answer: ControlFailure | undefined) => void>();
        const provisioning =
            accessMode(config) === 'provisioning'
                ? provisioningClient(session, (config.provisioning ?? '').trim())
                : undefined;

        let applied = 0;

        let server: ControlServer;
        try {
            server = new ControlServer(session, {
                actuator: {
                    nodes: () => nodes,
                    parameters: (n) => {
                        const current = values.get(keyOf(n));
                        return described.map((d) => {
                            const v = current?.get(d.name) ?? d.value;
                            return v === undefined ? d : { ...d, value: v };
                        });
                    },
                    apply: async (ctx) => {
                        const id = randomBytes(8).toString('hex');
                        const msg: NodeMessage & Record<string, unknown> = {
                            topic: ctx.from,
                            payload: Object.fromEntries(ctx.parameters.map((p) => [p.name, typed(p)])),
                            xmpp: {
                                from: ctx.from,
                                node: ctx.node?.nodeId,
                                generation: ctx.generation,
                                acknowledged: ctx.acknowledged,
                            },
                        };
                        let answer: ControlFailure | undefined;
                        if (confirmByFlow && ctx.acknowledged) {
                            msg._iotSet = id;
                            answer = await new Promise<ControlFailure | undefined>((resolve) => {
                                const timer = setTimeout(() => {
                                    waiting.delete(id);
                                    resolve({
                                        reason: 'other',
                                        message: `The flow did not confirm within ${timeoutMs / 1000} s`,
                                    });
                                }, timeoutMs);
                                waiting.set(id, (a) => {
                                    clearTimeout(timer);
                                    resolve(a);
                                });
                                this.send(msg);
                            });
                        } else {
                            this.send(msg);
                        }
                        if (!answer) {
                            const current = values.get(keyOf(ctx.node)) ?? new Map<string, string>();
                            for (const p of ctx.parameters) current.set(p.name, p.text);
                            values.set(keyOf(ctx.node), current);
                            applied++;
                            this.status({
                                fill: 'green',
                                shape: 'dot',
                                text: RED._('iot-actuator.status.applied', { count: applied }),
                            });
                        }
                        return answer;
                    },
                },
                authorize: async (from, request) => {
                    if (provisioning) {
                        const verdict = await provisioning.canControl(from, {
                            nodes: request.nodes,
                            parameters: request.parameters.map((p) => p.name),
                        });
                        if (!verdict.allowed) return false;
                        return verdict.parameters || verdict.nodes
                            ? {
                                  ...(verdict.parameters ? { parameters: verdict.parameters } : {}),
                                  ...(verdict.nodes ? { nodes: verdict.nodes } : {}),
                              }
                            : true;
                    }
                    return allowed(from);
                },
                onActivity: (e) => {
                    if (e.kind === 'refused') this.warn(`Refused a set from ${e.from}: ${e.detail}`);
                },
            });
        } catch (err) {
            // Another node already serves control requests on this account (one actuator per account).
            void account.release(this);
            configFailed(this, err, RED._('iot-actuator.status.config-error'));
            return;
        }

        this.on(
            'input',
            (
                msg: NodeMessageInFlow & { payload?: unknown; _iotSet?: unknown; error?: unknown },
                _send: unknown,
                done: (err?: Error) => void,
            ) => {
                try {
                    if (typeof msg._iotSet === 'string') {
                        // The flow's answer to a set it was asked to confirm: payload false (or an error) refuses it.
                        const resolve = waiting.get(msg._iotSet);
                        if (resolve) {
                            waiting.delete(msg._iotSet);
                            const refused = msg.payload === false || (msg.error !== undefined && msg.error !== null);
                            resolve(
                                refused
                                    ? {
                                          reason: 'other',
                                          message: typeof msg.error === 'string' ? msg.error : 'Refused by the flow',
                                      }
                                    : undefined,
                            );
                        }
                        done();
                        return;
                    }
                    // Otherwise: the device's current values (shown in the form, and to getForm callers).
                    if (msg.payload === null || typeof msg.payload !== 'object' || Array.isArray(msg.payload)) {
                        throw new NodeError(
                            'BAD_INPUT',
                            'msg.payload must be an object of parameter names and current values',
                        );
                    }
                    // The node the values belong to: msg.topic, one of the configured nodes (or none).
                    const topic = typeof msg.topic === 'string' ? msg.topic.trim() : '';
                    const target =
                        nodes.length === 0 ? '' : nodes.length === 1 && !topic ? (nodes[0]?.nodeId ?? '') : topic;
                    if (nodes.length > 0 && !nodes.some((n) => n.nodeId === target)) {
                        throw new NodeError(
                            'BAD_INPUT',
                            `msg.topic must name one of this actuator's nodes (${nodes.map((n) => n.nodeId).join(', ')}); got "${topic}"`,
                        );
                    }
                    const current = values.get(target) ?? new Map<string, string>();
                    for (const [name, value] of Object.entries(msg.payload as Record<string, unknown>)) {
                        const d = described.find((x) => x.name === name);
                        if (!d) throw new NodeError('BAD_INPUT', `${name} is not a parameter of this actuator`);
                        const text = value instanceof Date ? value.toISOString() : String(value);
                        if (!validValue(d.type, text))
                            throw new NodeError('BAD_INPUT', `"${text}" is not a valid ${d.type} for ${name}`);
                        current.set(name, text);
                    }
                    values.set(target, current);
                    done();
                } catch (err) {
                    done(withCode(err));
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            server.dispose();
            for (const resolve of waiting.values()) resolve({ reason: 'other', message: 'The actuator was stopped' });
            waiting.clear();
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType('iot-actuator', IotActuator as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
