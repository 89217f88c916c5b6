import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    formatPath,
    type Lwm2mResult,
    type NotificationEvent,
    type RegistrationInfo,
    type SendEvent,
} from '../protocols/lwm2m';
import { configFailed } from '../shared/account-user';
import { NodeError } from '../shared/errors';
import { endpointList, endpointMatches, pathList } from '../shared/lwm2m-config';
import { useLwm2mServer } from '../shared/lwm2m-user';

interface Lwm2mEventsConfig extends NodeDef {
    server: string;
    endpoints?: string;
    registrations?: boolean;
    notifications?: boolean;
    sends?: boolean;
    observe?: string;
    format?: string;
}

const FORMATS: Readonly<Record<string, number | undefined>> = {
    auto: undefined,
    tlv: 11542,
    'senml-json': 110,
    'senml-cbor': 112,
    text: 0,
};

export = (RED: NodeAPI): void => {
    function Lwm2mEvents(this: Node, config: Lwm2mEventsConfig): void {
        RED.nodes.createNode(this, config);
        let patterns: string[];
        let observe: string[];
        let format: number | undefined;
        try {
            patterns = endpointList(config.endpoints);
            observe = pathList(config.observe);
            if (config.format && !Object.hasOwn(FORMATS, config.format))
                throw new NodeError('CONFIG', `Format "${config.format}" is unknown`);
            format = FORMATS[config.format ?? 'auto'];
        } catch (err) {
            configFailed(this, err, RED._('lwm2m-events.status.config-error'));
            return;
        }
        const server = useLwm2mServer(RED, this, config.server);
        if (!server) return;
        const events = server.lwm2mEvents;
        const wants = (ep: string) => endpointMatches(patterns, ep);
        const registrations = config.registrations !== false;
        const notifications = config.notifications !== false;
        const sends = config.sends !== false;
        let count = 0;

        const showCount = () => {
            server.lwm2mServer().then(
                (s) => {
                    count = s.endpoints().filter(wants).length;
                    this.status({
                        fill: 'green',
                        shape: 'dot',
                        text: RED._('lwm2m-events.status.registered', { count }),
                    });
                },
                () => undefined,
            );
        };
        showCount();

        const registration = (event: string) => (info: RegistrationInfo, extra?: Record<string, unknown>) => {
            if (!wants(info.endpoint)) return;
            showCount();
            if (registrations)
                this.send({
                    topic: info.endpoint,
                    payload: info,
                    lwm2m: { event, endpoint: info.endpoint, ...(extra ?? {}) },
                } as NodeMessage);
        };

        /** On each registration of a matching endpoint: observe the configured paths (the server keeps them). */
        const observeAll = (info: RegistrationInfo) => {
            if (!wants(info.endpoint) || observe.length === 0) return;
            void server.lwm2mServer().then(async (s) => {
                const known = s.observations()[info.endpoint] ?? [];
                for (const p of observe) {
                    if (known.includes(p)) continue;
                    try {
                        const r = await s.observe(info.endpoint, p, format === undefined ? {} : { format });
                        if (!r.ok)
                            this.warn(
                                `Observe ${p} on ${info.endpoint} answered ${r.code}${r.message ? `: ${r.message}` : ''}`,
                            );
                        else if (notifications) emitValue('notification', r);
                    } catch (err) {
                        this.warn(`Observe ${p} on ${info.endpoint}: ${(err as Error).message}`);
                    }
                }
            });
        };

        const emitValue = (event: string, r: Lwm2mResult | NotificationEvent) => {
            this.send({
                topic: r.endpoint,
                payload: r.value,
                path: r.path,
                lwm2m: {
                    event,
                    endpoint: r.endpoint,
                    path: r.path,
                    code: r.code,
                    ...(r.contentFormat === undefined ? {} : { contentFormat: r.contentFormat }),
                    ...('sequence' in r && r.sequence !== undefined ? { sequence: r.sequence } : {}),
                    receivedAt: new Date(r.receivedAt),
                },
            } as NodeMessage);
        };

        const handlers: Record<string, (...args: never[]) => void> = {
            registered: (info: RegistrationInfo, extra?: { replaced?: boolean }) => {
                registration('registered')(info, extra);
                observeAll(info);
            },
            updated: registration('updated'),
            deregistered: registration('deregistered'),
            expired: registration('expired'),
            notification: (n: NotificationEvent) => {
                if (!notifications || !wants(n.endpoint)) return;
                if (!n.ok) {
                    this.warn(`A notification of ${n.path} from ${n.endpoint} was refused: ${n.message ?? n.code}`);
                    return;
                }
                emitValue('notification', n);
            },
            send: (s: SendEvent) => {
                if (!sends || !wants(s.endpoint)) return;
                this.send({
                    topic: s.endpoint,
                    payload: s.values,
                    lwm2m: {
                        event: 'send',
                        endpoint: s.endpoint,
                        contentFormat: s.contentFormat,
                        receivedAt: new Date(s.receivedAt),
                        times: Object.fromEntries(
                            s.entries
                                .filter((e) => e.time !== undefined)
                                .map((e) => [formatPath(e.path), new Date((e.time as number) * 1000)]),
                        ),
                    },
                } as NodeMessage);
            },
            'observe-failed': (r: Lwm2mResult) => {
                if (wants(r.endpoint))
                    this.warn(`Observe ${r.path} on ${r.endpoint} did not come back: ${r.message ?? r.code}`);
            },
        };
        for (const [name, h] of Object.entries(handlers)) events.on(name, h as (...args: unknown[]) => void);
        // Endpoints already registered when the node starts get their observations too.
        server.lwm2mServer().then(
            (s) => {
                for (const info of s.registrations()) observeAll(info);
            },
            () => undefined,
        );
        this.on('close', () => {
            for (const [name, h] of Object.entries(handlers)) events.off(name, h as (...args: unknown[]) => void);
        });
    }
    RED.nodes.registerType('lwm2m-events', Lwm2mEvents as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
