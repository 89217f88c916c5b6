import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { NotifyGate } from './attributes';
import { CoapEndpoint } from './coap/endpoint';
import type { CoapPeer, CoapReply, CoapRequest, ObserverHandle } from './coap/types';
import {
    CONTENT_FORMATS,
    contentFormatName,
    DECODABLE_FORMATS,
    decodeContent,
    ENCODABLE_FORMATS,
    encodeContent,
    entriesToTree,
    type ResourceEntry,
} from './content';
import type { ObjectDefinition } from './ddf';
import { type Caller, type DmResult, type ObjectTree, ObjectTree as Tree } from './device-tree';
import { encodeLinkFormat } from './link-format';
import { OBJECTS } from './objects';
import { formatPath, type Lwm2mPath, parsePath } from './path';
import type { ResourceValue } from './tlv';

/**
 * The LwM2M client role (OMA LwM2M Core 1.1 §6; design note B.1): a device that bootstraps
 * (client-initiated) or starts from a factory configuration, registers, keeps its registration
 * alive with Updates, answers device management from its object tree, notifies observers as
 * their attributes say, and Sends. Requests are only taken from the servers it knows: the
 * bootstrap server while bootstrapping, then the server it registered with.
 */

export interface Lwm2mDeviceOptions {
    /** Endpoint client name (`urn:dev:mac:…`, `charger-17`). */
    endpoint: string;
    /** Local UDP port (default 0: any free one). */
    port?: number;
    address?: string;
    /** Factory configuration: the server to register with. Ignored when `bootstrap` is given. */
    server?: { uri: string; shortServerId?: number; lifetime?: number; binding?: string };
    /** Client-initiated bootstrap from this server first. */
    bootstrap?: { uri: string };
    /** Object definitions (default the built-in OBJECTS); the tree is made from them. */
    definitions?: ReadonlyMap<number, ObjectDefinition>;
    /** Register in queue mode (`Q`). */
    queueMode?: boolean;
    /** Format for multi-value answers and notifications when the server does not ask (default SenML CBOR). */
    preferredFormat?: number;
    requestTimeoutMs?: number;
    /** Longest wait between registration attempts after failures (default 60 s). */
    maxRetryMs?: number;
}

export type DeviceState = 'idle' | 'bootstrapping' | 'registering' | 'registered' | 'stopped';

export interface WriteEvent {
    path: string;
    mode: 'replace' | 'update' | 'create' | 'delete';
    /** What was written, as a flow sees it. */
    value: unknown;
    entries: ResourceEntry[];
    by: 'server' | 'bootstrap';
}

export interface ExecuteEvent {
    path: string;
    /** Execute arguments (`0='on',1`), text. */
    args: string;
}

interface Watch {
    path: Lwm2mPath;
    pathText: string;
    format: number;
    observer: ObserverHandle;
    gate: NotifyGate;
    timer: NodeJS.Timeout | undefined;
    sending: boolean;
}

const ROOT_LINK = { target: '/', params: { rt: 'oma.lwm2m', ct: '60 110 112 11542' } };

function parseUri(uri: string): { host: string; port: number } {
    const m = /^coap:\/\/(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(uri);
    if (!m) throw new Error(`'${uri}' is not a coap:// URI (coaps needs DTLS, which this device does not have yet)`);
    return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 5683 };
}

async function resolve(uri: string): Promise<CoapPeer> {
    const { host, port } = parseUri(uri);
    const { address } = await lookup(host, { family: 4 }).catch(() => lookup(host));
    return { address, port };
}

export class Lwm2mDevice extends EventEmitter {
    readonly tree: ObjectTree;
    readonly endpointName: string;
    readonly #options: Lwm2mDeviceOptions;
    #endpoint: CoapEndpoint | undefined;
    #state: DeviceState = 'idle';
    #serverPeer: CoapPeer | undefined;
    #bootstrapPeer: CoapPeer | undefined;
    #location: string | undefined;
    #lifetime = 86400;
    #updateTimer: NodeJS.Timeout | undefined;
    #retryTimer: NodeJS.Timeout | undefined;
    #bootstrapTimer: NodeJS.Timeout | undefined;
    #failures = 0;
    #linksChanged = false;
    #updating: Promise<void> | undefined;
    readonly #watches = new Set<Watch>();
    #unsubscribe: Array<() => void> = [];

