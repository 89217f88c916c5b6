import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { formatAttributeQuery } from './attributes';
import { CoapEndpoint, CoapTimeoutError } from './coap/endpoint';
import type {
    CoapMethod,
    CoapPeer,
    CoapReply,
    CoapRequest,
    CoapResponse,
    Observation,
    OutgoingRequest,
} from './coap/types';
import {
    CONTENT_FORMATS,
    contentFormatName,
    DECODABLE_FORMATS,
    decodeContent,
    encodeContent,
    entriesToTree,
    type PlainTree,
    type ResourceEntry,
    type TypeLookup,
    treeToEntries,
    typeLookup,
} from './content';
import type { ObjectDefinition } from './ddf';
import { Lwm2mError } from './errors';
import { type CoreLink, decodeLinkFormat } from './link-format';
import { OBJECTS } from './objects';
import { formatPath, type Lwm2mPath, parsePath } from './path';

/**
 * The LwM2M server role (OMA LwM2M Core/Transport 1.1; design note B.1.2–B.1.4): the
 * registration interface (`/rd`), device management and information reporting towards
 * registered clients, and Send (`/dp`). One CoAP socket serves clients' requests and carries the
 * server's requests to them, so clients behind NAT hear the address they registered with.
 */

export interface LifetimeBounds {
    /** Shortest lifetime accepted, seconds (default 10). */
    min: number;
    /** Longest lifetime accepted, seconds (default 30 days). */
    max: number;
}

export interface Lwm2mServerOptions {
    port?: number;
    address?: string;
    /** Endpoint names accepted; undefined or empty accepts every name. */
    allow?: readonly string[] | ((endpoint: string, peer: CoapPeer) => boolean);
    lifetime?: Partial<LifetimeBounds>;
    /** Registrations held at once (default 100,000); more are refused with 5.03. */
    maxRegistrations?: number;
    /** Registers from one address per second, with a burst of 5 times that (default 20). */
    registerRatePerAddress?: number;
    /** Requests held for one sleeping queue-mode client (default 32). */
    maxQueued?: number;
    /** How long a queued request waits for its client to wake (default 24 h). */
    queueMaxAgeMs?: number;
    /** How long a queue-mode client listens after its last message (default 93 s, CoAP MAX_TRANSMIT_WAIT). */
    awakeMs?: number;
    /** Time to wait for a client's answer (default 10 s). */
    requestTimeoutMs?: number;
    /** Object definitions to type values with; default the built-in OBJECTS. */
    definitions?: ReadonlyMap<number, ObjectDefinition>;
    /** A JSON file that keeps the wanted observations across restarts. */
    observationsFile?: string;
    /** The UDP receive buffer, bytes (default 2 MiB; Linux caps it at net.core.rmem_max). */
    receiveBufferBytes?: number;
}

/** A client's registration (Core §6.2.1). */
export interface Registration {
    /** Location: the registration is `/rd/{id}`. */
    readonly id: string;
    readonly endpoint: string;
    lifetime: number;
    version: string;
    binding: string;
    queueMode: boolean;
    sms?: string;
    peer: CoapPeer;
    /** The object links the client registered (`</3/0>,</3316/0>;ver=1.1…`), as sent. */
    links: string;
    registeredAt: number;
    updatedAt: number;
    /** When the client was last heard, for queue mode. */
    lastSeenAt: number;
    /** Content formats announced on `</>;ct=…`, read once per object list. */
    formats: number[];
}

/** A registration as events and the editor see it. */
export interface RegistrationInfo {
    id: string;
    endpoint: string;
    lifetime: number;
    version: string;
    binding: string;
    queueMode: boolean;
    address: string;
    port: number;
    registeredAt: string;
    updatedAt: string;
    expiresAt: string;
    /** `{ "3316": [0, 1], "3": [0] }`: the instances each object has. */
    objects: Record<string, number[]>;
    /** Object versions other than 1.0 (`{ "3316": "1.1" }`). */
    versions: Record<string, string>;
    /** Content formats the client announced on `</>` (`ct`). */
    formats: number[];
}

export type ServerErrorCode =
    | 'UNKNOWN_ENDPOINT'
    | 'TIMEOUT'
    | 'QUEUE_FULL'
    | 'QUEUE_EXPIRED'
    | 'DEREGISTERED'
    | 'BAD_REQUEST'
    | 'CLOSED';

/** A request the server could not make or complete. */
export class Lwm2mServerError extends Error {
    readonly code: ServerErrorCode;
    constructor(code: ServerErrorCode, message: string) {
        super(message);
        this.name = 'Lwm2mServerError';
        this.code = code;
    }
}

/** What a device-management request brought back. */
export interface Lwm2mResult {
    endpoint: string;
    operation: string;
    path: string;
    /** CoAP response code (`2.05`, `4.04`...). */
    code: string;
    ok: boolean;
    contentFormat?: number;
    /** Values as flows see them (Read, Observe, notifications). */
    value?: PlainTree;
    entries?: ResourceEntry[];
    /** Discover answers. */
    links?: CoreLink[];
    /** Location of a created instance. */
    location?: string;
    /** A diagnostic text the client sent with an error code. */
    message?: string;
    /** Milliseconds since 1970 when the answer came. */
    receivedAt: number;
    /** True when the request waited for a sleeping queue-mode client. */
    queued?: boolean;
}

export interface NotificationEvent extends Lwm2mResult {
    /** Observe sequence number. */
    sequence?: number;
}

