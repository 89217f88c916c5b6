import { randomBytes } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DATA_ACCESS_ERRORS } from '../protocols/iec61850/mms/errors';
import { Iec61850Server } from '../protocols/iec61850/server';
import type { AssociationEvent, DataSetEvent, WriteDecision, WriteRequest } from '../protocols/iec61850/server/types';
import { type SessionState, tryParseJid } from '../protocols/xmpp';
import { configFailed, useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { accessPatterns, IEC_RESOURCE, loadModel } from '../shared/iec61850-config';
import { numberField } from '../shared/xmpp-config';

interface Iec61850ServerConfig extends NodeDef {
    account: string;
    modelSource?: string;
    modelFile?: string;
    modelText?: string;
    iedName?: string;
    associate?: string;
    read?: string;
    write?: string;
    operate?: string;
    confirm?: string;
    timeout?: string | number;
    maxAssociations?: string | number;
}

/** What the deployed node offers the editor's admin routes. */
interface Iec61850ServerNode extends Node {
    iec61850References?: () => string[];
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

/** One answer of the flow: true/false, or a DataAccessError name (e.g. object-value-invalid). */
function decisionItem(v: unknown): boolean | string | undefined {
    if (v === undefined || v === null || typeof v === 'boolean') return v ?? undefined;
    if (typeof v === 'string' && Object.hasOwn(DATA_ACCESS_ERRORS, v)) return v;
    throw new NodeError(
        'BAD_INPUT',
        `msg.write.accept must be true, false or a DataAccessError name (e.g. object-value-invalid); got ${JSON.stringify(v)}`,
    );
}

/** msg.write.accept as the engine's WriteDecision: one answer for all items, or an array with one per item. */
function decisionOf(accept: unknown, items: number): WriteDecision {
    if (!Array.isArray(accept)) return decisionItem(accept);
    if (accept.length !== items)
        throw new NodeError('BAD_INPUT', `msg.write.accept has ${accept.length} answers for ${items} items`);
    return accept.map(decisionItem);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

export = (RED: NodeAPI): void => {
    function Iec61850ServerNodeCtor(this: Iec61850ServerNode, config: Iec61850ServerConfig): void {
        RED.nodes.createNode(this, config);
        let model: ReturnType<typeof loadModel>;
        let access: { associate: string[]; read: string[]; write: string[]; operate: string[] };
        let timeoutMs: number;
        let maxAssociations: number;
        try {
            access = {
                associate: accessPatterns(config.associate ?? 'roster', 'Associate'),
                read: accessPatterns(config.read ?? '*', 'Read'),
                write: accessPatterns(config.write, 'Write'),
                operate: accessPatterns(config.operate, 'Operate'),
            };
            if (config.confirm !== undefined && config.confirm !== '' && !['auto', 'flow'].includes(config.confirm))
                throw new NodeError('CONFIG', `Writes "${config.confirm}" is not one of auto, flow`);
            timeoutMs = numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000;
            maxAssociations = numberField(config.maxAssociations, 100, 1, 10_000, 'Associations', true);
            model = loadModel(config);
        } catch (err) {
            configFailed(this, err, RED._('iec61850-server.status.config-error'));
            return;
        }
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const confirmByFlow = config.confirm === 'flow';
        /** Writes waiting for the flow, by correlation id (msg.write.id). */
        const waiting = new Map<string, { items: number; resolve: (d: WriteDecision) => void }>();

        let server: Iec61850Server;
        try {
            server = new Iec61850Server(session, {
                model,
                access,
                maxAssociations,
                writeTimeoutMs: timeoutMs + 1000,
                ...(confirmByFlow
                    ? {
                          onWrite: (req: WriteRequest) =>
                              new Promise<WriteDecision>((resolve) => {
                                  const id = randomBytes(8).toString('hex');
                                  const timer = setTimeout(() => {
                                      waiting.delete(id);
                                      this.warn(
                                          `Refused a write from ${req.from}: the flow did not answer within ${timeoutMs / 1000} s`,
                                      );
                                      resolve('temporarily-unavailable');
                                  }, timeoutMs);
                                  waiting.set(id, {
                                      items: req.items.length,
                                      resolve: (d) => {
                                          clearTimeout(timer);
                                          resolve(d);
                                      },
                                  });
                                  this.send([writeMsg('write', req, id), null]);
                              }),
                      }
                    : {}),
            });
        } catch (err) {
            // Another server already serves 8-2 on this account (one IED per account).
            void account.release(this);
            configFailed(this, err, RED._('iec61850-server.status.config-error'));
            return;
        }
        if (model.warnings.length > 0)
            this.warn(
                `The SCL model has ${model.warnings.length} warning(s), e.g. ${model.warnings[0]?.message} (${model.warnings[0]?.path})`,
            );
        this.iec61850References = () => server.references();

        function writeMsg(topic: string, req: WriteRequest, id?: string): NodeMessage {
            return {
                topic,
                payload: req.items.map((i) => ({ ...i })),
                from: req.from,
                ...(id ? { write: { id } } : {}),
                iec61850: { assoId: req.assoId, ...(req.dataSet ? { dataSet: req.dataSet } : {}) },
            } as NodeMessage;
        }

        // Status: the account's connection while it is not online; online, the number of associations.
        let problem: string | undefined;
        const showAssociations = () => {
            if (session.state !== 'online') return;
            if (problem) {
                this.status({ fill: 'red', shape: 'ring', text: problem });
                return;
            }
            const count = server.associations.length;
            this.status({
                fill: 'green',
                shape: 'dot',
                text: RED._('iec61850-server.status.associations', { count }),
            });
        };
        let resourceWarned = false;
        const onState = (state: SessionState) => {
            if (state !== 'online') return;
            const resource = tryParseJid(session.jid)?.resource;
            if (resource !== IEC_RESOURCE) {
                problem = RED._('iec61850-server.status.resource');
                if (!resourceWarned) {
                    resourceWarned = true;
                    this.warn(
                        `The account is bound as ${session.jid}; IEC 61850-8-2 clients address the server as ${session.account.bare}/${IEC_RESOURCE}. Set the account's resource to ${IEC_RESOURCE}.`,
                    );
                }
            } else problem = undefined;
            showAssociations();
        };
        session.on('state', onState);
        onState(session.state);

        server.on('association', (e: AssociationEvent) => {
            this.send([
                null,
                {
                    topic: e.peer,
                    payload: e.type,
                    iec61850: { event: 'association', ...e, associations: server.associations.length },
                } as NodeMessage,
            ]);
            showAssociations();
        });
        server.on('dataset', (e: DataSetEvent) => {
            this.send([
                null,
                {
                    topic: e.reference,
                    payload: e.type,
                    from: e.peer,
                    iec61850: { event: 'dataset', ...e },
                } as NodeMessage,
            ]);
        });
        server.on('written', (req: WriteRequest) => {
            // Confirmed writes were already shown to the flow (topic "write"); only automatic ones are reported.
            if (!confirmByFlow) this.send([writeMsg('written', req), null]);
        });
        server.on('warning', (err: Error) => this.debug(`IEC 61850 server: ${err.message}`));

        const failed = (err: Error & { code: string }) => {
            this.status({ fill: 'red', shape: 'ring', text: err.code.toLowerCase().replace(/_/g, ' ') });
        };

        this.on('input', (msg: Msg, _send: unknown, done: (err?: Error) => void) => {
            try {
                if (isPlainObject(msg.write)) {
                    // The flow's answer to a client's write (confirm by the flow).
                    if (typeof msg.write.id !== 'string')
                        throw new NodeError(
                            'BAD_INPUT',
                            'msg.write.id is missing: answer a write with the message it came in (or its msg.write.id)',
                        );
                    const pending = waiting.get(msg.write.id);
                    if (!pending)
                        throw new NodeError('TIMEOUT', 'This write was already answered or timed out (msg.write.id)');
                    waiting.delete(msg.write.id);
                    let decision: WriteDecision;
                    try {
                        decision = decisionOf(msg.write.accept, pending.items);
                    } catch (err) {
                        // An answer the engine cannot use refuses the write rather than leaving the client waiting.
                        pending.resolve(false);
                        throw err;
                    }
                    pending.resolve(decision);
                    done();
                    return;
                }
                const topic = typeof msg.topic === 'string' ? msg.topic.trim() : '';
                if (topic) {
                    if (msg.payload === undefined)
                        throw new NodeError('BAD_INPUT', `No value for ${topic}: put it in msg.payload`);
                    server.update(topic, msg.payload);
                } else if (isPlainObject(msg.payload)) {
                    const results = server.updateMany(msg.payload);
                    const bad = results.filter((r) => r.error);
                    if (bad.length > 0) {
                        const codes = new Set(bad.map((r) => r.code ?? 'BAD_INPUT'));
                        const err = new NodeError(
                            codes.size === 1 ? ([...codes][0] as string) : 'BAD_INPUT',
                            `${bad.length} of ${results.length} values were not set: ${bad
                                .slice(0, 5)
                                .map((r) => r.error)
                                .join('; ')}${bad.length > 5 ? '; ...' : ''}`,
                        );
                        msg.iec61850 = { results };
                        throw err;
                    }
                } else {
                    throw new NodeError(
                        'BAD_INPUT',
                        'Send a reference in msg.topic and its value in msg.payload, or an object of references and values in msg.payload',
                    );
                }
                showAssociations();
                done();
            } catch (err) {
                const e = withCode(err);
                failed(e);
                done(e);
            }
        });

        this.on('close', (_removed: boolean, done: () => void) => {
            session.off('state', onState);
            for (const w of waiting.values()) w.resolve('temporarily-unavailable');
            waiting.clear();
            delete this.iec61850References;
            try {
                server.close();
            } catch (err) {
                this.debug(`IEC 61850 server close: ${(err as Error).message}`);
            }
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType(
        'iec61850-server',
        Iec61850ServerNodeCtor as unknown as Parameters<typeof RED.nodes.registerType>[1],
    );

    // Editor helper: checks SCL text pasted or uploaded into the dialog, as the runtime will import it.
    RED.httpAdmin.post(
        '/derlink/iec61850-server/check',
        RED.auth.needsPermission('iec61850-server.write'),
        (req, res) => {
            const body = (req.body ?? {}) as { text?: unknown; iedName?: unknown };
            if (typeof body.text !== 'string') {
                res.status(400).json({ error: 'Send the SCL text as "text"', code: 'BAD_INPUT' });
                return;
            }
            try {
                const m = loadModel({
                    modelSource: 'text',
                    modelText: body.text,
                    iedName: typeof body.iedName === 'string' ? body.iedName : '',
                });
                res.json({
                    iedName: m.iedName,
                    logicalDevices: m.server.logicalDevices.map((ld) => ({
                        name: ld.name,
                        logicalNodes: ld.logicalNodes.length,
                    })),
                    warnings: m.warnings.length,
                    ...(m.warnings[0] ? { firstWarning: m.warnings[0].message } : {}),
                });
            } catch (err) {
                const e = withCode(err);
                res.status(400).json({ error: e.message, code: e.code });
            }
        },
    );

    // Editor helper: the served model's references (FCD/FCDA with FC), to pick a msg.topic from.
    RED.httpAdmin.get(
        '/derlink/iec61850-server/:id/references',
        RED.auth.needsPermission('iec61850-server.read'),
        (req, res) => {
            const node = RED.nodes.getNode(String(req.params.id)) as Iec61850ServerNode | null;
            if (!node?.iec61850References) {
                res.status(404).json({ error: RED._('iec61850-server.errors.not-running') });
                return;
            }
            res.json({ references: node.iec61850References() });
        },
    );
};
