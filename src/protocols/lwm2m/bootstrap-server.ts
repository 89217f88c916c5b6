import { EventEmitter } from 'node:events';
import { CoapEndpoint, CoapTimeoutError } from './coap/endpoint';
import type { CoapPeer, CoapReply, CoapRequest, OutgoingRequest } from './coap/types';
import { CONTENT_FORMATS, encodeContent, type ResourceEntry, typeLookup } from './content';
import { OBJECTS } from './objects';

/**
 * The LwM2M bootstrap server role, client-initiated bootstrap (Core 1.1 §6.1.3; design note
 * B.1.1): the client asks with `POST /bs?ep=…`, the server answers 2.04 and then, towards the
 * client, deletes the old Security (0) and Server (1) instances, writes the configured ones, and
 * ends with Bootstrap-Finish (`POST /bs`).
 */

/** Security modes of resource /0/x/2 (Core §E.1). */
export const SECURITY_MODES = Object.freeze({ psk: 0, rpk: 1, x509: 2, nosec: 3, est: 4 });
export type SecurityMode = keyof typeof SECURITY_MODES;

/** An instance of the Security object (0) to write. */
export interface SecurityInstance {
    instanceId: number;
    /** LwM2M Server URI, /0/x/0 (`coap://192.168.1.5:5683`). */
    uri: string;
    /** /0/x/1: true for the bootstrap server's own account. */
    bootstrapServer?: boolean;
    /** /0/x/2 (default nosec). */
    mode?: SecurityMode;
    /** /0/x/3: PSK identity (text) or certificate. */
    identity?: string | Uint8Array;
    /** /0/x/4: server public key or certificate. */
    serverKey?: Uint8Array;
    /** /0/x/5: PSK secret or private key. */
    secretKey?: Uint8Array;
    /** /0/x/10: Short Server ID of the server this account is for. */
    shortServerId?: number;
    /** /0/x/11: Client Hold Off Time, seconds. */
    holdOffTime?: number;
}

/** An instance of the LwM2M Server object (1) to write. */
export interface ServerInstance {
    instanceId: number;
    /** /1/x/0 Short Server ID. */
    shortServerId: number;
    /** /1/x/1 registration lifetime, seconds. */
    lifetime: number;
    /** /1/x/2, /1/x/3: default pmin and pmax, seconds. */
    defaultPmin?: number;
    defaultPmax?: number;
    /** /1/x/6 (default true). */
    notificationStoring?: boolean;
    /** /1/x/7 binding (`U`, or `UQ` for queue mode in 1.0 style). */
    binding?: string;
}

export interface BootstrapConfig {
    security: SecurityInstance[];
    servers: ServerInstance[];
    /** Delete the client's Security and Server instances first (default true). */
    deleteFirst?: boolean;
}

export interface Lwm2mBootstrapOptions {
    port?: number;
    address?: string;
    /** The configuration for an endpoint name; undefined refuses the client (4.03... Core: 4.00 Bad Request). */
    configFor: (endpoint: string, peer: CoapPeer) => BootstrapConfig | undefined;
    /** Time to wait for each of the client's answers (default 10 s). */
    requestTimeoutMs?: number;
    /** Bootstraps in progress at once (default 1,000). */
    maxSessions?: number;
}

export interface BootstrapEvent {
    endpoint: string;
    address: string;
    port: number;
    /** The steps taken: `delete /0`, `write /0/1`, `finish`... with their answers. */
    steps: Array<{ step: string; code: string }>;
    error?: string;
}

const ENDPOINT_NAME = /^[\x21-\x7e]{1,128}$/;
const typeOf = typeLookup(OBJECTS);