export interface SendEvent {
    endpoint: string;
    registration: RegistrationInfo;
    entries: ResourceEntry[];
    /** `{ "/3316/0/5700": 12.5, ... }`. */
    values: Record<string, PlainTree>;
    contentFormat: number;
    receivedAt: number;
}

export interface RequestOptions {
    /** Content format to ask for (Accept), or to write in. */
    format?: number;
    timeoutMs?: number;
}

/**
 * The few paths one endpoint has observations on: a list of pairs, which costs a fraction of a Map
 * for one to a handful of entries (10,000 registrations hold two of these each).
 */
class PathMap<V> {
    readonly #pairs: Array<[string, V]> = [];

    get size(): number {
        return this.#pairs.length;
    }
    get(path: string): V | undefined {
        return this.#pairs.find((p) => p[0] === path)?.[1];
    }
    has(path: string): boolean {
        return this.#pairs.some((p) => p[0] === path);
    }
    set(path: string, value: V): void {
        const pair = this.#pairs.find((p) => p[0] === path);
        if (pair) pair[1] = value;
        else this.#pairs.push([path, value]);
    }
    delete(path: string): boolean {
        const i = this.#pairs.findIndex((p) => p[0] === path);
        if (i < 0) return false;
        this.#pairs.splice(i, 1);
        return true;
    }
    keys(): string[] {
        return this.#pairs.map((p) => p[0]);
    }
    values(): V[] {
        return this.#pairs.map((p) => p[1]);
    }
    /** A copy, so the caller may change the map while walking it. */
    entries(): Array<[string, V]> {
        return this.#pairs.map((p) => [p[0], p[1]]);
    }
}

/** What the server keeps of an observation in force. */
type Held = Pick<Observation, 'cancel' | 'forget'>;

interface Intent {
    accept?: number;
}

interface Pending {
    run: () => Promise<Lwm2mResult>;
    resolve: (r: Lwm2mResult) => void;
    reject: (e: Error) => void;
    expiresAt: number;
}

const LOCATION_ID = /^[A-Za-z0-9_-]{1,32}$/;
const ENDPOINT_NAME = /^[\x21-\x7e]{1,128}$/;

function reply(code: string, text?: string): CoapReply {
    return text === undefined ? { code } : { code, contentFormat: CONTENT_FORMATS.text, payload: Buffer.from(text) };
}

function peerKey(p: CoapPeer): string {
    return `${p.address}:${p.port}`;
}

/** The content formats a client announces on its root link (`</>;ct="60 110 112"`, or `ct=110`). */
function announcedFormats(links: string): number[] {
    if (!links.startsWith('</>')) return [];
    const end = links.indexOf(',<');
    let root: CoreLink | undefined;
    try {
        root = decodeLinkFormat(end < 0 ? links : links.slice(0, end))[0];
    } catch {
        return [];
    }
    const ct = root?.params.ct;
    return typeof ct === 'string'
        ? ct
              .split(/\s+/)
              .map(Number)
              .filter((n) => Number.isInteger(n) && n >= 0)
        : [];
}

function queryMap(query: readonly string[]): Map<string, string | true> {
    const m = new Map<string, string | true>();
    for (const q of query) {
        const eq = q.indexOf('=');
        m.set(eq < 0 ? q : q.slice(0, eq), eq < 0 ? true : q.slice(eq + 1));
    }
    return m;
}

export class Lwm2mServer extends EventEmitter {
    readonly #options: Required<
        Omit<
            Lwm2mServerOptions,
            'port' | 'address' | 'allow' | 'definitions' | 'observationsFile' | 'lifetime' | 'receiveBufferBytes'
        >
    > & { lifetime: LifetimeBounds };
    readonly #allow: Lwm2mServerOptions['allow'];
    readonly #byId = new Map<string, Registration>();
    readonly #byEndpoint = new Map<string, Registration>();
    /** Registrations by `address:port`, to know who sends to /dp. */
    readonly #byPeer = new Map<string, Registration>();
    readonly #queues = new Map<string, Pending[]>();
    /** Observations flows asked for, per endpoint and path: they come back after each registration. */
    readonly #intents = new Map<string, PathMap<Intent>>();
    /** Observations in force, per endpoint and path: only their cancel and forget (not the first answer). */
    readonly #active = new Map<string, PathMap<Held>>();
    readonly #rate = new Map<string, { tokens: number; at: number }>();
    readonly #typeOf: TypeLookup;
    readonly #file: string | undefined;
    #endpoint: CoapEndpoint | undefined;
    #sweep: NodeJS.Timeout | undefined;
    #saveTimer: NodeJS.Timeout | undefined;
    #closed = false;

    private constructor(options: Lwm2mServerOptions) {
        super();
        this.#options = {
            maxRegistrations: options.maxRegistrations ?? 100_000,
            registerRatePerAddress: options.registerRatePerAddress ?? 20,
            maxQueued: options.maxQueued ?? 32,
            queueMaxAgeMs: options.queueMaxAgeMs ?? 24 * 3600_000,
            awakeMs: options.awakeMs ?? 93_000,
            requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
            lifetime: { min: options.lifetime?.min ?? 10, max: options.lifetime?.max ?? 30 * 86400 },
        };
        this.#allow = options.allow;
        this.#typeOf = typeLookup(options.definitions ?? OBJECTS);
        this.#file = options.observationsFile;
        if (this.#file) this.#loadIntents(this.#file);
    }

