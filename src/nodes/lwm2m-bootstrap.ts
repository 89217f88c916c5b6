import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    type BootstrapConfig,
    type BootstrapEvent,
    checkBootstrapConfig,
    Lwm2mBootstrapServer,
} from '../protocols/lwm2m';
import { configFailed } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { endpointList, endpointMatches, portField } from '../shared/lwm2m-config';
import { numberField } from '../shared/xmpp-config';

interface Lwm2mBootstrapConfigNode extends NodeDef {
    port?: string | number;
    address?: string;
    endpoints?: string;
    serverUri?: string;
    shortServerId?: string | number;
    lifetime?: string | number;
    binding?: string;
    pmin?: string | number;
    pmax?: string | number;
    overrides?: string;
}

/** What one endpoint (or `prefix*` pattern) is given; fields left out take the node's defaults. */
interface Profile {
    serverUri: string;
    shortServerId: number;
    lifetime: number;
    binding: string;
    pmin?: number;
    pmax?: number;
}

const PROFILE_KEYS = ['serverUri', 'shortServerId', 'lifetime', 'binding', 'pmin', 'pmax'] as const;

function profileFrom(base: Profile, over: unknown, where: string): Profile {
    if (over === null || typeof over !== 'object' || Array.isArray(over))
        throw new NodeError('CONFIG', `Per-endpoint settings: ${where} needs an object`);
    const o = over as Record<string, unknown>;
    for (const k of Object.keys(o))
        if (!(PROFILE_KEYS as readonly string[]).includes(k))
            throw new NodeError(
                'CONFIG',
                `Per-endpoint settings: ${where}.${k} is unknown; use ${PROFILE_KEYS.join(', ')}`,
            );
    const p = { ...base };
    if (o.serverUri !== undefined) p.serverUri = String(o.serverUri);
    if (o.binding !== undefined) p.binding = String(o.binding);
    for (const k of ['shortServerId', 'lifetime', 'pmin', 'pmax'] as const) {
        if (o[k] === undefined) continue;
        if (!Number.isInteger(o[k]))
            throw new NodeError('CONFIG', `Per-endpoint settings: ${where}.${k} must be a whole number`);
        p[k] = o[k] as number;
    }
    return p;
}

/** The bootstrap configuration for a profile: one Security instance (NoSec) and one Server instance. */
function configOf(p: Profile): BootstrapConfig {
    const config: BootstrapConfig = {
        // The client keeps its own bootstrap account (instance 0); the DM server's account is written beside it.
        security: [{ instanceId: 1, uri: p.serverUri, mode: 'nosec', shortServerId: p.shortServerId }],
        servers: [
            {
                instanceId: 0,
                shortServerId: p.shortServerId,
                lifetime: p.lifetime,
                binding: p.binding,
                ...(p.pmin === undefined ? {} : { defaultPmin: p.pmin }),
                ...(p.pmax === undefined ? {} : { defaultPmax: p.pmax }),
            },
        ],
    };
    checkBootstrapConfig(config);
    if (!/^[UTSNQ]{1,5}$/.test(p.binding))
        throw new NodeError('CONFIG', `Binding "${p.binding}" is not made of U, T, S, N, Q`);
    return config;
}

export = (RED: NodeAPI): void => {
    function Lwm2mBootstrap(this: Node, config: Lwm2mBootstrapConfigNode): void {
        RED.nodes.createNode(this, config);
        let profiles: Array<{ pattern: string; config: BootstrapConfig }>;
        let fallback: BootstrapConfig;
        let patterns: string[];
        let port: number;
        try {
            const base: Profile = {
                serverUri: config.serverUri?.trim() ?? '',
                shortServerId: numberField(config.shortServerId, 1, 1, 65534, 'Short Server ID', true),
                lifetime: numberField(config.lifetime, 300, 10, 86400 * 30, 'Lifetime', true),
                binding: config.binding?.trim() || 'U',
            };
            if (config.pmin !== undefined && String(config.pmin).trim() !== '')
                base.pmin = numberField(config.pmin, 0, 0, 86400, 'Default pmin', true);
            if (config.pmax !== undefined && String(config.pmax).trim() !== '')
                base.pmax = numberField(config.pmax, 0, 0, 86400, 'Default pmax', true);
            fallback = configOf(base);
            let over: unknown = {};
            if (config.overrides?.trim()) {
                try {
                    over = JSON.parse(config.overrides);
                } catch (err) {
                    throw new NodeError('CONFIG', `Per-endpoint settings: not JSON: ${(err as Error).message}`);
                }
            }
            if (over === null || typeof over !== 'object' || Array.isArray(over))
                throw new NodeError('CONFIG', 'Per-endpoint settings: an object keyed by endpoint name or prefix*');
            profiles = Object.entries(over).map(([pattern, o]) => ({
                pattern,
                config: configOf(profileFrom(base, o, pattern)),
            }));
            patterns = endpointList(config.endpoints);
            port = portField(config.port, 5783, 'UDP port', true);
        } catch (err) {
            configFailed(this, err, RED._('lwm2m-bootstrap.status.config-error'));
            return;
        }
        const configFor = (ep: string): BootstrapConfig | undefined => {
            if (!endpointMatches(patterns, ep)) return undefined;
            return profiles.find((p) => endpointMatches([p.pattern], ep))?.config ?? fallback;
        };
        let count = 0;
        this.status({ fill: 'yellow', shape: 'ring', text: RED._('lwm2m-server.status.starting') });
        const started = Lwm2mBootstrapServer.open({ port, address: config.address?.trim() || '0.0.0.0', configFor });
        const report = (event: string) => (e: BootstrapEvent) => {
            if (event === 'bootstrapped') count++;
            this.status({ fill: 'green', shape: 'dot', text: RED._('lwm2m-bootstrap.status.done', { count }) });
            if (event !== 'bootstrapped')
                this.warn(`Bootstrap of ${e.endpoint} ${event}${e.error ? `: ${e.error}` : ''}`);
            this.send({ topic: e.endpoint, payload: event, lwm2m: { event, ...e } } as NodeMessage);
        };
        started.then(
            (bs) => {
                this.status({ fill: 'green', shape: 'dot', text: RED._('lwm2m-bootstrap.status.done', { count }) });
                this.log(`LwM2M bootstrap server listening on udp port ${bs.port}`);
                bs.on('bootstrapped', report('bootstrapped'));
                bs.on('failed', report('failed'));
                bs.on('refused', report('refused'));
            },
            (err: unknown) => {
                this.status({ fill: 'red', shape: 'dot', text: RED._('lwm2m-server.status.failed') });
                this.error(`LwM2M bootstrap server cannot run: ${withCode(err).message}`);
            },
        );
        this.on('close', (_removed: boolean, done: () => void) => {
            started
                .then((bs) => bs.close())
                .catch(() => undefined)
                .finally(() => done());
        });
    }
    RED.nodes.registerType(
        'lwm2m-bootstrap',
        Lwm2mBootstrap as unknown as Parameters<typeof RED.nodes.registerType>[1],
    );
};