/** The resource values of a Security instance, typed per object 0 (Core §E.1). */
export function securityEntries(s: SecurityInstance): ResourceEntry[] {
    const at = (r: number, value: ResourceEntry['value']): ResourceEntry => ({
        path: { objectId: 0, instanceId: s.instanceId, resourceId: r },
        value,
    });
    const bytes = (v: string | Uint8Array | undefined) =>
        v === undefined ? new Uint8Array(0) : typeof v === 'string' ? new TextEncoder().encode(v) : v;
    const out = [
        at(0, s.uri),
        at(1, s.bootstrapServer === true),
        at(2, SECURITY_MODES[s.mode ?? 'nosec']),
        at(3, bytes(s.identity)),
        at(4, bytes(s.serverKey)),
        at(5, bytes(s.secretKey)),
    ];
    if (s.shortServerId !== undefined) out.push(at(10, s.shortServerId));
    if (s.holdOffTime !== undefined) out.push(at(11, s.holdOffTime));
    return out;
}

/** The resource values of a Server instance (Core §E.2). */
export function serverEntries(s: ServerInstance): ResourceEntry[] {
    const at = (r: number, value: ResourceEntry['value']): ResourceEntry => ({
        path: { objectId: 1, instanceId: s.instanceId, resourceId: r },
        value,
    });
    const out = [at(0, s.shortServerId), at(1, s.lifetime)];
    if (s.defaultPmin !== undefined) out.push(at(2, s.defaultPmin));
    if (s.defaultPmax !== undefined) out.push(at(3, s.defaultPmax));
    out.push(at(6, s.notificationStoring ?? true), at(7, s.binding ?? 'U'));
    return out;
}

/** Checks a configuration before any client sees it; the message names what is wrong. */
export function checkBootstrapConfig(config: BootstrapConfig): void {
    const ids = new Set<number>();
    for (const s of config.security) {
        if (!Number.isInteger(s.instanceId) || s.instanceId < 0 || s.instanceId >= 0xffff || ids.has(s.instanceId))
            throw new Error(`security instance ${s.instanceId} is not a free ID of 0..65534`);
        ids.add(s.instanceId);
        if (!/^coaps?:\/\/[^\s/]+/.test(s.uri))
            throw new Error(`security instance ${s.instanceId}: '${s.uri}' is not a coap:// or coaps:// URI`);
        if (s.mode !== undefined && !(s.mode in SECURITY_MODES))
            throw new Error(`security mode '${s.mode}' is unknown`);
        if (!s.bootstrapServer && s.shortServerId === undefined)
            throw new Error(`security instance ${s.instanceId} names no Short Server ID`);
    }
    const sids = new Set<number>();
    for (const s of config.servers) {
        if (!Number.isInteger(s.shortServerId) || s.shortServerId < 1 || s.shortServerId > 65534)
            throw new Error(`server instance ${s.instanceId}: Short Server ID must be 1..65534`);
        if (sids.has(s.instanceId)) throw new Error(`server instance ${s.instanceId} is given twice`);
        sids.add(s.instanceId);
        if (!Number.isInteger(s.lifetime) || s.lifetime < 1)
            throw new Error(`server ${s.shortServerId}: lifetime must be ≥ 1 s`);
        if (!config.security.some((x) => !x.bootstrapServer && x.shortServerId === s.shortServerId))
            throw new Error(`server ${s.shortServerId} has no security instance with that Short Server ID`);
    }
}

export class Lwm2mBootstrapServer extends EventEmitter {
    readonly #options: Lwm2mBootstrapOptions;
    readonly #sessions = new Set<string>();
    #endpoint: CoapEndpoint | undefined;

    private constructor(options: Lwm2mBootstrapOptions) {
        super();
        this.#options = options;
    }