    /** Starts a server listening on `options.port` (default 5683). */
    static async open(options: Lwm2mServerOptions = {}): Promise<Lwm2mServer> {
        const server = new Lwm2mServer(options);
        server.#endpoint = await CoapEndpoint.open(
            {
                port: options.port ?? 5683,
                address: options.address,
                requestTimeoutMs: server.#options.requestTimeoutMs,
                receiveBufferBytes: options.receiveBufferBytes ?? 2 * 1024 * 1024,
            },
            (req) => server.#handle(req),
        );
        server.#endpoint.on('warning', (w) => server.emit('warning', w));
        server.#sweep = setInterval(() => server.#expire(), 1000);
        server.#sweep.unref();
        return server;
    }

    get port(): number {
        return this.#endpoint?.port ?? 0;
    }

    /** Counters of the CoAP layer (malformed datagrams, refused uploads, handler errors). */
    get stats(): { registrations: number; queued: number; observations: number; malformed: number } {
        let queued = 0;
        for (const q of this.#queues.values()) queued += q.length;
        let observations = 0;
        for (const m of this.#active.values()) observations += m.size;
        return {
            registrations: this.#byId.size,
            queued,
            observations,
            malformed: this.#endpoint?.stats.malformed ?? 0,
        };
    }

    /** Every registration, in the order they were made. */
    registrations(): RegistrationInfo[] {
        return [...this.#byId.values()].map((r) => this.#info(r));
    }

    /** The registered endpoint names (cheaper than registrations() for counting and matching). */
    endpoints(): string[] {
        return [...this.#byEndpoint.keys()];
    }

    registration(endpoint: string): RegistrationInfo | undefined {
        const r = this.#byEndpoint.get(endpoint);
        return r ? this.#info(r) : undefined;
    }

    async close(): Promise<void> {
        if (this.#closed) return;
        this.#closed = true;
        clearInterval(this.#sweep);
        if (this.#saveTimer) {
            clearTimeout(this.#saveTimer);
            this.#saveIntents();
        }
        for (const [ep, q] of this.#queues) {
            for (const p of q) p.reject(new Lwm2mServerError('CLOSED', `the server closed before ${ep} woke`));
        }
        this.#queues.clear();
        for (const m of this.#active.values()) for (const o of m.values()) o.forget();
        this.#active.clear();
        await this.#endpoint?.close();
    }

    // ---- registration interface (Core §6.2; client → server) -----------------------------------

    async #handle(req: CoapRequest): Promise<CoapReply> {
        const [first, second, ...rest] = req.path;
        if (first === 'rd') {
            if (second === undefined) {
                if (req.method !== 'POST') return reply('4.05', 'Register is POST /rd');
                return this.#register(req);
            }
            if (rest.length > 0) return reply('4.04');
            if (req.method === 'POST') return this.#update(second, req);
            if (req.method === 'DELETE') return this.#deregister(second);
            return reply('4.05', 'Update is POST, De-register is DELETE /rd/{id}');
        }
        if (first === 'dp' && second === undefined) {
            if (req.method !== 'POST') return reply('4.05', 'Send is POST /dp');
            return this.#send(req);
        }
        return reply('4.04');
    }

    #allowed(endpoint: string, peer: CoapPeer): boolean {
        const a = this.#allow;
        if (a === undefined) return true;
        if (typeof a === 'function') return a(endpoint, peer);
        return a.length === 0 || a.includes(endpoint);
    }

    #rateOk(address: string): boolean {
        const rate = this.#options.registerRatePerAddress;
        if (rate <= 0) return true;
        const now = Date.now();
        const b = this.#rate.get(address) ?? { tokens: rate * 5, at: now };
        b.tokens = Math.min(rate * 5, b.tokens + ((now - b.at) / 1000) * rate);
        b.at = now;
        this.#rate.set(address, b);
        if (b.tokens < 1) return false;
        b.tokens -= 1;
        return true;
    }

    #lifetime(text: string | true | undefined, fallback: number): number | string {
        if (text === undefined) return fallback;
        if (text === true || !/^[0-9]{1,10}$/.test(text)) return 'lt must be a whole number of seconds';
        const lt = Number(text);
        const { min, max } = this.#options.lifetime;
        if (lt < min || lt > max) return `lt ${lt} is outside ${min}..${max} s`;
        return lt;
    }

    #links(req: CoapRequest): string | CoapReply {
        if (req.payload.length === 0) return '';
        if (req.contentFormat !== undefined && req.contentFormat !== CONTENT_FORMATS.linkFormat)
            return reply('4.15', 'the object list is application/link-format (40)');
        const text = req.payload.toString('utf8');
        try {
            decodeLinkFormat(text, { maxLinks: 4096, maxLength: 64 * 1024 });
        } catch (err) {
            return reply('4.00', (err as Error).message);
        }
        return text;
    }

    #register(req: CoapRequest): CoapReply {
        const q = queryMap(req.query);
        const ep = q.get('ep');
        if (typeof ep !== 'string' || !ENDPOINT_NAME.test(ep))
            return reply('4.00', 'ep (endpoint name) is missing or bad');
        if (!this.#allowed(ep, req.peer)) {
            this.emit('refused', {
                endpoint: ep,
                address: req.peer.address,
                port: req.peer.port,
                reason: 'not allowed',
            });
            return reply('4.03', 'endpoint not allowed');
        }
        if (!this.#rateOk(req.peer.address)) {
            this.emit('refused', { endpoint: ep, address: req.peer.address, port: req.peer.port, reason: 'rate' });
            return reply('5.03', 'too many registrations from this address');
        }
        const lt = this.#lifetime(q.get('lt'), 86400);
        if (typeof lt === 'string') return reply('4.00', lt);
        const version = q.get('lwm2m');
        if (version !== undefined && (version === true || !/^1\.[0-2]$/.test(version)))
            return reply('4.12', `LwM2M version ${String(version)} is not supported`);
        const links = this.#links(req);
        if (typeof links !== 'string') return links;
        const b = q.get('b');
        const binding = typeof b === 'string' ? b : 'U';
        if (!/^[UTSNQ]{1,5}$/.test(binding)) return reply('4.00', `binding '${binding}' is unknown`);
        const old = this.#byEndpoint.get(ep);
        if (!old && this.#byId.size >= this.#options.maxRegistrations) {
            this.emit('refused', { endpoint: ep, address: req.peer.address, port: req.peer.port, reason: 'full' });
            return reply('5.03', 'the server holds its maximum of registrations');
        }
        if (old) this.#drop(old, 'replaced');
        let id = randomBytes(6).toString('base64url');
        while (this.#byId.has(id)) id = randomBytes(6).toString('base64url');
        const now = Date.now();
        const reg: Registration = {
            id,
            endpoint: ep,
            lifetime: lt,
            version: typeof version === 'string' ? version : '1.0',
            binding: binding.replace('Q', ''),
            queueMode: binding.includes('Q') || q.get('Q') === true,
            peer: { address: req.peer.address, port: req.peer.port },
            links,
            registeredAt: now,
            updatedAt: now,
            lastSeenAt: now,
            formats: announcedFormats(links),
        };
        const sms = q.get('sms');
        if (typeof sms === 'string') reg.sms = sms;
        this.#byId.set(id, reg);
        this.#byEndpoint.set(ep, reg);
        this.#byPeer.set(peerKey(reg.peer), reg);
        setImmediate(() => {
            if (this.#byId.get(id) !== reg) return;
            this.emit('registered', this.#info(reg), { replaced: old !== undefined });
            this.#awake(reg);
        });
        return { code: '2.01', locationPath: ['rd', id] };
    }

    #update(id: string, req: CoapRequest): CoapReply {
        const reg = LOCATION_ID.test(id) ? this.#byId.get(id) : undefined;
        if (!reg) return reply('4.04', 'unknown registration; register again');
        const q = queryMap(req.query);
        const lt = this.#lifetime(q.get('lt'), reg.lifetime);
        if (typeof lt === 'string') return reply('4.00', lt);
        const links = this.#links(req);
        if (typeof links !== 'string') return links;
        const b = q.get('b');
        if (typeof b === 'string') {
            if (!/^[UTSNQ]{1,5}$/.test(b)) return reply('4.00', `binding '${b}' is unknown`);
            reg.binding = b.replace('Q', '');
            reg.queueMode = b.includes('Q');
        }
        if (q.get('Q') === true) reg.queueMode = true;
        const sms = q.get('sms');
        if (typeof sms === 'string') reg.sms = sms;
        const objectsChanged = links !== '' && links !== reg.links;
        if (links !== '') {
            reg.links = links;
            reg.formats = announcedFormats(links);
        }
        reg.lifetime = lt;
        const moved = reg.peer.address !== req.peer.address || reg.peer.port !== req.peer.port;
        if (moved) {
            if (this.#byPeer.get(peerKey(reg.peer)) === reg) this.#byPeer.delete(peerKey(reg.peer));
            reg.peer = { address: req.peer.address, port: req.peer.port };
            this.#byPeer.set(peerKey(reg.peer), reg);
        }
        reg.updatedAt = reg.lastSeenAt = Date.now();
        setImmediate(() => {
            if (this.#byId.get(id) !== reg) return;
            this.emit('updated', this.#info(reg), { objectsChanged, moved });
            this.#awake(reg);
        });
        return reply('2.04');
    }

    #deregister(id: string): CoapReply {
        const reg = LOCATION_ID.test(id) ? this.#byId.get(id) : undefined;
        if (!reg) return reply('4.04');
        this.#drop(reg, 'deregistered');
        return reply('2.02');
    }

    #send(req: CoapRequest): CoapReply {
        const reg = this.#byPeer.get(peerKey(req.peer));
        if (!reg) return reply('4.03', 'Send from a client that is not registered');
        const format = req.contentFormat ?? -1;
        if (format !== CONTENT_FORMATS.senmlJson && format !== CONTENT_FORMATS.senmlCbor)
            return reply('4.15', 'Send carries SenML JSON (110) or SenML CBOR (112)');
        let entries: ResourceEntry[];
        try {
            entries = decodeContent(format, {}, req.payload, this.#typeOf);
        } catch (err) {
            return reply('4.00', (err as Error).message);
        }
        reg.lastSeenAt = Date.now();
        const values: Record<string, PlainTree> = {};
        for (const e of entries) values[formatPath(e.path)] = entriesToTree(e.path, [e]);
        const event: SendEvent = {
            endpoint: reg.endpoint,
            registration: this.#info(reg),
            entries,
            values,
            contentFormat: format,
            receivedAt: Date.now(),
        };
        setImmediate(() => this.emit('send', event));
        return reply('2.04');
    }

    #drop(reg: Registration, why: 'deregistered' | 'expired' | 'replaced'): void {
        this.#byId.delete(reg.id);
        if (this.#byEndpoint.get(reg.endpoint) === reg) this.#byEndpoint.delete(reg.endpoint);
        if (this.#byPeer.get(peerKey(reg.peer)) === reg) this.#byPeer.delete(peerKey(reg.peer));
        const active = this.#active.get(reg.endpoint);
        if (active) {
            for (const o of active.values()) o.forget();
            this.#active.delete(reg.endpoint);
        }
        if (why !== 'replaced') {
            const q = this.#queues.get(reg.endpoint);
            this.#queues.delete(reg.endpoint);
            for (const p of q ?? [])
                p.reject(new Lwm2mServerError('DEREGISTERED', `${reg.endpoint} ${why} before the request went out`));
            const info = this.#info(reg);
            setImmediate(() => this.emit(why, info));
        }
    }

    #expire(): void {
        const now = Date.now();
        for (const reg of this.#byId.values())
            if (now > reg.updatedAt + reg.lifetime * 1000 + 2000) this.#drop(reg, 'expired');
        for (const [ep, q] of this.#queues) {
            const keep = q.filter((p) => p.expiresAt > now);
            for (const p of q)
                if (p.expiresAt <= now)
                    p.reject(new Lwm2mServerError('QUEUE_EXPIRED', `${ep} did not wake within the queue time`));
            if (keep.length === 0) this.#queues.delete(ep);
            else this.#queues.set(ep, keep);
        }
        for (const [address, b] of this.#rate) if (now - b.at > 60_000) this.#rate.delete(address);
    }

    /** The client is listening: flush its queue, then bring back its observations. */
    #awake(reg: Registration): void {
        const q = this.#queues.get(reg.endpoint);
        this.#queues.delete(reg.endpoint);
        const flush = async () => {
            for (const p of q ?? []) {
                try {
                    p.resolve({ ...(await p.run()), queued: true });
                } catch (err) {
                    p.reject(err as Error);
                }
            }
            await this.#restoreObservations(reg);
        };
        void flush();
    }

    async #restoreObservations(reg: Registration): Promise<void> {
        const wanted = this.#intents.get(reg.endpoint);
        if (!wanted) return;
        const active = this.#active.get(reg.endpoint);
        for (const [path, intent] of wanted.entries()) {
            if (active?.has(path)) continue;
            if (this.#byId.get(reg.id) !== reg) return;
            try {
                const r = await this.#observeNow(reg, path, intent);
                if (!r.ok) this.emit('observe-failed', r);
            } catch (err) {
                this.emit('observe-failed', {
                    endpoint: reg.endpoint,
                    operation: 'observe',
                    path,
                    code: '',
                    ok: false,
                    message: (err as Error).message,
                    receivedAt: Date.now(),
                } satisfies Lwm2mResult);
            }
        }
    }

    #info(reg: Registration): RegistrationInfo {
        const objects: Record<string, number[]> = {};
        const versions: Record<string, string> = {};

        if (reg.links !== '') {
            for (const link of decodeLinkFormat(reg.links, { maxLinks: 4096, maxLength: 64 * 1024 })) {
                const t = link.target.replace(/^\/+/, '');
                if (t === '') continue;
                const [o, i] = t.split('/');
                if (o === undefined || !/^\d+$/.test(o)) continue;
                const list = objects[o] ?? [];
                objects[o] = list;
                if (i !== undefined && /^\d+$/.test(i)) list.push(Number(i));
                if (typeof link.params.ver === 'string') versions[o] = link.params.ver;
            }
        }
        return {
            id: reg.id,
            endpoint: reg.endpoint,
            lifetime: reg.lifetime,
            version: reg.version,
            binding: reg.binding,
            queueMode: reg.queueMode,
            address: reg.peer.address,
            port: reg.peer.port,
            registeredAt: new Date(reg.registeredAt).toISOString(),
            updatedAt: new Date(reg.updatedAt).toISOString(),
            expiresAt: new Date(reg.updatedAt + reg.lifetime * 1000).toISOString(),
            objects,
            versions,
            formats: reg.formats,
        };
    }

    // ---- device management and information reporting (Core §6.3, §6.4; server → client) --------

    /** The content format to ask a client for: SenML CBOR from 1.1 clients that announce it, else TLV. */
    #accept(reg: Registration, asked?: number): number {
        if (asked !== undefined) return asked;
        const info = reg.formats;
        if (info.includes(CONTENT_FORMATS.senmlCbor)) return CONTENT_FORMATS.senmlCbor;
        if (info.includes(CONTENT_FORMATS.senmlJson)) return CONTENT_FORMATS.senmlJson;
        return reg.version === '1.0'
            ? CONTENT_FORMATS.tlv
            : info.length > 0
              ? (info[0] as number)
              : CONTENT_FORMATS.tlv;
    }

    #reg(endpoint: string): Registration {
        const reg = this.#byEndpoint.get(endpoint);
        if (!reg) throw new Lwm2mServerError('UNKNOWN_ENDPOINT', `no client '${endpoint}' is registered`);
        return reg;
    }

    /** Runs `run` now, or when the queue-mode client next wakes. */
    #whenAwake(reg: Registration, run: () => Promise<Lwm2mResult>): Promise<Lwm2mResult> {
        if (this.#closed) return Promise.reject(new Lwm2mServerError('CLOSED', 'the server is closed'));
        if (!reg.queueMode || Date.now() - reg.lastSeenAt < this.#options.awakeMs) return run();
        const q = this.#queues.get(reg.endpoint) ?? [];
        if (q.length >= this.#options.maxQueued)
            return Promise.reject(
                new Lwm2mServerError(
                    'QUEUE_FULL',
                    `${this.#options.maxQueued} requests already wait for ${reg.endpoint}`,
                ),
            );
        this.#queues.set(reg.endpoint, q);
        return new Promise((resolve, reject) => {
            q.push({ run, resolve, reject, expiresAt: Date.now() + this.#options.queueMaxAgeMs });
            this.emit('queued', { endpoint: reg.endpoint, waiting: q.length });
        });
    }

    async #exchange(
        reg: Registration,
        operation: string,
        path: string,
        req: OutgoingRequest,
        read: (res: CoapResponse, result: Lwm2mResult) => void,
    ): Promise<Lwm2mResult> {
        const endpoint = this.#endpoint;
        if (!endpoint) throw new Lwm2mServerError('CLOSED', 'the server is closed');
        let res: CoapResponse;
        try {
            res = await endpoint.request(reg.peer, req);
        } catch (err) {
            if (err instanceof CoapTimeoutError)
                throw new Lwm2mServerError('TIMEOUT', `${reg.endpoint} did not answer ${operation} ${path} in time`);
            throw err;
        }
        reg.lastSeenAt = Date.now();
        return this.#result(reg, operation, path, res, read);
    }

    #result(
        reg: Registration,
        operation: string,
        path: string,
        res: CoapResponse,
        read: (res: CoapResponse, result: Lwm2mResult) => void,
    ): Lwm2mResult {
        const result: Lwm2mResult = {
            endpoint: reg.endpoint,
            operation,
            path,
            code: res.code,
            ok: res.code.startsWith('2.'),
            receivedAt: Date.now(),
        };
        if (res.contentFormat !== undefined) result.contentFormat = res.contentFormat;
        if (!result.ok) {
            if (res.payload.length > 0) result.message = res.payload.toString('utf8').slice(0, 256);
            return result;
        }
        read(res, result);
        return result;
    }

    #values(p: Lwm2mPath, path: string) {
        return (res: CoapResponse, result: Lwm2mResult): void => {
            if (res.payload.length === 0) return;
            const format = res.contentFormat ?? CONTENT_FORMATS.text;
            if (!DECODABLE_FORMATS.includes(format)) {
                result.ok = false;
                result.message = `the client answered in ${contentFormatName(format)}, which this server does not read`;
                return;
            }
            try {
                const entries = decodeContent(format, p, res.payload, this.#typeOf);
                result.entries = entries;
                result.value = entriesToTree(p, entries);
            } catch (err) {
                result.ok = false;
                result.message = `${path}: the answer does not decode: ${(err as Error).message}`;
            }
        };
    }

    #path(path: string, least: number, most = 4): Lwm2mPath {
        let p: Lwm2mPath;
        try {
            p = parsePath(path);
        } catch (err) {
            throw new Lwm2mServerError('BAD_REQUEST', (err as Error).message);
        }
        const d = ['objectId', 'instanceId', 'resourceId', 'resourceInstanceId'].filter(
            (k) => p[k as keyof Lwm2mPath] !== undefined,
        ).length;
        if (d < least || d > most)
            throw new Lwm2mServerError(
                'BAD_REQUEST',
                `${path}: this operation needs a path of ${least} to ${most} levels`,
            );
        return p;
    }

    /** Read (Core §6.3.1): asks in `format` (Accept) and decodes whatever format the client answers in. */
    async read(endpoint: string, path: string, options: RequestOptions = {}): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p = this.#path(path, 1);
        const p2 = formatPath(p);
        return this.#whenAwake(reg, async () => {
            // A single resource is left to the client (text, or opaque) unless a format is asked for.
            const accept = options.format ?? (p.resourceId !== undefined ? undefined : this.#accept(reg));
            const req: OutgoingRequest = { method: 'GET', path: p2, timeoutMs: options.timeoutMs };
            if (accept !== undefined) req.accept = accept;
            const first = await this.#exchange(reg, 'read', p2, req, this.#values(p, p2));
            if (
                first.code !== '4.06' ||
                accept === undefined ||
                options.format !== undefined ||
                accept === CONTENT_FORMATS.tlv
            )
                return first;
            // The client cannot give what we asked for: ask again for TLV, which every 1.x client has.
            return this.#exchange(reg, 'read', p2, { ...req, accept: CONTENT_FORMATS.tlv }, this.#values(p, p2));
        });
    }

    /** Discover (Core §6.3.3): the links and attributes below a path. */
    async discover(endpoint: string, path: string, options: RequestOptions = {}): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p2 = formatPath(this.#path(path, 1, 3));
        return this.#whenAwake(reg, () =>
            this.#exchange(
                reg,
                'discover',
                p2,
                { method: 'GET', path: p2, accept: CONTENT_FORMATS.linkFormat, timeoutMs: options.timeoutMs },
                (res, result) => {
                    try {
                        result.links = decodeLinkFormat(res.payload.toString('utf8'));
                    } catch (err) {
                        result.ok = false;
                        result.message = `the Discover answer does not parse: ${(err as Error).message}`;
                    }
                },
            ),
        );
    }

    /**
     * Write (Core §6.3.3): `replace` (PUT) or `update` (POST, partial). `value` is what a flow
     * has (a value, or objects keyed by ID), typed by the object definitions.
     */
    async write(
        endpoint: string,
        path: string,
        value: unknown,
        options: RequestOptions & { mode?: 'replace' | 'update' } = {},
    ): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p = this.#path(path, 2);
        const p2 = formatPath(p);
        const mode = options.mode ?? 'replace';
        if (mode === 'update' && p.resourceInstanceId !== undefined)
            throw new Lwm2mServerError('BAD_REQUEST', 'a partial update names an instance or a resource');
        let entries: ResourceEntry[];
        try {
            entries = treeToEntries(p, value, this.#typeOf);
        } catch (err) {
            throw new Lwm2mServerError('BAD_REQUEST', (err as Error).message);
        }
        const single =
            entries.length === 1 &&
            p.resourceId !== undefined &&
            (entries[0] as ResourceEntry).path.resourceInstanceId === p.resourceInstanceId;
        const format = options.format ?? (single ? CONTENT_FORMATS.text : this.#accept(reg));
        let payload: Uint8Array;
        try {
            payload = encodeContent(format, p, entries, this.#typeOf);
        } catch (err) {
            throw new Lwm2mServerError('BAD_REQUEST', (err as Error).message);
        }
        const method: CoapMethod = mode === 'replace' ? 'PUT' : 'POST';
        return this.#whenAwake(reg, () =>
            this.#exchange(
                reg,
                'write',
                p2,
                { method, path: p2, contentFormat: format, payload, timeoutMs: options.timeoutMs },
                () => {},
            ),
        );
    }

    /** Execute (Core §6.3.5) with optional arguments (`0='on',1`). */
    async execute(endpoint: string, path: string, args = '', options: RequestOptions = {}): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p2 = formatPath(this.#path(path, 3, 3));
        if (args.length > 1024) throw new Lwm2mServerError('BAD_REQUEST', 'execute arguments over 1024 characters');
        const req: OutgoingRequest = { method: 'POST', path: p2, timeoutMs: options.timeoutMs };
        if (args !== '') {
            req.payload = Buffer.from(args);
            req.contentFormat = CONTENT_FORMATS.text;
        }
        return this.#whenAwake(reg, () => this.#exchange(reg, 'execute', p2, req, () => {}));
    }

    /** Create (Core §6.3.6): a new instance of `objectPath` (`/42772`) with `value` keyed by resource ID. */
    async create(
        endpoint: string,
        objectPath: string,
        value: unknown,
        options: RequestOptions & { instanceId?: number } = {},
    ): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p = this.#path(objectPath, 1, 1);
        const p2 = formatPath(p);
        const instanceId = options.instanceId ?? this.#freeInstance(reg, p.objectId as number);
        let entries: ResourceEntry[];
        let payload: Uint8Array;
        const format = options.format ?? this.#accept(reg);
        try {
            entries = treeToEntries({ ...p, instanceId }, value, this.#typeOf);
            payload = encodeContent(format, p, entries, this.#typeOf);
        } catch (err) {
            throw new Lwm2mServerError('BAD_REQUEST', (err as Error).message);
        }
        return this.#whenAwake(reg, () =>
            this.#exchange(
                reg,
                'create',
                p2,
                { method: 'POST', path: p2, contentFormat: format, payload, timeoutMs: options.timeoutMs },
                (res, result) => {
                    result.location =
                        res.locationPath.length > 0 ? `/${res.locationPath.join('/')}` : `${p2}/${instanceId}`;
                },
            ),
        );
    }

    #freeInstance(reg: Registration, objectId: number): number {
        const used = new Set(this.#info(reg).objects[String(objectId)] ?? []);
        let i = 0;
        while (used.has(i)) i++;
        return i;
    }

    /** Delete (Core §6.3.7) an object instance. */
    async delete(endpoint: string, path: string, options: RequestOptions = {}): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p2 = formatPath(this.#path(path, 2, 2));
        return this.#whenAwake(reg, () =>
            this.#exchange(reg, 'delete', p2, { method: 'DELETE', path: p2, timeoutMs: options.timeoutMs }, () => {}),
        );
    }

    /** Write-Attributes (Core §5.1.2, §6.3.4): `{ pmin: 10, gt: 13.2, st: null }` (null removes one). */
    async writeAttributes(
        endpoint: string,
        path: string,
        attributes: Record<string, number | null>,
        options: RequestOptions = {},
    ): Promise<Lwm2mResult> {
        const reg = this.#reg(endpoint);
        const p2 = formatPath(this.#path(path, 1, 3));
        let query: string[];
        try {
            query = formatAttributeQuery(attributes);
        } catch (err) {
            throw new Lwm2mServerError('BAD_REQUEST', (err as Error).message);
        }
        if (query.length === 0) throw new Lwm2mServerError('BAD_REQUEST', 'no attributes to write');
        return this.#whenAwake(reg, () =>
            this.#exchange(
                reg,
                'write-attributes',
                p2,
                { method: 'PUT', path: p2, query, timeoutMs: options.timeoutMs },
                () => {},
            ),
        );
    }

    /**
     * Observe (Core §6.4.1). The observation is remembered: it comes back by itself each time
     * the client registers again, and after a server restart when `observationsFile` is set.
     * Notifications arrive as 'notification' events.
     */
    async observe(endpoint: string, path: string, options: RequestOptions = {}): Promise<Lwm2mResult> {
        const p2 = formatPath(this.#path(path, 1));
        const intent: Intent = {};
        if (options.format !== undefined) intent.accept = options.format;
        let wanted = this.#intents.get(endpoint);
        if (!wanted) {
            wanted = new PathMap();
            this.#intents.set(endpoint, wanted);
        }
        wanted.set(p2, intent);
        this.#intentsChanged();
        const reg = this.#reg(endpoint);
        const active = this.#active.get(endpoint)?.get(p2);
        if (active) {
            this.#active.get(endpoint)?.delete(p2);
            active.forget();
        }
        return this.#whenAwake(reg, () => this.#observeNow(reg, p2, intent, options.timeoutMs));
    }

    async #observeNow(reg: Registration, path: string, intent: Intent, timeoutMs?: number): Promise<Lwm2mResult> {
        const endpoint = this.#endpoint;
        if (!endpoint) throw new Lwm2mServerError('CLOSED', 'the server is closed');
        const p = parsePath(path);
        const accept = this.#accept(reg, intent.accept);
        const read = this.#values(p, path);
        let observation: Observation | undefined;
        let held: Held | undefined;
        const notify = (res: CoapResponse): void => {
            if (this.#byId.get(reg.id) !== reg) return;
            reg.lastSeenAt = Date.now();
            const n: NotificationEvent = this.#result(reg, 'notify', path, res, read);
            if (res.observe !== undefined) n.sequence = res.observe;
            this.emit('notification', n);
        };
        const ended = (err?: Error): void => {
            const m = this.#active.get(reg.endpoint);
            // onEnd can come before observe() resolves (a first answer without Observe): nothing is active then.
            if (m !== undefined && held !== undefined && m.get(path) === held) {
                m.delete(path);
                if (m.size === 0) this.#active.delete(reg.endpoint);
                this.emit('observation-ended', { endpoint: reg.endpoint, path, reason: err?.message ?? 'ended' });
            }
        };
        try {
            observation = await endpoint.observe(
                reg.peer,
                { method: 'GET', path, accept, timeoutMs: timeoutMs ?? this.#options.requestTimeoutMs },
                notify,
                ended,
            );
        } catch (err) {
            if (err instanceof CoapTimeoutError)
                throw new Lwm2mServerError('TIMEOUT', `${reg.endpoint} did not answer observe ${path} in time`);
            throw err;
        }
        reg.lastSeenAt = Date.now();
        const result = this.#result(reg, 'observe', path, observation.response, read);
        if (observation.response.observe !== undefined && result.ok && this.#byId.get(reg.id) === reg) {
            let m = this.#active.get(reg.endpoint);
            if (!m) {
                m = new PathMap();
                this.#active.set(reg.endpoint, m);
            }
            held = { cancel: observation.cancel, forget: observation.forget };
            m.set(path, held);
        } else if (result.ok) {
            result.ok = false;
            result.message = 'the client answered without Observe: it does not observe this path';
        }
        return result;
    }

    /** Cancel an observation (Core §6.4.2) and forget it, so it does not come back. */
    async cancelObservation(endpoint: string, path: string): Promise<boolean> {
        const p2 = formatPath(this.#path(path, 1));
        const wanted = this.#intents.get(endpoint);
        const had = wanted?.delete(p2) ?? false;
        if (wanted?.size === 0) this.#intents.delete(endpoint);
        if (had) this.#intentsChanged();
        const m = this.#active.get(endpoint);
        const o = m?.get(p2);
        if (!o) return had;
        m?.delete(p2);
        try {
            await o.cancel();
        } catch {
            o.forget();
        }
        return true;
    }

    /** The observations flows asked for, per endpoint (`{ charger-1: ['/3316/0/5700'] }`). */
    observations(): Record<string, string[]> {
        const out: Record<string, string[]> = {};
        for (const [ep, m] of this.#intents) out[ep] = [...m.keys()];
        return out;
    }

    #intentsChanged(): void {
        if (!this.#file || this.#saveTimer) return;
        this.#saveTimer = setTimeout(() => {
            this.#saveTimer = undefined;
            this.#saveIntents();
        }, 200);
        this.#saveTimer.unref();
    }

    #saveIntents(): void {
        if (!this.#file) return;
        const data: Record<string, Record<string, Intent>> = {};
        for (const [ep, m] of this.#intents) data[ep] = Object.fromEntries(m.entries());
        try {
            writeFileSync(`${this.#file}.tmp`, JSON.stringify(data));
            renameSync(`${this.#file}.tmp`, this.#file);
        } catch (err) {
            this.emit('warning', new Error(`cannot keep observations in ${this.#file}: ${(err as Error).message}`));
        }
    }

    #loadIntents(file: string): void {
        let text: string;
        try {
            text = readFileSync(file, 'utf8');
        } catch {
            return; // first start
        }
        try {
            const data = JSON.parse(text) as Record<string, Record<string, Intent>>;
            for (const [ep, paths] of Object.entries(data)) {
                if (typeof paths !== 'object' || paths === null) continue;
                const m = new PathMap<Intent>();
                for (const [path, intent] of Object.entries(paths)) {
                    parsePath(path);
                    const i: Intent = {};
                    if (typeof intent?.accept === 'number') i.accept = intent.accept;
                    m.set(path, i);
                }
                this.#intents.set(ep, m);
            }
        } catch (err) {
            throw new Lwm2mError('malformed', `${file}: the kept observations do not parse: ${(err as Error).message}`);
        }
    }
}
