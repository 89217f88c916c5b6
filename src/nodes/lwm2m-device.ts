import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    type DeviceState,
    type ExecuteEvent,
    fromPlain,
    Lwm2mDevice,
    type ObjectTree,
    parsePath,
    type ResourceValue,
    type WriteEvent,
} from '../protocols/lwm2m';
import { configFailed } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { type DefinitionFields, definitionsFrom, portField } from '../shared/lwm2m-config';
import type { Msg } from '../shared/lwm2m-user';
import { numberField } from '../shared/xmpp-config';

interface Lwm2mDeviceConfig extends NodeDef, DefinitionFields {
    endpoint?: string;
    mode?: string;
    serverUri?: string;
    bootstrapUri?: string;
    lifetime?: string | number;
    queueMode?: boolean;
    port?: string | number;
    objects?: string;
}

type Instances = Record<string, Record<string, Record<string, unknown>>>;

/**
 * The object instances a device starts with, from the editor's JSON
 * (`{ "3316": { "0": { "5700": 12.5, "5701": "V" } } }`), each value typed by its definition.
 */
function fillTree(tree: ObjectTree, json: string | undefined): void {
    let doc: unknown;
    try {
        doc = JSON.parse(json?.trim() || '{}');
    } catch (err) {
        throw new NodeError('CONFIG', `Objects: not JSON: ${(err as Error).message}`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
        throw new NodeError('CONFIG', 'Objects: an object keyed by object ID, then instance ID, then resource ID');
    for (const [o, instances] of Object.entries(doc as Instances)) {
        const objectId = Number(o);
        if (!tree.definition(objectId)) throw new NodeError('CONFIG', `Objects: object ${o} has no definition`);
        if (objectId === 0 || objectId === 1)
            throw new NodeError(
                'CONFIG',
                'Objects: Security (0) and Server (1) come from the server settings or bootstrap',
            );
        if (instances === null || typeof instances !== 'object')
            throw new NodeError('CONFIG', `Objects: /${o} needs instances keyed by ID`);
        for (const [i, resources] of Object.entries(instances)) {
            const instanceId = Number(i);
            if (!Number.isInteger(instanceId) || instanceId < 0 || instanceId >= 65535)
                throw new NodeError('CONFIG', `Objects: /${o}/${i} is not an instance ID`);
            const values: Record<number, ResourceValue | ResourceValue[]> = {};
            for (const [r, v] of Object.entries(resources ?? {})) {
                const path = `/${o}/${i}/${r}`;
                const def = tree.resourceDefinition(objectId, Number(r));
                if (!def) throw new NodeError('CONFIG', `Objects: ${path} is not a resource of object ${o}`);
                try {
                    values[Number(r)] = Array.isArray(v)
                        ? v.map((x) => fromPlain(def.type, x, path))
                        : fromPlain(def.type, v, path);
                } catch (err) {
                    throw new NodeError('CONFIG', `Objects: ${(err as Error).message}`);
                }
            }
            try {
                tree.addInstance(objectId, instanceId, values);
            } catch (err) {
                throw new NodeError('CONFIG', `Objects: /${o}/${i}: ${(err as Error).message}`);
            }
        }
    }
}

/** Sets one value a flow gives (`msg.topic` path, `msg.payload` value), typed by its definition. */
function setValue(tree: ObjectTree, path: string, value: unknown): boolean {
    let p: ReturnType<typeof parsePath>;
    try {
        p = parsePath(path);
    } catch (err) {
        throw new NodeError('BAD_INPUT', (err as Error).message);
    }
    if (p.resourceId === undefined)
        throw new NodeError('BAD_INPUT', `${path} names no resource (/object/instance/resource)`);
    const def = tree.resourceDefinition(p.objectId as number, p.resourceId);
    if (!def) throw new NodeError('BAD_INPUT', `${path}: object ${p.objectId} has no resource ${p.resourceId}`);
    if (!tree.instances(p.objectId as number).includes(p.instanceId as number))
        throw new NodeError('BAD_INPUT', `${path}: instance /${p.objectId}/${p.instanceId} does not exist`);
    try {
        const typed = Array.isArray(value)
            ? value.map((x) => fromPlain(def.type, x, path))
            : fromPlain(def.type, value, path);
        return tree.set(p, typed);
    } catch (err) {
        throw new NodeError('BAD_INPUT', (err as Error).message);
    }
}

export = (RED: NodeAPI): void => {
    function Lwm2mDeviceNode(this: Node, config: Lwm2mDeviceConfig): void {
        RED.nodes.createNode(this, config);
        let device: Lwm2mDevice | undefined;
        let starting: Promise<Lwm2mDevice>;
        try {
            const endpoint = config.endpoint?.trim();
            if (!endpoint || !/^[\x21-\x7e]{1,128}$/.test(endpoint))
                throw new NodeError('CONFIG', 'Endpoint name: 1 to 128 printable characters without spaces');
            const bootstrap = config.mode === 'bootstrap';
            const uri = (bootstrap ? config.bootstrapUri : config.serverUri)?.trim() ?? '';
            if (!/^coap:\/\/[^\s/]+\/?$/.test(uri))
                throw new NodeError(
                    'CONFIG',
                    `${bootstrap ? 'Bootstrap server' : 'Server'} URI: coap://host:port (got "${uri}")`,
                );
            const lifetime = numberField(config.lifetime, 300, 10, 86400 * 30, 'Lifetime', true);
            const { definitions } = definitionsFrom(config);
            const port = portField(config.port, 0, 'Local UDP port', true);
            const objects = config.objects;
            starting = Lwm2mDevice.start(
                {
                    endpoint,
                    port,
                    definitions,
                    queueMode: config.queueMode === true,
                    ...(bootstrap ? { bootstrap: { uri } } : { server: { uri, lifetime } }),
                },
                (tree) => fillTree(tree, objects),
            );
        } catch (err) {
            configFailed(this, err, RED._('lwm2m-device.status.config-error'));
            return;
        }
        const show = (state: DeviceState) => {
            const fill = state === 'registered' ? 'green' : state === 'stopped' ? 'grey' : 'yellow';
            this.status({
                fill,
                shape: state === 'registered' ? 'dot' : 'ring',
                text: RED._(`lwm2m-device.status.${state}`),
            });
        };
        show('idle');
        starting.then(
            (d) => {
                device = d;
                d.on('state', show);
                show(d.state);
                d.on('write', (w: WriteEvent) =>
                    this.send({
                        topic: w.path,
                        payload: w.value,
                        lwm2m: {
                            event: w.mode === 'delete' ? 'delete' : w.mode === 'create' ? 'create' : 'write',
                            mode: w.mode,
                            by: w.by,
                        },
                    } as NodeMessage),
                );
                d.on('execute', (e: ExecuteEvent) =>
                    this.send({ topic: e.path, payload: e.args, lwm2m: { event: 'execute' } } as NodeMessage),
                );
                d.on('registered', (e: { location: string; server: string }) =>
                    this.log(`registered at ${e.server} as ${e.location}`),
                );
                d.on('registration-failed', (e: { reason: string }) => this.warn(`registration: ${e.reason}`));
                d.on('bootstrap-failed', (e: { reason: string }) => this.warn(`bootstrap: ${e.reason}`));
                d.on('retry', (e: { inMs: number }) =>
                    this.status({
                        fill: 'red',
                        shape: 'ring',
                        text: RED._('lwm2m-device.status.retry', { secs: Math.ceil(e.inMs / 1000) }),
                    }),
                );
                d.on('warning', (w: Error) => this.debug(w.message));
            },
            (err: unknown) => {
                const e = withCode(err);
                this.status({ fill: 'red', shape: 'dot', text: RED._('lwm2m-device.status.config-error') });
                this.error(e.message);
            },
        );

        this.on('input', (msg: Msg, _send, done) => {
            const run = async () => {
                const d = device ?? (await starting);
                const changed: string[] = [];
                if (typeof msg.topic === 'string' && msg.topic.startsWith('/') && msg.payload !== undefined) {
                    if (setValue(d.tree, msg.topic, msg.payload)) changed.push(msg.topic);
                } else if (msg.payload !== null && typeof msg.payload === 'object' && !Array.isArray(msg.payload)) {
                    const entries = Object.entries(msg.payload as Record<string, unknown>);
                    if (!entries.every(([k]) => k.startsWith('/')))
                        throw new NodeError('BAD_INPUT', 'msg.payload keys are resource paths such as /3316/0/5700');
                    for (const [k, v] of entries) if (setValue(d.tree, k, v)) changed.push(k);
                } else if (msg.send === undefined) {
                    throw new NodeError(
                        'BAD_INPUT',
                        'Give msg.topic = a resource path and msg.payload = its value, or msg.payload = { path: value }',
                    );
                }
                if (msg.send !== undefined && msg.send !== false) {
                    const paths =
                        msg.send === true
                            ? changed
                            : Array.isArray(msg.send) && msg.send.every((x) => typeof x === 'string')
                              ? (msg.send as string[])
                              : null;
                    if (paths === null) throw new NodeError('BAD_INPUT', 'msg.send is true or a list of paths');
                    if (paths.length > 0) {
                        const code = await d.send(paths);
                        if (code !== '2.04')
                            throw new NodeError(`LWM2M_${code.replace('.', '_')}`, `Send answered ${code}`);
                    }
                }
            };
            run().then(
                () => done(),
                (err: unknown) => done(withCode(err)),
            );
        });
        this.on('close', (_removed: boolean, done: () => void) => {
            starting
                .then((d) => d.stop())
                .catch(() => undefined)
                .finally(() => done());
        });
    }
    RED.nodes.registerType('lwm2m-device', Lwm2mDeviceNode as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