    private constructor(options: Lwm2mDeviceOptions) {
        super();
        this.#options = options;
        this.endpointName = options.endpoint;
        this.tree = new Tree(options.definitions ?? OBJECTS);
        if (options.bootstrap) {
            parseUri(options.bootstrap.uri);
            this.tree.addInstance(0, 0, {
                0: options.bootstrap.uri,
                1: true,
                2: 3,
                3: new Uint8Array(0),
                4: new Uint8Array(0),
                5: new Uint8Array(0),
            });
        } else if (options.server) {
            parseUri(options.server.uri);
            const ssid = options.server.shortServerId ?? 1;
            this.tree.addInstance(0, 0, {
                0: options.server.uri,
                1: false,
                2: 3,
                3: new Uint8Array(0),
                4: new Uint8Array(0),
                5: new Uint8Array(0),
                10: ssid,
            });
            this.tree.addInstance(1, 0, {
                0: ssid,
                1: options.server.lifetime ?? 300,
                6: true,
                7: options.server.binding ?? 'U',
            });
        } else throw new Error('a device needs a server or a bootstrap server');
        if (!this.tree.definition(3)) throw new Error('the object definitions lack Device (3)');
        this.#unsubscribe.push(
            this.tree.onChange((path) => this.#changed(path)),
            this.tree.onStructureChange(() => {
                this.#linksChanged = true;
                if (this.#state === 'registered') void this.update();
            }),
        );
    }

    /**
     * Opens the device's socket and starts bootstrap or registration in the background; fill the
     * tree (Device /3/0 at least) before calling this. 'registered' tells when the server has it.
     */
    static async start(options: Lwm2mDeviceOptions, fill?: (tree: ObjectTree) => void): Promise<Lwm2mDevice> {
        const device = new Lwm2mDevice(options);
        fill?.(device.tree);
        if (device.tree.instances(3).length === 0) device.tree.addInstance(3, 0, { 16: 'U' });
        device.#endpoint = await CoapEndpoint.open(
            { port: options.port ?? 0, address: options.address, requestTimeoutMs: options.requestTimeoutMs ?? 10_000 },
            (req, observer) => device.#handle(req, observer),
        );
        device.#endpoint.on('warning', (w) => device.emit('warning', w));
        void device.#begin();
        return device;
    }

    get state(): DeviceState {
        return this.#state;
    }

    get port(): number {
        return this.#endpoint?.port ?? 0;
    }

    /** `/rd/…` while registered. */
    get location(): string | undefined {
        return this.#location;
    }

    /** Sets a resource value from the application; observers are notified per their attributes. */
    set(path: string | Lwm2mPath, value: Parameters<ObjectTree['set']>[1]): boolean {
        return this.tree.set(path, value);
    }

    #setState(s: DeviceState): void {
        if (this.#state === s) return;
        this.#state = s;
        this.emit('state', s);
    }

    async #begin(): Promise<void> {
        if (this.#state === 'stopped') return;
        if (this.#options.bootstrap && this.#serverSecurity() === undefined) return this.#bootstrap();
        return this.#register();
    }

    #retry(why: string): void {
        if (this.#state === 'stopped') return;
        this.#failures++;
        const wait = Math.min(this.#options.maxRetryMs ?? 60_000, 1000 * 2 ** Math.min(this.#failures - 1, 10));
        this.emit('retry', { reason: why, inMs: wait });
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => void this.#begin(), wait);
    }

    // ---- bootstrap (Core §6.1.3) ---------------------------------------------------------------

    #bootstrapAccount(): number | undefined {
        return this.tree
            .instances(0)
            .find((i) => this.tree.get({ objectId: 0, instanceId: i, resourceId: 1 }) === true);
    }

    /** The Security instance of the server to register with: a non-bootstrap account that has a Server instance. */
    #serverSecurity(): { uri: string; ssid: number; serverInstance: number } | undefined {
        for (const i of this.tree.instances(0)) {
            if (this.tree.get({ objectId: 0, instanceId: i, resourceId: 1 }) === true) continue;
            const uri = this.tree.get({ objectId: 0, instanceId: i, resourceId: 0 });
            const ssid = this.tree.get({ objectId: 0, instanceId: i, resourceId: 10 });
            if (typeof uri !== 'string' || typeof ssid !== 'number') continue;
            const serverInstance = this.tree
                .instances(1)
                .find((s) => this.tree.get({ objectId: 1, instanceId: s, resourceId: 0 }) === ssid);
            if (serverInstance !== undefined) return { uri, ssid, serverInstance };
        }
        return undefined;
    }

