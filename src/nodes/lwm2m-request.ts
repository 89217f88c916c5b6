import type { Node, NodeAPI, NodeDef } from 'node-red';
import { type Lwm2mResult, Lwm2mServerError } from '../protocols/lwm2m';
import { configFailed } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { type Msg, useLwm2mServer } from '../shared/lwm2m-user';
import { numberField } from '../shared/xmpp-config';

interface Lwm2mRequestConfig extends NodeDef {
    server: string;
    operation?: string;
    endpoint?: string;
    path?: string;
    format?: string;
    timeout?: string | number;
}

/** The device-management operations (OMA LwM2M Core 1.1 §6.3, §6.4). */
const OPERATIONS = [
    'read',
    'write',
    'update',
    'execute',
    'create',
    'delete',
    'discover',
    'write-attributes',
    'observe',
    'cancel',
] as const;
type Operation = (typeof OPERATIONS)[number];

const FORMATS: Readonly<Record<string, number | undefined>> = {
    auto: undefined,
    tlv: 11542,
    'senml-json': 110,
    'senml-cbor': 112,
    text: 0,
    opaque: 42,
    cbor: 60,
};

function text(v: unknown, what: string): string | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new NodeError('BAD_INPUT', `${what} must be text, got ${typeof v}`);
    return v.trim();
}

/** A failed LwM2M answer as an error for Catch nodes: code LWM2M_4_05 etc. */
function answerError(r: Lwm2mResult): NodeError {
    const why = r.message ? `: ${r.message}` : '';
    return new NodeError(
        `LWM2M_${r.code.replace('.', '_')}`,
        `${r.operation} ${r.path} on ${r.endpoint} answered ${r.code}${why}`,
    );
}

export = (RED: NodeAPI): void => {
    function Lwm2mRequest(this: Node, config: Lwm2mRequestConfig): void {
        RED.nodes.createNode(this, config);
        let timeoutMs: number;
        try {
            if (config.operation && !(OPERATIONS as readonly string[]).includes(config.operation))
                throw new NodeError('CONFIG', `Operation "${config.operation}" is not one of ${OPERATIONS.join(', ')}`);
            if (config.format && !Object.hasOwn(FORMATS, config.format))
                throw new NodeError('CONFIG', `Format "${config.format}" is unknown`);
            timeoutMs = numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000;
        } catch (err) {
            configFailed(this, err, RED._('lwm2m-request.status.config-error'));
            return;
        }
        const server = useLwm2mServer(RED, this, config.server);
        if (!server) return;
        server.lwm2mServer().then(
            () => this.status({}),
            () => undefined,
        );

        this.on('input', (msg: Msg, send, done) => {
            const run = async () => {
                const operation = (text(msg.operation, 'msg.operation') ?? config.operation ?? 'read') as Operation;
                if (!(OPERATIONS as readonly string[]).includes(operation))
                    throw new NodeError(
                        'BAD_INPUT',
                        `msg.operation "${operation}" is not one of ${OPERATIONS.join(', ')}`,
                    );
                const endpoint = text(msg.endpoint, 'msg.endpoint') ?? (config.endpoint?.trim() || undefined);
                const path =
                    text(msg.path, 'msg.path') ?? text(msg.topic, 'msg.topic') ?? (config.path?.trim() || undefined);
                if (!endpoint) throw new NodeError('BAD_INPUT', 'No endpoint: set one in the node or msg.endpoint');
                if (!path) throw new NodeError('BAD_INPUT', 'No path: set one in the node, msg.path or msg.topic');
                const formatName = text(msg.format, 'msg.format') ?? config.format ?? 'auto';
                if (!Object.hasOwn(FORMATS, formatName))
                    throw new NodeError(
                        'BAD_INPUT',
                        `msg.format "${formatName}" is not one of ${Object.keys(FORMATS).join(', ')}`,
                    );
                const format = FORMATS[formatName];
                const options = { timeoutMs, ...(format === undefined ? {} : { format }) };
                const s = await server.lwm2mServer();
                this.status({ fill: 'blue', shape: 'dot', text: `${operation} ${path}` });
                let r: Lwm2mResult | boolean;
                switch (operation) {
                    case 'read':
                        r = await s.read(endpoint, path, options);
                        break;
                    case 'write':
                    case 'update':
                        r = await s.write(endpoint, path, msg.payload, {
                            ...options,
                            mode: operation === 'write' ? 'replace' : 'update',
                        });
                        break;
                    case 'execute': {
                        const args = msg.payload === undefined || msg.payload === null ? '' : msg.payload;
                        if (typeof args !== 'string')
                            throw new NodeError(
                                'BAD_INPUT',
                                "Execute arguments (msg.payload) are text such as 0='on',1",
                            );
                        r = await s.execute(endpoint, path, args, options);
                        break;
                    }
                    case 'create': {
                        const id = (msg as { instanceId?: unknown }).instanceId;
                        if (
                            id !== undefined &&
                            (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 65535)
                        )
                            throw new NodeError('BAD_INPUT', 'msg.instanceId must be an instance ID of 0..65534');
                        r = await s.create(endpoint, path, msg.payload, {
                            ...options,
                            ...(id === undefined ? {} : { instanceId: id as number }),
                        });
                        break;
                    }
                    case 'delete':
                        r = await s.delete(endpoint, path, options);
                        break;
                    case 'discover':
                        r = await s.discover(endpoint, path, options);
                        break;
                    case 'write-attributes': {
                        const a = msg.payload;
                        if (a === null || typeof a !== 'object' || Array.isArray(a))
                            throw new NodeError(
                                'BAD_INPUT',
                                'Write-Attributes needs msg.payload like { "pmin": 10, "pmax": 60, "st": 0.5 }',
                            );
                        for (const [k, v] of Object.entries(a))
                            if (v !== null && typeof v !== 'number')
                                throw new NodeError(
                                    'BAD_INPUT',
                                    `attribute ${k} must be a number, or null to remove it`,
                                );
                        r = await s.writeAttributes(endpoint, path, a as Record<string, number | null>, options);
                        break;
                    }
                    case 'observe':
                        r = await s.observe(endpoint, path, options);
                        break;
                    case 'cancel':
                        r = await s.cancelObservation(endpoint, path);
                        break;
                }
                this.status({});
                if (typeof r === 'boolean') {
                    msg.payload = r;
                    msg.lwm2m = { operation, endpoint, path, cancelled: r };
                    send(msg);
                    return;
                }
                msg.lwm2m = {
                    operation,
                    endpoint,
                    path: r.path,
                    code: r.code,
                    ...(r.contentFormat === undefined ? {} : { contentFormat: r.contentFormat }),
                    receivedAt: new Date(r.receivedAt),
                    ...(r.queued ? { queued: true } : {}),
                    ...(r.message ? { message: r.message } : {}),
                };
                if (!r.ok) throw answerError(r);
                if (r.value !== undefined) msg.payload = r.value;
                else if (r.links !== undefined) msg.payload = r.links.map((l) => ({ path: l.target, ...l.params }));
                else if (r.location !== undefined) msg.payload = r.location;
                else msg.payload = r.code;
                send(msg);
            };
            run().then(
                () => done(),
                (err: unknown) => {
                    const e = err instanceof Lwm2mServerError ? new NodeError(err.code, err.message) : withCode(err);
                    this.status({ fill: 'red', shape: 'ring', text: e.code });
                    done(e);
                },
            );
        });
    }
    RED.nodes.registerType('lwm2m-request', Lwm2mRequest as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