    static async open(options: Lwm2mBootstrapOptions): Promise<Lwm2mBootstrapServer> {
        const bs = new Lwm2mBootstrapServer(options);
        bs.#endpoint = await CoapEndpoint.open(
            {
                port: options.port ?? 5783,
                address: options.address,
                requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
            },
            (req) => bs.#handle(req),
        );
        return bs;
    }

    get port(): number {
        return this.#endpoint?.port ?? 0;
    }

    async close(): Promise<void> {
        await this.#endpoint?.close();
        this.#endpoint = undefined;
    }

    #handle(req: CoapRequest): CoapReply {
        if (req.path.length !== 1 || req.path[0] !== 'bs') return { code: '4.04' };
        if (req.method !== 'POST') return { code: '4.05' };
        const ep = req.query.find((q) => q.startsWith('ep='))?.slice(3);
        const text = (t: string): CoapReply => ({ code: '4.00', contentFormat: 0, payload: Buffer.from(t) });
        if (ep === undefined || !ENDPOINT_NAME.test(ep)) return text('ep (endpoint name) is missing or bad');
        const key = `${req.peer.address}:${req.peer.port}`;
        if (this.#sessions.has(key)) return { code: '2.04' }; // a retransmitted request: the session runs
        if (this.#sessions.size >= (this.#options.maxSessions ?? 1000)) return { code: '5.03' };
        let config: BootstrapConfig | undefined;
        try {
            config = this.#options.configFor(ep, req.peer);
            if (config) checkBootstrapConfig(config);
        } catch (err) {
            this.emit('failed', {
                endpoint: ep,
                address: req.peer.address,
                port: req.peer.port,
                steps: [],
                error: (err as Error).message,
            } satisfies BootstrapEvent);
            return text('no usable bootstrap configuration');
        }
        if (!config) {
            this.emit('refused', { endpoint: ep, address: req.peer.address, port: req.peer.port, steps: [] });
            return text('no bootstrap configuration for this endpoint');
        }
        const pct = Number(req.query.find((q) => q.startsWith('pct='))?.slice(4));
        const format =
            pct === CONTENT_FORMATS.senmlCbor || pct === CONTENT_FORMATS.senmlJson ? pct : CONTENT_FORMATS.tlv;
        this.#sessions.add(key);
        const peer = { ...req.peer };
        // The 2.04 goes out first; the server's requests follow.
        setImmediate(() => {
            void this.#run(ep, peer, config, format).finally(() => this.#sessions.delete(key));
        });
        return { code: '2.04' };
    }

    async #run(endpoint: string, peer: CoapPeer, config: BootstrapConfig, format: number): Promise<void> {
        const event: BootstrapEvent = { endpoint, address: peer.address, port: peer.port, steps: [] };
        const step = async (name: string, req: OutgoingRequest): Promise<void> => {
            const ep = this.#endpoint;
            if (!ep) throw new Error('the bootstrap server closed');
            let code: string;
            try {
                const res = await ep.request(peer, req);
                code = res.code;
                if (!code.startsWith('2.')) {
                    const why = res.payload.length > 0 ? `: ${res.payload.toString('utf8').slice(0, 200)}` : '';
                    event.steps.push({ step: name, code });
                    throw new Error(`${name} answered ${code}${why}`);
                }
            } catch (err) {
                if (err instanceof CoapTimeoutError) {
                    event.steps.push({ step: name, code: 'timeout' });
                    throw new Error(`${name}: the client did not answer`);
                }
                throw err;
            }
            event.steps.push({ step: name, code });
        };
        try {
            if (config.deleteFirst !== false) {
                await step('delete /0', { method: 'DELETE', path: '/0' });
                await step('delete /1', { method: 'DELETE', path: '/1' });
            }
            for (const s of config.security) {
                const path = { objectId: 0, instanceId: s.instanceId };
                const payload = encodeContent(format, path, securityEntries(s), typeOf);
                await step(`write /0/${s.instanceId}`, {
                    method: 'PUT',
                    path: `/0/${s.instanceId}`,
                    contentFormat: format,
                    payload,
                });
            }
            for (const s of config.servers) {
                const path = { objectId: 1, instanceId: s.instanceId };
                const payload = encodeContent(format, path, serverEntries(s), typeOf);
                await step(`write /1/${s.instanceId}`, {
                    method: 'PUT',
                    path: `/1/${s.instanceId}`,
                    contentFormat: format,
                    payload,
                });
            }
            await step('finish', { method: 'POST', path: '/bs' });
            this.emit('bootstrapped', event);
        } catch (err) {
            event.error = (err as Error).message;
            this.emit('failed', event);
        }
    }
}