    async #bootstrap(): Promise<void> {
        const endpoint = this.#endpoint;
        const account = this.#bootstrapAccount();
        if (!endpoint || account === undefined) return;
        this.#setState('bootstrapping');
        try {
            const uri = this.tree.get({ objectId: 0, instanceId: account, resourceId: 0 }) as string;
            this.#bootstrapPeer = await resolve(uri);
            const res = await endpoint.request(this.#bootstrapPeer, {
                method: 'POST',
                path: '/bs',
                query: [`ep=${this.endpointName}`, `pct=${CONTENT_FORMATS.senmlCbor}`],
            });
            if (res.code !== '2.04') {
                const why = res.payload.length > 0 ? `: ${res.payload.toString('utf8').slice(0, 200)}` : '';
                throw new Error(`Bootstrap-Request answered ${res.code}${why}`);
            }
            // The bootstrap server now writes; Bootstrap-Finish ends it. Give it a bound.
            clearTimeout(this.#bootstrapTimer);
            this.#bootstrapTimer = setTimeout(() => {
                if (this.#state !== 'bootstrapping') return;
                this.#bootstrapPeer = undefined;
                this.emit('bootstrap-failed', { reason: 'no Bootstrap-Finish within 60 s' });
                this.#retry('bootstrap timed out');
            }, 60_000);
        } catch (err) {
            this.#bootstrapPeer = undefined;
            this.emit('bootstrap-failed', { reason: (err as Error).message });
            this.#retry((err as Error).message);
        }
    }

    #finishBootstrap(): CoapReply {
        const target = this.#serverSecurity();
        if (!target)
            return {
                code: '4.06',
                contentFormat: CONTENT_FORMATS.text,
                payload: Buffer.from('no Security instance with a matching Server instance was written'),
            };
        clearTimeout(this.#bootstrapTimer);
        this.#bootstrapPeer = undefined;
        this.#failures = 0;
        setImmediate(() => {
            this.emit('bootstrapped', { server: target.uri, shortServerId: target.ssid });
            void this.#register();
        });
        return { code: '2.04' };
    }

    // ---- registration (Core §6.2) --------------------------------------------------------------

    #linkPayload(): Buffer {
        return Buffer.from(encodeLinkFormat([ROOT_LINK, ...this.tree.registrationLinks()]));
    }

    #binding(serverInstance: number): string {
        const b = this.tree.get({ objectId: 1, instanceId: serverInstance, resourceId: 7 });
        const text = typeof b === 'string' && /^[UTSNQ]{1,5}$/.test(b) ? b : 'U';
        return this.#options.queueMode && !text.includes('Q') ? `${text}Q` : text;
    }

    async #register(): Promise<void> {
        const endpoint = this.#endpoint;
        if (!endpoint || this.#state === 'stopped') return;
        const target = this.#serverSecurity();
        if (!target) return this.#retry('no server to register with');
        this.#setState('registering');
        clearTimeout(this.#updateTimer);
        try {
            this.#serverPeer = await resolve(target.uri);
            const lt = this.tree.get({ objectId: 1, instanceId: target.serverInstance, resourceId: 1 });
            this.#lifetime = typeof lt === 'number' && lt > 0 ? lt : 86400;
            const binding = this.#binding(target.serverInstance);
            const query = [
                `ep=${this.endpointName}`,
                `lt=${this.#lifetime}`,
                'lwm2m=1.1',
                `b=${binding.replace('Q', '')}`,
            ];
            if (binding.includes('Q')) query.push('Q');
            const res = await endpoint.request(this.#serverPeer, {
                method: 'POST',
                path: '/rd',
                query,
                contentFormat: CONTENT_FORMATS.linkFormat,
                payload: this.#linkPayload(),
            });
            if (res.code !== '2.01' || res.locationPath.length === 0) {
                const why = res.payload.length > 0 ? `: ${res.payload.toString('utf8').slice(0, 200)}` : '';
                throw new Error(`Register answered ${res.code}${why}`);
            }
            for (const w of this.#watches) w.observer.end();
            this.#watches.clear();
            this.#location = `/${res.locationPath.join('/')}`;
            this.#linksChanged = false;
            this.#failures = 0;
            this.#setState('registered');
            this.#scheduleUpdate();
            this.emit('registered', { location: this.#location, server: target.uri, lifetime: this.#lifetime });
        } catch (err) {
            this.#location = undefined;
            this.emit('registration-failed', { reason: (err as Error).message });
            this.#retry((err as Error).message);
        }
    }

    #scheduleUpdate(): void {
        clearTimeout(this.#updateTimer);
        if (this.#state === 'stopped') return;
        // Update well before the lifetime ends: at 90 %, and at least 2 s early.
        const inMs = Math.max(500, Math.min(this.#lifetime * 900, this.#lifetime * 1000 - 2000));
        this.#updateTimer = setTimeout(() => void this.update(), inMs);
    }

    /** Registration Update now (Core §6.2.2); sends the object list when it changed. Re-registers on 4.04. */
    update(): Promise<void> {
        if (this.#updating) return this.#updating;
        this.#updating = this.#update().finally(() => {
            this.#updating = undefined;
        });
        return this.#updating;
    }

    async #update(): Promise<void> {
        const endpoint = this.#endpoint;
        if (!endpoint || this.#state !== 'registered' || !this.#serverPeer || !this.#location) return;
        const withLinks = this.#linksChanged;
        this.#linksChanged = false;
        try {
            const res = await endpoint.request(this.#serverPeer, {
                method: 'POST',
                path: this.#location,
                ...(withLinks ? { contentFormat: CONTENT_FORMATS.linkFormat, payload: this.#linkPayload() } : {}),
            });
            if (res.code === '2.04') {
                this.#scheduleUpdate();
                this.emit('updated', { location: this.#location, objectsSent: withLinks });
                return;
            }
            if (withLinks) this.#linksChanged = true;
            this.emit('registration-failed', { reason: `Update answered ${res.code}; registering again` });
        } catch (err) {
            if (withLinks) this.#linksChanged = true;
            this.emit('registration-failed', { reason: `Update failed: ${(err as Error).message}; registering again` });
        }
        this.#location = undefined;
        this.#setState('registering');
        await this.#register();
    }

    /** De-registers (Core §6.2.3; unless `deregister` is false, as on a power loss) and closes the socket. */
    async stop(options: { deregister?: boolean } = {}): Promise<void> {
        if (this.#state === 'stopped') return;
        const wasRegistered = this.#state === 'registered' && options.deregister !== false;
        this.#setState('stopped');
        clearTimeout(this.#updateTimer);
        clearTimeout(this.#retryTimer);
        clearTimeout(this.#bootstrapTimer);
        for (const w of this.#watches) {
            clearTimeout(w.timer);
            w.observer.end();
        }
        this.#watches.clear();
        for (const u of this.#unsubscribe) u();
        if (wasRegistered && this.#endpoint && this.#serverPeer && this.#location) {
            try {
                await this.#endpoint.request(this.#serverPeer, {
                    method: 'DELETE',
                    path: this.#location,
                    timeoutMs: 2000,
                });
                this.emit('deregistered', { location: this.#location });
            } catch {
                // The server will expire the registration.
            }
        }
        this.#location = undefined;
        await this.#endpoint?.close();
        this.#endpoint = undefined;
    }

    // ---- Send (Core §6.4.4, 1.1) -----------------------------------------------------------------

    /** Sends the current values of `paths` to the server (`POST /dp`, SenML CBOR); resolves with the answer code. */
    async send(paths: readonly string[]): Promise<string> {
        const endpoint = this.#endpoint;
        if (!endpoint || this.#state !== 'registered' || !this.#serverPeer)
            throw new Error('the device is not registered');
        const target = this.#serverSecurity();
        if (target && this.tree.get({ objectId: 1, instanceId: target.serverInstance, resourceId: 23 }) === true)
            throw new Error('Send is muted by the server (/1/x/23)');
        const entries: ResourceEntry[] = [];
        for (const p of paths) {
            const r = this.tree.read(p, 'local');
            if (!r.ok) throw new Error(`${p}: ${r.message}`);
            entries.push(...r.value);
        }
        const now = Date.now() / 1000;
        const payload = encodeContent(
            CONTENT_FORMATS.senmlCbor,
            {},
            entries.map((e) => ({ ...e, time: e.time ?? Math.floor(now) })),
            this.tree.typeOf,
        );
        const res = await endpoint.request(this.#serverPeer, {
            method: 'POST',
            path: '/dp',
            contentFormat: CONTENT_FORMATS.senmlCbor,
            payload,
        });
        return res.code;
    }

    // ---- requests from the servers (Core §6.1.7, §6.3, §6.4) --------------------------------------

    #callerOf(peer: CoapPeer): Caller | undefined {
        const same = (p: CoapPeer | undefined) => p !== undefined && p.address === peer.address && p.port === peer.port;
        if (this.#state === 'bootstrapping' && same(this.#bootstrapPeer)) return 'bootstrap';
        if (this.#state === 'registered' && same(this.#serverPeer)) return 'server';
        return undefined;
    }

    #handle(req: CoapRequest, observer?: ObserverHandle): CoapReply {
        const caller = this.#callerOf(req.peer);
        if (!caller) return text('4.01', 'this device takes requests only from its own servers');
        if (caller === 'bootstrap' && req.method === 'POST' && req.path.length === 1 && req.path[0] === 'bs')
            return this.#finishBootstrap();
        let path: Lwm2mPath;
        try {
            path = parsePath(req.path.join('/'));
        } catch (err) {
            return text('4.00', (err as Error).message);
        }
        const depth = [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId].filter(
            (x) => x !== undefined,
        ).length;
        switch (req.method) {
            case 'GET':
                if (req.accept === CONTENT_FORMATS.linkFormat) return this.#discover(path, caller);
                return this.#read(req, path, caller, req.observe === 0 ? observer : undefined);
            case 'PUT':
                if (req.payload.length === 0 && req.query.length > 0 && caller === 'server') {
                    return done(this.tree.writeAttributes(path, req.query), '2.04');
                }
                return this.#write(req, path, 'replace', caller);
            case 'POST':
                if (depth === 1) return this.#create(req, path, caller);
                // Execute, or a POST without payload on a resource: Execute it (4.05 when it is not executable).
                if (
                    depth === 3 &&
                    (req.payload.length === 0 ||
                        this.tree.resourceDefinition(path.objectId as number, path.resourceId as number)?.operations ===
                            'E')
                )
                    return this.#execute(req, path, caller);
                return this.#write(req, path, 'update', caller);
            case 'DELETE': {
                const r = this.tree.delete(path, caller);
                if (r.ok)
                    setImmediate(() =>
                        this.emit('write', {
                            path: formatPath(path),
                            mode: 'delete',
                            value: null,
                            entries: [],
                            by: caller,
                        } as WriteEvent),
                    );
                return done(r, '2.02');
            }
            default:
                return text('4.05', `${req.method} is not an LwM2M operation this device takes`);
        }
    }

    #format(req: CoapRequest, path: Lwm2mPath, entries: readonly ResourceEntry[]): number | CoapReply {
        if (req.accept !== undefined) {
            if (!ENCODABLE_FORMATS.includes(req.accept))
                return text('4.06', `${contentFormatName(req.accept)} is not offered`);
            return req.accept;
        }
        const single = entries.length === 1 && path.resourceId !== undefined;
        if (single) return this.tree.typeOf(path) === 'opaque' ? CONTENT_FORMATS.opaque : CONTENT_FORMATS.text;
        return this.#options.preferredFormat ?? CONTENT_FORMATS.senmlCbor;
    }

    #encode(format: number, path: Lwm2mPath, entries: readonly ResourceEntry[]): CoapReply {
        try {
            return {
                code: '2.05',
                contentFormat: format,
                payload: encodeContent(format, path, entries, this.tree.typeOf),
            };
        } catch (err) {
            return text('4.06', (err as Error).message);
        }
    }

    #read(req: CoapRequest, path: Lwm2mPath, caller: Caller, observer?: ObserverHandle): CoapReply {
        if (caller === 'bootstrap' && path.objectId !== 1 && path.objectId !== 2)
            return text('4.01', 'Bootstrap-Read reads /1 and /2 only');
        const r = this.tree.read(path, caller);
        if (!r.ok) return text(r.code, r.message);
        const format = this.#format(req, path, r.value);
        if (typeof format !== 'number') return format;
        const reply = this.#encode(format, path, r.value);
        if (observer && reply.code === '2.05' && caller === 'server')
            this.#watch(path, format, observer, r.value, reply);
        return reply;
    }

    #discover(path: Lwm2mPath, caller: Caller): CoapReply {
        const r = this.tree.discover(path, caller);
        if (!r.ok) return text(r.code, r.message);
        const links = caller === 'bootstrap' && path.objectId === undefined ? r.value : r.value;
        return {
            code: '2.05',
            contentFormat: CONTENT_FORMATS.linkFormat,
            payload: Buffer.from(encodeLinkFormat(links)),
        };
    }

    #decode(req: CoapRequest, path: Lwm2mPath, defaultInstanceId?: number): ResourceEntry[] | CoapReply {
        const format = req.contentFormat;
        if (format === undefined) return text('4.00', 'a payload without Content-Format');
        if (!DECODABLE_FORMATS.includes(format)) return text('4.15', `${contentFormatName(format)} is not understood`);
        try {
            return decodeContent(
                format,
                path,
                req.payload,
                this.tree.typeOf,
                defaultInstanceId === undefined ? {} : { defaultInstanceId },
            );
        } catch (err) {
            const e = err as Error & { reason?: string };
            return text(e.reason === 'limit' ? '4.13' : '4.00', e.message);
        }
    }

    #write(req: CoapRequest, path: Lwm2mPath, mode: 'replace' | 'update', caller: Caller): CoapReply {
        const entries = this.#decode(req, path);
        if (!Array.isArray(entries)) return entries;
        const r = this.tree.write(path, entries, mode, caller);
        if (!r.ok) return text(r.code, r.message);
        const by = caller === 'bootstrap' ? 'bootstrap' : 'server';
        const event: WriteEvent = { path: formatPath(path), mode, value: entriesToTree(path, entries), entries, by };
        setImmediate(() => this.emit('write', event));
        return { code: '2.04' };
    }

    #create(req: CoapRequest, path: Lwm2mPath, caller: Caller): CoapReply {
        const objectId = path.objectId as number;
        const free = (() => {
            const used = new Set(this.tree.instances(objectId));
            let i = 0;
            while (used.has(i)) i++;
            return i;
        })();
        const entries = this.#decode(req, path, free);
        if (!Array.isArray(entries)) return entries;
        const given = entries[0]?.path.instanceId;
        const r = this.tree.create(objectId, entries, caller, given);
        if (!r.ok) return text(r.code, r.message);
        const at = { objectId, instanceId: r.value };
        const event: WriteEvent = {
            path: formatPath(at),
            mode: 'create',
            value: entriesToTree(at, entries),
            entries,
            by: caller === 'bootstrap' ? 'bootstrap' : 'server',
        };
        setImmediate(() => this.emit('write', event));
        return { code: '2.01', locationPath: [String(objectId), String(r.value)] };
    }

    #execute(req: CoapRequest, path: Lwm2mPath, caller: Caller): CoapReply {
        const r = this.tree.execute(path, caller);
        if (!r.ok) return text(r.code, r.message);
        const args = req.payload.toString('utf8');
        if (args.length > 0 && !/^(\d(='[^']*')?)(,\d(='[^']*')?)*$/.test(args))
            return text('4.00', "execute arguments are 0..9 with optional quoted values: 0='on',1");
        const p = formatPath(path);
        setImmediate(() => {
            if (path.objectId === 1 && path.resourceId === 8) void this.update();
            this.emit('execute', { path: p, args } satisfies ExecuteEvent);
        });
        return { code: '2.04' };
    }

    // ---- observe and notify (Core §6.4.1–6.4.3) ---------------------------------------------------

    #defaults(): { pmin?: number; pmax?: number } {
        const target = this.#serverSecurity();
        if (!target) return {};
        const get = (r: number) => this.tree.get({ objectId: 1, instanceId: target.serverInstance, resourceId: r });
        const out: { pmin?: number; pmax?: number } = {};
        const pmin = get(2);
        const pmax = get(3);
        if (typeof pmin === 'number') out.pmin = pmin;
        if (typeof pmax === 'number') out.pmax = pmax;
        return out;
    }

    #observed(path: Lwm2mPath, entries: readonly ResourceEntry[], payload: Uint8Array | undefined): ResourceValue {
        // A single resource is gated on its value (thresholds apply); anything larger on its encoding.
        if (path.resourceId !== undefined && entries.length === 1) return (entries[0] as ResourceEntry).value;
        return payload ?? new Uint8Array(0);
    }

    #watch(
        path: Lwm2mPath,
        format: number,
        observer: ObserverHandle,
        entries: readonly ResourceEntry[],
        first: CoapReply,
    ): void {
        const attrs = this.tree.attributes(path, this.#defaults());
        const w: Watch = {
            path,
            pathText: formatPath(path),
            format,
            observer,
            gate: new NotifyGate(attrs, Date.now(), this.#observed(path, entries, first.payload)),
            timer: undefined,
            sending: false,
        };
        this.#watches.add(w);
        observer.onClose(() => {
            clearTimeout(w.timer);
            this.#watches.delete(w);
            this.emit('observe-ended', { path: w.pathText });
        });
        this.#arm(w, w.gate.sent(w.gate.value, Date.now()).wakeAt);
        setImmediate(() => this.emit('observed', { path: w.pathText, format, attributes: attrs }));
    }

    #arm(w: Watch, at: number | undefined): void {
        clearTimeout(w.timer);
        w.timer = undefined;
        if (at === undefined) return;
        w.timer = setTimeout(() => this.#due(w), Math.max(0, at - Date.now()));
    }

    #snapshot(w: Watch): { value: ResourceValue; reply: CoapReply } | undefined {
        const r = this.tree.read(w.path, 'server');
        if (!r.ok) {
            w.observer.end(text(r.code, r.message));
            return undefined;
        }
        const reply = this.#encode(w.format, w.path, r.value);
        return { value: this.#observed(w.path, r.value, reply.payload), reply };
    }

    #changed(path: Lwm2mPath): void {
        if (this.#watches.size === 0) return;
        for (const w of this.#watches) {
            if (!covers(w.path, path)) continue;
            const snap = this.#snapshot(w);
            if (!snap) continue;
            const d = w.gate.change(snap.value, Date.now());
            if (d.send) void this.#notify(w, snap.value, snap.reply);
            else this.#arm(w, d.wakeAt);
        }
    }

    #due(w: Watch): void {
        if (!this.#watches.has(w)) return;
        const snap = this.#snapshot(w);
        if (!snap) return;
        w.gate.change(snap.value, Date.now());
        const d = w.gate.due(Date.now());
        if (d.send) void this.#notify(w, snap.value, snap.reply);
        else this.#arm(w, d.wakeAt);
    }

    async #notify(w: Watch, value: ResourceValue, reply: CoapReply): Promise<void> {
        const next = w.gate.sent(value, Date.now());
        this.#arm(w, next.wakeAt);
        const alive = await w.observer.notify(reply);
        if (!alive) {
            clearTimeout(w.timer);
            this.#watches.delete(w);
        }
    }
}

function covers(observed: Lwm2mPath, changed: Lwm2mPath): boolean {
    for (const k of ['objectId', 'instanceId', 'resourceId', 'resourceInstanceId'] as const) {
        if (observed[k] === undefined) return true;
        if (changed[k] !== undefined && observed[k] !== changed[k]) return false;
    }
    return true;
}

function text(code: string, message: string): CoapReply {
    return { code, contentFormat: CONTENT_FORMATS.text, payload: Buffer.from(message.slice(0, 200)) };
}

function done(r: DmResult<unknown>, code: string): CoapReply {
    return r.ok ? { code } : text(r.code, r.message);
}
