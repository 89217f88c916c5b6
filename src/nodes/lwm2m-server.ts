import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { Lwm2mServer, type ObjectDefinition } from '../protocols/lwm2m';
import { NodeError, withCode } from '../shared/errors';
import { type DefinitionFields, definitionsFrom, endpointList, portField } from '../shared/lwm2m-config';
import type { ServerConfigNode } from '../shared/lwm2m-user';
import { numberField } from '../shared/xmpp-config';

interface Lwm2mServerConfig extends NodeDef, DefinitionFields {
    port?: string | number;
    address?: string;
    allow?: string;
    lifetimeMin?: string | number;
    lifetimeMax?: string | number;
    maxRegistrations?: string | number;
    rate?: string | number;
    awake?: string | number;
    queue?: string | number;
    timeout?: string | number;
    keepObservations?: boolean;
}

type Lwm2mServerNode = ServerConfigNode & { lwm2mDefinitions: ReadonlyMap<number, ObjectDefinition> };

function isLwm2mServerNode(n: unknown): n is Lwm2mServerNode {
    return typeof (n as Lwm2mServerNode | null)?.lwm2mServer === 'function';
}

const FORWARDED = [
    'registered',
    'updated',
    'deregistered',
    'expired',
    'notification',
    'send',
    'refused',
    'queued',
    'observe-failed',
    'observation-ended',
] as const;

export = (RED: NodeAPI): void => {
    function Lwm2mServerConfigNode(this: Lwm2mServerNode, config: Lwm2mServerConfig): void {
        RED.nodes.createNode(this, config);
        this.lwm2mEvents = new EventEmitter();
        this.lwm2mEvents.setMaxListeners(0);
        let started: Promise<Lwm2mServer>;
        try {
            const { definitions, files } = definitionsFrom(config);
            this.lwm2mDefinitions = definitions;
            if (files.length > 0) this.log(`LwM2M object definitions loaded from ${files.length} DDF file(s)`);
            const allow = endpointList(config.allow);
            const lifetimeMin = numberField(config.lifetimeMin, 10, 1, 86400 * 365, 'Shortest lifetime', true);
            const lifetimeMax = numberField(
                config.lifetimeMax,
                30 * 86400,
                lifetimeMin,
                86400 * 365,
                'Longest lifetime',
                true,
            );
            const userDir = (RED.settings as { userDir?: string }).userDir;
            const options = {
                port: portField(config.port, 5683, 'UDP port', true),
                address: config.address?.trim() || '0.0.0.0',
                allow:
                    allow.length === 0
                        ? undefined
                        : (ep: string) =>
                              allow.some((p) => (p.endsWith('*') ? ep.startsWith(p.slice(0, -1)) : p === ep)),
                lifetime: { min: lifetimeMin, max: lifetimeMax },
                maxRegistrations: numberField(config.maxRegistrations, 10_000, 1, 1_000_000, 'Registrations', true),
                registerRatePerAddress: numberField(
                    config.rate,
                    20,
                    0,
                    100_000,
                    'Registrations per second per address',
                ),
                awakeMs: numberField(config.awake, 93, 1, 86400, 'Queue-mode awake time') * 1000,
                maxQueued: numberField(config.queue, 32, 1, 10_000, 'Queued requests', true),
                requestTimeoutMs: numberField(config.timeout, 10, 1, 600, 'Timeout') * 1000,
                definitions,
                ...(config.keepObservations !== false && userDir
                    ? {
                          observationsFile: path.join(
                              userDir,
                              `derlink-lwm2m-observations-${this.id.replace(/[^\w.-]/g, '_')}.json`,
                          ),
                      }
                    : {}),
            };
            started = Lwm2mServer.open(options).then((server) => {
                for (const name of FORWARDED)
                    server.on(name, (...args: unknown[]) => this.lwm2mEvents.emit(name, ...args));
                server.on('warning', (w: Error) => this.debug(`LwM2M server: ${w.message}`));
                this.log(`LwM2M server listening on udp ${options.address}:${server.port}`);
                return server;
            });
        } catch (err) {
            this.lwm2mDefinitions = new Map();
            this.lwm2mProblem = withCode(err).message;
            started = Promise.reject(new NodeError('CONFIG', this.lwm2mProblem));
        }
        started.catch((err: Error) => {
            this.lwm2mProblem = err.message;
            this.error(`LwM2M server cannot run: ${err.message}`);
        });
        this.lwm2mServer = () => started;
        this.on('close', (_removed: boolean, done: () => void) => {
            started
                .then((s) => s.close())
                .catch(() => undefined)
                .finally(() => {
                    this.lwm2mEvents.removeAllListeners();
                    done();
                });
        });
    }
    RED.nodes.registerType(
        'lwm2m-server',
        Lwm2mServerConfigNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    );

    const running = (id: string): Lwm2mServerNode | undefined => {
        const n = RED.nodes.getNode(id);
        return isLwm2mServerNode(n) ? n : undefined;
    };

    // Editor helper: the live registration table, for the endpoint picker.
    RED.httpAdmin.get(
        '/derlink/lwm2m-server/:id/registrations',
        RED.auth.needsPermission('lwm2m-server.read'),
        (req, res) => {
            const node = running(String(req.params.id));
            if (!node) {
                res.status(404).json({ error: RED._('lwm2m-server.errors.not-running') });
                return;
            }
            node.lwm2mServer().then(
                (server) => res.json({ registrations: server.registrations(), observations: server.observations() }),
                (err: Error) => res.status(503).json({ error: err.message }),
            );
        },
    );

    // Editor helper: object names, resources and operations, for the object/instance/resource tree.
    RED.httpAdmin.get(
        '/derlink/lwm2m-server/:id/objects',
        RED.auth.needsPermission('lwm2m-server.read'),
        (req, res) => {
            const node = running(String(req.params.id));
            if (!node) {
                res.status(404).json({ error: RED._('lwm2m-server.errors.not-running') });
                return;
            }
            const objects = [...node.lwm2mDefinitions.values()].map((d) => ({
                id: d.id,
                name: d.name,
                multiple: d.multiple,
                resources: d.resources.map((r) => ({
                    id: r.id,
                    name: r.name,
                    operations: r.operations,
                    type: r.type,
                    multiple: r.multiple,
                    ...(r.units ? { units: r.units } : {}),
                })),
            }));
            res.json({ objects });
        },
    );
};
