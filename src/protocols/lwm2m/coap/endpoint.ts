/**
 * The CoAP endpoint the LwM2M roles share: one UDP socket that serves requests (through the
 * `coap` package's Server) and sends them (through its Agent).
 *
 * Both coap objects are attached to the same `dgram.Socket` (a real one, so coap's Server can
 * replay cached answers), but the socket's 'message' listeners they add are taken off and every
 * datagram is dispatched here:
 *  - it is parsed first; malformed ones are counted in stats.malformed (and a CON gets RST, RFC
 *    7252 §4.2) instead of reaching coap code that assumes well-formed input;
 *  - Block1 uploads are reassembled here, matched by peer + method + Uri-Path + Uri-Query + Content-
 *    Format (RFC 7959 §2.5): coap matches blocks by token, libcoap's coap-client sends a new token
 *    per block, and coap's server throws on blocks that do not line up;
 *  - later blocks of a block-wise reply (Block2 num > 0) come from a cache matched the same way:
 *    coap's is keyed by token (so libcoap's requests miss it and re-run the handler), and where it
 *    hits it answers 2.05 whatever the first block's code was;
 *  - duplicate CONs are answered from coap's response cache here, also when coap's own lookup
 *    misses (the empty ACK before a separate response), and dropped while the handler still runs;
 *  - Observe (RFC 7641) is handled here on both sides: notifications are built and retransmitted
 *    by ObserverHandle (coap's ObserveWriteStream does not end on RST to a NON notification or on
 *    Observe: 1, and gives up on a CON only after EXCHANGE_LIFETIME), and notifications for
 *    observations we hold are taken before the Agent sees them (acknowledged, filtered for
 *    re-ordering per §3.4; once forgotten, the Agent answers them with RST);
 *  - the rest goes on to coap: requests to the Server (piggy-backed/separate responses, the first
 *    block of Block2), responses and empty messages to the Agent (retransmission, Block1
 *    segmentation of large requests, Block2 reassembly of responses).
 * No process-wide coap setting (parameters, updateTiming) is touched.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { Agent, createServer, type IncomingMessage, type OutgoingMessage, type Server } from 'coap';
import { generate, type ParsedPacket, parse } from 'coap-packet';
import type {
    CoapEndpointOptions,
    CoapEndpointStats,
    CoapMethod,
    CoapPeer,
    CoapReply,
    CoapRequest,
    CoapResponse,
    Observation,
    ObserverHandle,
    OutgoingRequest,
    RequestHandler,
} from './types';

/** Rejection of request()/observe() when no response came in time. */
export class CoapTimeoutError extends Error {
    override readonly name = 'CoapTimeoutError';
    constructor(
        readonly peer: CoapPeer,
        readonly path: string,
        readonly timeoutMs: number,
    ) {
        super(`CoAP request to ${peer.address}:${peer.port}${path} timed out after ${timeoutMs} ms`);
    }
}

/** RFC 7252 §4.8.2 EXCHANGE_LIFETIME (default transmission parameters). */
const EXCHANGE_LIFETIME_MS = 247_000;
const ACK_TIMEOUT_MS = 2_000;
const ACK_RANDOM_FACTOR = 1.5;
const MAX_RETRANSMIT = 4;
/** Largest datagram we build ourselves (notifications, direct replies). */
const MAX_DATAGRAM = 65_000;
/** Bodies above this many bytes go out block-wise (SZX 6 = 1024-byte blocks), both ways. */
const BLOCK_SIZE = 1024;

const METHODS: Record<string, CoapMethod> = {
    '0.01': 'GET',
    '0.02': 'POST',
    '0.03': 'PUT',
    '0.04': 'DELETE',
    '0.05': 'FETCH',
    '0.06': 'PATCH',
    '0.07': 'iPATCH',
};

// ---------------------------------------------------------------------------------------------
// Access to coap internals. Everything that reaches past coap's public API is here.
// ---------------------------------------------------------------------------------------------

type Rinfo = { address: string; port: number; family?: string; size?: number };
type MessageListener = (msg: Buffer, rinfo: Rinfo) => void;

// Also relied on: Server.listen(socket) and new Agent({ socket }) each add exactly one 'message'
// listener to the socket (the constructor takes them off and calls them itself).

/** The parts of coap's Server we use that its typings keep private. */
interface ServerInternals {
    /**
     * Entry point for a parsed request (server.js `_handle`). We call it instead of the
     * listener from handleRequest() to pass our packet copy (Block1 reassembled, Observe and
     * Block1 taken off); its 'request' event fires synchronously from here.
     */
    _handle(packet: ParsedPacket, rinfo: Rinfo): void;
    /** Response cache for duplicate CON detection, keyed `address:port/messageId[token hex]`. */
    _lru: { peek(key: string): Buffer | undefined; delete(key: string): boolean };
}
/** The parts of coap's Agent we use that its typings keep private. */
interface AgentInternals {
    /** Next message ID from the Agent's counter, so ours never collide with its requests. */
    _nextMessageId(): number;
    _tkToReq: Map<string, unknown>;
    _msgIdToReq: Map<number, unknown>;
}
function serverInternals(server: Server): ServerInternals {
    // coap's typings hide _handle/_lru; they are plain JS members (see coap/dist/lib/server.js).
    return server as unknown as ServerInternals;
}
function agentInternals(agent: Agent): AgentInternals {
    // coap's typings hide these; they are plain JS members (see coap/dist/lib/agent.js).
    return agent as unknown as AgentInternals;
}
// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function uint(value: number): Buffer {
    const bytes: number[] = [];
    let v = value;
    while (v > 0) {
        bytes.unshift(v & 0xff);
        v = Math.floor(v / 256);
    }
    return Buffer.from(bytes);
}
function readUint(buf: Buffer): number {
    let v = 0;
    for (const b of buf) v = v * 256 + b;
    return v;
}
function options(packet: ParsedPacket, name: string): Buffer[] {
    return packet.options.filter((o) => o.name === name).map((o) => o.value);
}
function option(packet: ParsedPacket, name: string): Buffer | undefined {
    return packet.options.find((o) => o.name === name)?.value;
}
function uintOption(packet: ParsedPacket, name: string): number | undefined {
    const v = option(packet, name);
    return v === undefined ? undefined : readUint(v);
}
function peerKey(p: CoapPeer): string {
    return `${p.address}:${p.port}`;
}
function isSuccess(code: string): boolean {
    return code.startsWith('2.');
}
function pathSegments(path: string): string[] {
    return path.split('/').filter((s) => s !== '');
}
interface BlockValue {
    num: number;
    more: boolean;
    szx: number;
}
function parseBlock(buf: Buffer): BlockValue | undefined {
    if (buf.length > 3) return undefined;
    const v = readUint(buf);
    return { num: v >>> 4, more: (v & 0x8) !== 0, szx: v & 0x7 };
}
function blockOption(b: BlockValue): Buffer {
    const v = (b.num << 4) | (b.more ? 0x8 : 0) | b.szx;
    // A zero value is still sent as one byte here (any length is valid; libcoap accepts both).
    return v === 0 ? Buffer.of(0) : uint(v);
}

// ---------------------------------------------------------------------------------------------
// Server-side observation
// ---------------------------------------------------------------------------------------------

interface PendingCon {
    messageId: number;
    timer?: NodeJS.Timeout;
    resolve: (acked: boolean) => void;
}

class ServerObservation implements ObserverHandle {
    closed = false;
    /** Set once the 2.xx answer to the registration went out. */
    private established = false;
    private readonly waiters: Array<(ok: boolean) => void> = [];
    private readonly closeListeners: Array<() => void> = [];
    /** Message IDs of recent notifications, for matching RST/ACK. */
    private readonly recent: number[] = [];
    private pending: PendingCon | undefined;

    constructor(
        private readonly ep: CoapEndpoint,
        readonly peer: CoapPeer,
        readonly token: Buffer,
        readonly key: string,
        private readonly block2Key: string,
        private readonly szx: number,
    ) {}

    establish(): void {
        this.established = true;
        for (const w of this.waiters.splice(0)) w(true);
    }

    async notify(reply: CoapReply, confirmable = false): Promise<boolean> {
        if (this.closed) return false;
        if (!this.established) {
            const ok = await new Promise<boolean>((resolve) => this.waiters.push(resolve));
            if (!ok || this.closed) return false;
        }
        // One confirmable notification in flight: a newer notification supersedes it (RFC 7641
        // §4.5.2), and the older one's promise resolves true (the observer is not known gone).
        if (this.pending) this.settlePending(true);
        const final = !isSuccess(reply.code);
        const messageId = this.ep.nextMessageId();
        const opts: Array<{ name: string; value: Buffer }> = [];
        if (!final) opts.push({ name: 'Observe', value: uint(this.ep.nextObserveSeq()) });
        if (reply.contentFormat !== undefined) opts.push({ name: 'Content-Format', value: uint(reply.contentFormat) });
        let payload = reply.payload ? Buffer.from(reply.payload) : Buffer.alloc(0);
        const size = 1 << (this.szx + 4);
        if (!final && payload.length > size) {
            this.ep.keepBlock2(this.block2Key, reply.code, reply.contentFormat, payload);
            opts.push({ name: 'ETag', value: etagOf(payload) });
            opts.push({ name: 'Block2', value: blockOption({ num: 0, more: true, szx: this.szx }) });
            payload = payload.subarray(0, size);
        }
        const datagram = generate(
            {
                code: reply.code,
                messageId,
                token: this.token,
                confirmable,
                options: opts as ParsedPacket['options'],
                payload,
            },
            MAX_DATAGRAM,
        );
        if (final) {
            // A non-2.xx notification ends the observation (RFC 7641 §3.2).
            this.ep.sendRaw(datagram, this.peer);
            this.close();
            return true;
        }
        this.remember(messageId);
        if (!confirmable) {
            return this.ep.sendRaw(datagram, this.peer);
        }
        // Confirmable: retransmitted with exponential back-off (RFC 7252 §4.2) until ACK or RST.
        return new Promise<boolean>((resolve) => {
            const pending: PendingCon = { messageId, resolve };
            this.pending = pending;
            let attempt = 0;
            let wait = this.ep.ackTimeoutMs * (1 + (ACK_RANDOM_FACTOR - 1) * Math.random());
            const send = (): void => {
                if (this.pending !== pending) return;
                this.ep.sendRaw(datagram, this.peer);
                pending.timer = setTimeout(() => {
                    if (++attempt > this.ep.maxRetransmit) {
                        // Unanswered confirmable notification: the observer is gone (§4.5).
                        this.settlePending(false);
                        this.close();
                        return;
                    }
                    wait *= 2;
                    send();
                }, wait);
            };
            send();
        });
    }

    end(reply?: CoapReply): void {
        if (this.closed) return;
        if (reply && this.established) {
            const opts: Array<{ name: string; value: Buffer }> = [];
            if (reply.contentFormat !== undefined)
                opts.push({ name: 'Content-Format', value: uint(reply.contentFormat) });
            const datagram = generate(
                {
                    code: reply.code,
                    messageId: this.ep.nextMessageId(),
                    token: this.token,
                    confirmable: false,
                    options: opts as ParsedPacket['options'],
                    payload: reply.payload ? Buffer.from(reply.payload) : Buffer.alloc(0),
                },
                MAX_DATAGRAM,
            );
            this.ep.sendRaw(datagram, this.peer);
        }
        this.close();
    }

    onClose(listener: () => void): void {
        if (this.closed) {
            queueMicrotask(listener);
            return;
        }
        this.closeListeners.push(listener);
    }

    /** An empty ACK or RST with one of our notification message IDs arrived. */
    handleEmpty(messageId: number, reset: boolean): void {
        if (reset) {
            this.close();
            return;
        }
        if (this.pending?.messageId === messageId) this.settlePending(true);
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        this.settlePending(false);
        for (const w of this.waiters.splice(0)) w(false);
        for (const mid of this.recent) this.ep.forgetNotification(this.peer, mid);
        this.recent.length = 0;
        this.ep.dropObservation(this);
        for (const l of this.closeListeners.splice(0)) {
            try {
                l();
            } catch {
                // a listener's failure must not stop the others
            }
        }
    }

    private remember(messageId: number): void {
        this.recent.push(messageId);
        this.ep.rememberNotification(this.peer, messageId, this);
        if (this.recent.length > 8) {
            const old = this.recent.shift() as number;
            this.ep.forgetNotification(this.peer, old);
        }
    }

    private settlePending(acked: boolean): void {
        const p = this.pending;
        if (!p) return;
        this.pending = undefined;
        clearTimeout(p.timer);
        p.resolve(acked);
    }
}

// ---------------------------------------------------------------------------------------------
// Client-side observation
// ---------------------------------------------------------------------------------------------

interface ClientObservation {
    key: string;
    peer: CoapPeer;
    token: Buffer;
    lastSeq: number;
    lastTime: number;
    onNotify: (res: CoapResponse) => void;
    onEnd: (err?: Error) => void;
    ended: boolean;
}

/** RFC 7641 §3.4: is notification (v2, now) fresher than the last one (v1, t1)? */
export function isFresher(v1: number, t1: number, v2: number, now: number): boolean {
    return (v1 < v2 && v2 - v1 < 2 ** 23) || (v1 > v2 && v1 - v2 > 2 ** 23) || now > t1 + 128_000;
}

// ---------------------------------------------------------------------------------------------
// Block1 reassembly
// ---------------------------------------------------------------------------------------------

interface Upload {
    chunks: Buffer[];
    received: number;
    lastNum: number;
    lastSzx: number;
    expires: number;
}

/** What we parsed before handing a packet copy to coap's Server. */
interface RequestMeta {
    request: CoapRequest;
    block1Echo?: Buffer;
    observation?: ServerObservation;
    /** Where to keep a reply that goes out block-wise, for the Block2 requests that follow. */
    block2Key: string;
    block2Requested: boolean;
    /** peer/messageId+token, while the handler runs (duplicates are dropped meanwhile). */
    exchangeKey: string;
    /** Set when coap's Server passed the request on to our 'request' listener. */
    taken: boolean;
}

/** A reply that goes out block-wise (RFC 7959 Block2): blocks after the first come from here. */
interface Block2Entry {
    code: string;
    contentFormat?: number;
    payload: Buffer;
    etag: Buffer;
    expires: number;
}

/** The ETag coap's Server puts on block-wise replies (2-byte XOR fold); ours must match it. */
function etagOf(payload: Buffer): Buffer {
    const id = Buffer.of(0, 0);
    for (let i = 0; i < payload.length; i += 2) {
        id[0] = (id[0] as number) ^ (payload[i] as number);
        id[1] = (id[1] as number) ^ (payload[i + 1] ?? 0);
    }
    return id;
}

// ---------------------------------------------------------------------------------------------
// The endpoint
// ---------------------------------------------------------------------------------------------

/** Extra options beyond the shared contract (tests and tuning). */
export interface CoapEndpointTuning {
    /** How long an unfinished Block1 upload is kept (default EXCHANGE_LIFETIME, 247 s). */
    uploadLifetimeMs?: number;
    /** ACK_TIMEOUT for our confirmable notifications (default 2 s). */
    ackTimeoutMs?: number;
    /** MAX_RETRANSMIT for our confirmable notifications (default 4). */
    maxRetransmit?: number;
}

/**
 * One CoAP endpoint on one UDP socket. Events: 'error' (socket errors, only emitted when
 * listened to), 'handlerError' (a handler threw or rejected; the request got 5.00) and 'warning'
 * (anything else caught on the way, e.g. an onNotify callback that threw).
 */
export class CoapEndpoint extends EventEmitter {
    readonly stats: CoapEndpointStats = { malformed: 0, uploadsRefused: 0, handlerErrors: 0 };
    readonly ackTimeoutMs: number;
    readonly maxRetransmit: number;

    private readonly server: Server;
    private readonly agent: Agent;
    private readonly serverListener: MessageListener;
    private readonly agentListener: MessageListener;
    private readonly requestTimeoutMs: number;
    private readonly maxBodyBytes: number;
    private readonly maxUploads: number;
    private readonly uploadLifetimeMs: number;
    private readonly uploads = new Map<string, Upload>();
    private readonly block2 = new Map<string, Block2Entry>();
    private readonly inProgress = new Set<string>();
    private readonly meta = new WeakMap<object, RequestMeta>();
    private readonly serverObservations = new Map<string, ServerObservation>();
    private readonly notifications = new Map<string, ServerObservation>();
    private readonly clientObservations = new Map<string, ClientObservation>();
    private readonly inFlight = new Set<{ abort: (err: Error) => void }>();
    private observeSeq = Math.floor(Math.random() * 0x10000);
    /** The packet being dispatched to the Agent, so its 'response' listener sees pristine options. */
    private dispatching: ParsedPacket | undefined;
    private sweepTimer: NodeJS.Timeout | undefined;
    /**
     * Piggy-backed answers to CON requests, kept for duplicates (RFC 7252 §4.5) for
     * EXCHANGE_LIFETIME: the datagram's bytes only. coap's own cache entry (the datagram plus its
     * sender, the response stream and the request, about 7 KB) is dropped once the answer is out.
     */
    private readonly answers = new Map<string, { datagram: Buffer; expires: number }>();
    private answersTimer: NodeJS.Timeout | undefined;
    private closed = false;

    private constructor(
        private readonly sock: dgram.Socket,
        private readonly handler: RequestHandler,
        opts: CoapEndpointOptions & CoapEndpointTuning,
    ) {
        super();
        this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
        this.maxBodyBytes = opts.maxBodyBytes ?? 256 * 1024;
        this.maxUploads = opts.maxUploads ?? 1000;
        this.uploadLifetimeMs = opts.uploadLifetimeMs ?? EXCHANGE_LIFETIME_MS;
        this.ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
        this.maxRetransmit = opts.maxRetransmit ?? MAX_RETRANSMIT;

        const before = new Set(sock.listeners('message'));
        this.server = createServer({ type: opts.type ?? 'udp4' });
        this.server.listen(sock);
        const serverListener = sock.listeners('message').find((l) => !before.has(l));
        this.agent = new Agent({ socket: sock });
        const agentListener = sock
            .listeners('message')
            .find((l) => !before.has(l) && l !== serverListener && l !== undefined);
        if (!serverListener || !agentListener) throw new Error('coap did not attach to the socket');
        this.serverListener = serverListener as MessageListener;
        this.agentListener = agentListener as MessageListener;
        sock.removeListener('message', this.serverListener);
        sock.removeListener('message', this.agentListener);
        sock.on('message', (msg: Buffer, rinfo: Rinfo) => this.dispatch(msg, rinfo));
        // Socket errors reach us through coap's re-emitters; an unheard 'error' would throw.
        this.server.on('error', (err: Error) => this.reportError(err));
        this.agent.on('error', (err: Error) => this.reportError(err));
        this.server.on('request', (req: IncomingMessage, res: OutgoingMessage) => this.onServerRequest(req, res));
    }

    static open(options: CoapEndpointOptions & CoapEndpointTuning, handler: RequestHandler): Promise<CoapEndpoint> {
        const type = options.type ?? 'udp4';
        // A larger receive buffer rides out a pause (a full garbage collection on a big heap) without
        // the kernel dropping datagrams; Linux caps it at net.core.rmem_max.
        const sock = dgram.createSocket(
            options.receiveBufferBytes === undefined ? { type } : { type, recvBufferSize: options.receiveBufferBytes },
        );
        return new Promise((resolve, reject) => {
            const onError = (err: Error): void => {
                sock.close();
                reject(err);
            };
            sock.once('error', onError);
            sock.bind(options.port ?? 0, options.address ?? (type === 'udp6' ? '::' : '0.0.0.0'), () => {
                sock.removeListener('error', onError);
                try {
                    resolve(new CoapEndpoint(sock, handler, options));
                } catch (err) {
                    sock.close();
                    reject(err);
                }
            });
        });
    }

    get port(): number {
        return this.sock.address().port;
    }
    get address(): string {
        return this.sock.address().address;
    }

    /** Internal state sizes, so tests can check that nothing is left behind. */
    get pending(): {
        agentTokens: number;
        agentMessageIds: number;
        requests: number;
        uploads: number;
        observations: number;
        observing: number;
    } {
        const a = agentInternals(this.agent);
        return {
            agentTokens: a._tkToReq.size,
            agentMessageIds: a._msgIdToReq.size,
            requests: this.inFlight.size,
            uploads: this.uploads.size,
            observations: this.serverObservations.size,
            observing: this.clientObservations.size,
        };
    }

    // ----------------------------------------------------------------------------- client side

    request(peer: CoapPeer, req: OutgoingRequest): Promise<CoapResponse> {
        return this.send(peer, req, {}).then(({ response }) => response);
    }

    async observe(
        peer: CoapPeer,
        req: OutgoingRequest,
        onNotify: (res: CoapResponse) => void,
        onEnd: (err?: Error) => void,
    ): Promise<Observation> {
        const { response, token } = await this.send(peer, req, { observe: 0 });
        const key = `${peerKey(peer)}/${token.toString('hex')}`;
        if (!isSuccess(response.code) || response.observe === undefined) {
            queueMicrotask(() => onEnd());
            return { response, cancel: async () => undefined, forget: () => undefined };
        }
        const obs: ClientObservation = {
            key,
            peer,
            token,
            lastSeq: response.observe,
            lastTime: Date.now(),
            onNotify,
            onEnd,
            ended: false,
        };
        this.clientObservations.set(key, obs);
        const stop = (): boolean => {
            if (obs.ended) return false;
            obs.ended = true;
            if (this.clientObservations.get(key) === obs) this.clientObservations.delete(key);
            return true;
        };
        return {
            response,
            cancel: async () => {
                if (!stop()) return;
                try {
                    await this.send(peer, { ...req, payload: undefined, confirmable: true }, { observe: 1, token });
                } catch {
                    // the peer is gone or silent; its next notification gets RST anyway
                }
                obs.onEnd();
            },
            forget: () => {
                if (stop()) obs.onEnd();
            },
        };
    }

    /** An Agent request with our options set (Uri-Path/Uri-Query set directly: no '&' splitting). */
    private prepare(peer: CoapPeer, out: OutgoingRequest, extra: { observe?: 0 | 1; token?: Buffer }): OutgoingMessage {
        const creq = this.agent.request({
            hostname: peer.address,
            port: peer.port,
            method: out.method,
            confirmable: out.confirmable !== false,
            observe: extra.observe,
            token: extra.token,
        });
        const segments = pathSegments(out.path);
        if (segments.length > 0)
            creq.setOption(
                'Uri-Path',
                segments.map((s) => Buffer.from(s)),
            );
        if (out.query && out.query.length > 0)
            creq.setOption(
                'Uri-Query',
                out.query.map((q) => Buffer.from(q)),
            );
        if (out.contentFormat !== undefined) creq.setOption('Content-Format', uint(out.contentFormat));
        if (out.accept !== undefined) creq.setOption('Accept', uint(out.accept));

        return creq;
    }

    private send(
        peer: CoapPeer,
        out: OutgoingRequest,
        extra: { observe?: 0 | 1; token?: Buffer },
    ): Promise<{ response: CoapResponse; token: Buffer }> {
        if (this.closed) return Promise.reject(new Error('CoAP endpoint is closed'));
        const timeoutMs = out.timeoutMs ?? this.requestTimeoutMs;
        return new Promise((resolve, reject) => {
            let creq: OutgoingMessage;
            try {
                creq = this.prepare(peer, out, extra);
            } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
                return;
            }
            const payload = out.payload ? Buffer.from(out.payload) : undefined;
            if (payload && payload.length > BLOCK_SIZE) creq.setOption('Block1', Buffer.of(6));

            let done = false;
            const entry = {
                abort: (err: Error) => finish(err),
            };
            const finish = (err: Error | undefined, response?: CoapResponse, token?: Buffer): void => {
                if (done) return;
                done = true;
                clearTimeout(timer);
                this.inFlight.delete(entry);
                if (err) {
                    // Releases the Agent's retransmission timers and token/message-ID maps.
                    this.agent.abort(creq);
                    reject(err);
                } else if (response && token) {
                    resolve({ response, token });
                }
            };
            const timer = setTimeout(() => finish(new CoapTimeoutError(peer, out.path, timeoutMs)), timeoutMs);
            this.inFlight.add(entry);
            creq.on('error', (err: Error) => finish(err instanceof Error ? err : new Error(String(err))));
            creq.on('timeout', () => finish(new CoapTimeoutError(peer, out.path, timeoutMs)));
            creq.on('response', (res: IncomingMessage) => {
                const packet = this.dispatching;
                if (res.code === '0.00' || !packet) {
                    finish(new Error(`CoAP request to ${peerKey(peer)}${out.path} was reset by the peer`));
                    return;
                }
                const response: CoapResponse = {
                    code: packet.code,
                    payload: Buffer.from(res.payload ?? Buffer.alloc(0)),
                    locationPath: options(packet, 'Location-Path').map((b) => b.toString('utf8')),
                    peer: { ...peer },
                };
                const cf = uintOption(packet, 'Content-Format');
                if (cf !== undefined) response.contentFormat = cf;
                const ob = uintOption(packet, 'Observe');
                if (ob !== undefined) response.observe = ob;
                if (extra.observe === 0) {
                    // We take the notifications from here on; the Agent keeps nothing for it.
                    this.agent.abort(creq);
                }
                finish(undefined, response, packet.token);
            });
            try {
                creq.end(payload);
            } catch (err) {
                finish(err instanceof Error ? err : new Error(String(err)));
            }
        });
    }

    // ----------------------------------------------------------------------------- dispatch

    private dispatch(msg: Buffer, rinfo: Rinfo): void {
        if (this.closed) return;
        try {
            this.dispatchUnsafe(msg, rinfo);
        } catch (err) {
            // Whatever coap (or we) failed on, the socket listener must not throw.
            this.emitWarning(err);
        } finally {
            this.dispatching = undefined;
        }
    }

    private malformed(msg: Buffer, rinfo: Rinfo): void {
        this.stats.malformed++;
        // RFC 7252 §4.2: a CON we cannot process is rejected with RST (only when the header is
        // there and of our version: unknown versions are silently ignored, §3).
        if (msg.length >= 4 && msg[0] !== undefined && msg[0] >> 6 === 1 && ((msg[0] >> 4) & 3) === 0) {
            this.sendEmpty(msg.readUInt16BE(2), true, rinfo);
        }
    }

    private dispatchUnsafe(msg: Buffer, rinfo: Rinfo): void {
        if (msg.length < 4) {
            this.stats.malformed++;
            return;
        }
        if ((msg[0] as number) >> 6 !== 1) {
            this.stats.malformed++;
            return;
        }
        if (((msg[0] as number) & 0x0f) > 8) {
            this.malformed(msg, rinfo);
            return;
        }
        let packet: ParsedPacket;
        try {
            packet = parse(msg);
        } catch {
            this.malformed(msg, rinfo);
            return;
        }
        const cls = Number(packet.code.slice(0, 1));
        if (cls === 1 || cls === 3 || cls >= 6) {
            // Reserved classes (RFC 7252 §12.1).
            this.malformed(msg, rinfo);
            return;
        }
        const peer = { address: rinfo.address, port: rinfo.port };
        if (packet.code === '0.00') {
            if (packet.confirmable) {
                // CoAP ping.
                this.sendEmpty(packet.messageId, true, rinfo);
                return;
            }
            if (packet.ack || packet.reset) {
                const obs = this.notifications.get(`${peerKey(peer)}/${packet.messageId}`);
                if (obs) {
                    obs.handleEmpty(packet.messageId, packet.reset);
                    return;
                }
                // ACK/RST for coap's own exchanges: the Agent's requests and the Server's responses.
                this.agentListener(msg, rinfo);
                if (packet.reset) return;
                this.serverListener(msg, rinfo);
                return;
            }
            // An empty NON is a format error (RFC 7252 §4.3).
            this.stats.malformed++;
            return;
        }
        if (packet.reset) {
            // RST must be empty (§4.2).
            this.stats.malformed++;
            return;
        }
        if (cls === 0) {
            if (packet.ack) {
                this.malformed(msg, rinfo);
                return;
            }
            this.onIncomingRequest(packet, rinfo, peer);
            return;
        }
        // A response.
        const cobs = this.clientObservations.get(`${peerKey(peer)}/${packet.token.toString('hex')}`);
        if (cobs && packet.token.length > 0) {
            this.onNotification(cobs, packet, rinfo);
            return;
        }
        this.dispatching = packet;
        this.agentListener(msg, rinfo);
    }

    private onNotification(obs: ClientObservation, packet: ParsedPacket, rinfo: Rinfo): void {
        if (packet.confirmable) this.sendEmpty(packet.messageId, false, rinfo);
        const seq = uintOption(packet, 'Observe');
        const response: CoapResponse = {
            code: packet.code,
            payload: packet.payload,
            locationPath: options(packet, 'Location-Path').map((b) => b.toString('utf8')),
            peer: { ...obs.peer },
        };
        const cf = uintOption(packet, 'Content-Format');
        if (cf !== undefined) response.contentFormat = cf;
        const ending = !isSuccess(packet.code) || seq === undefined;
        if (!ending) {
            const now = Date.now();
            if (!isFresher(obs.lastSeq, obs.lastTime, seq, now)) return; // stale, re-ordered (§3.4)
            obs.lastSeq = seq;
            obs.lastTime = now;
            response.observe = seq;
        }
        try {
            obs.onNotify(response);
        } catch (err) {
            this.emitWarning(err);
        }
        if (ending && !obs.ended) {
            obs.ended = true;
            this.clientObservations.delete(obs.key);
            obs.onEnd();
        }
    }

    private onIncomingRequest(packet: ParsedPacket, rinfo: Rinfo, peer: CoapPeer): void {
        // Duplicate CON (RFC 7252 §4.5): replay what coap's cache holds for it. coap keys a
        // piggy-backed answer by message ID + token, but the empty ACK before a separate response
        // by message ID alone, and then misses it itself (and would run the handler again).
        const exchange = `${peerKey(peer)}/${packet.messageId}`;
        const exchangeKey = `${exchange}${packet.token.toString('hex')}`;
        if (packet.confirmable) {
            const lru = serverInternals(this.server)._lru;
            const cached = this.answers.get(exchangeKey)?.datagram ?? lru.peek(exchangeKey) ?? lru.peek(exchange);
            if (cached !== undefined) {
                this.sendRaw(cached, rinfo);
                return;
            }
            // Still being handled (coap caches only what it sent): coap's empty ACK will follow.
            if (this.inProgress.has(exchangeKey)) return;
        }
        const method = METHODS[packet.code];
        if (!method) {
            this.replyDirect(packet, rinfo, '4.05');
            return;
        }
        const path = options(packet, 'Uri-Path').map((b) => b.toString('utf8'));
        const query = options(packet, 'Uri-Query').map((b) => b.toString('utf8'));
        const contentFormat = uintOption(packet, 'Content-Format');
        const accept = uintOption(packet, 'Accept');
        const observe = uintOption(packet, 'Observe');
        if (method === 'FETCH' && contentFormat === undefined) {
            this.replyDirect(packet, rinfo, '4.15', [], Buffer.from('FETCH needs Content-Format'));
            return;
        }

        // Blocks after the first of a block-wise reply come from our cache, matched by the request
        // (libcoap asks for each block with a new token, so coap's token-keyed cache misses, and
        // where it hits it answers 2.05 whatever the first block's code was).
        const block2Key = `${peerKey(peer)}|${method}|${path.join('/')}|${query.join('&')}|${accept ?? ''}`;
        const block2Raw = option(packet, 'Block2');
        const block2 = block2Raw ? parseBlock(block2Raw) : undefined;
        if (block2Raw && (!block2 || block2.szx === 7)) {
            this.replyDirect(packet, rinfo, '4.02', [], Buffer.from('Bad Block2 option'));
            return;
        }
        if (block2 && block2.num > 0 && this.serveBlock2(packet, rinfo, block2Key, block2)) return;

        let payload = packet.payload;
        let block1Echo: Buffer | undefined;
        const block1 = option(packet, 'Block1');
        if (block1 !== undefined) {
            const result = this.onBlock1(packet, block1, rinfo, peer, method, path, query, contentFormat);
            if (!result) return;
            payload = result.body;
            block1Echo = result.echo;
        }

        const tokenKey = `${peerKey(peer)}/${packet.token.toString('hex')}`;
        let observation: ServerObservation | undefined;
        if (observe === 1 || (observe === 0 && (method === 'GET' || method === 'FETCH'))) {
            // Deregistration, or a re-registration that replaces the observation on this token.
            this.serverObservations.get(tokenKey)?.close();
        }
        if (observe === 0 && (method === 'GET' || method === 'FETCH')) {
            observation = new ServerObservation(
                this,
                peer,
                packet.token,
                tokenKey,
                block2Key,
                block2 ? Math.min(block2.szx, 6) : 6,
            );
            this.serverObservations.set(tokenKey, observation);
        }

        const request: CoapRequest = { method, path, query, payload, peer, token: packet.token };
        if (contentFormat !== undefined) request.contentFormat = contentFormat;
        if (accept !== undefined) request.accept = accept;
        if (observe !== undefined) request.observe = observe;

        // coap's Server gets a copy without Block1 (done here) and Observe (done here); its
        // duplicate detection, piggy-backing and Block2 still apply.
        const copy: ParsedPacket = {
            ...packet,
            options: packet.options
                .filter((o) => o.name !== 'Block1' && o.name !== 'Observe')
                .map((o) => ({ name: o.name, value: o.value })),
            payload,
        };
        const meta: RequestMeta = {
            request,
            block2Key,
            block2Requested: block2 !== undefined,
            exchangeKey,
            taken: false,
        };
        if (block1Echo) meta.block1Echo = block1Echo;
        if (observation) meta.observation = observation;
        this.meta.set(copy, meta);
        if (packet.confirmable) this.inProgress.add(exchangeKey);
        try {
            serverInternals(this.server)._handle(copy, rinfo);
            // coap emits 'request' synchronously; if it did not, it answered by itself.
            if (!meta.taken) this.inProgress.delete(exchangeKey);
        } catch (err) {
            // coap's Server failed on the request before our handler ran.
            this.inProgress.delete(exchangeKey);
            observation?.close();
            this.replyDirect(packet, rinfo, '5.00', [], Buffer.from('Internal error'));
            this.emitWarning(err);
        }
    }

    private onServerRequest(req: IncomingMessage, res: OutgoingMessage): void {
        // _packet is the very object we gave _handle (IncomingMessage keeps it).
        const meta = this.meta.get(req._packet);
        if (!meta) {
            res.code = '5.00';
            res.end();
            return;
        }
        meta.taken = true;
        const { request, observation } = meta;
        const finish = (reply: CoapReply): void => {
            this.inProgress.delete(meta.exchangeKey);
            if (this.closed) {
                observation?.close();
                return;
            }
            res.code = reply.code;
            if (reply.contentFormat !== undefined) res.setOption('Content-Format', uint(reply.contentFormat));
            if (reply.locationPath && reply.locationPath.length > 0) {
                res.setOption(
                    'Location-Path',
                    reply.locationPath.map((s) => Buffer.from(s)),
                );
            }
            if (meta.block1Echo) res.setOption('Block1', meta.block1Echo);
            const body = reply.payload && reply.payload.length > 0 ? Buffer.from(reply.payload) : undefined;
            if (body && (body.length >= BLOCK_SIZE || meta.block2Requested)) {
                this.keepBlock2(meta.block2Key, reply.code, reply.contentFormat, body);
            }
            const stands = observation !== undefined && !observation.closed && isSuccess(reply.code);
            if (stands) res.setOption('Observe', uint(this.nextObserveSeq()));
            res.end(body);
            this.keepAnswer(meta.exchangeKey);
            if (stands) observation.establish();
            else observation?.close();
        };
        let result: CoapReply | Promise<CoapReply>;
        try {
            result = this.handler(request, observation);
        } catch (err) {
            this.onHandlerError(err, finish);
            return;
        }
        Promise.resolve(result).then(
            (reply) => {
                if (!reply || typeof reply.code !== 'string' || !/^[2-5]\.\d\d$/.test(reply.code)) {
                    this.onHandlerError(new Error('handler returned no valid reply'), finish);
                    return;
                }
                try {
                    finish(reply);
                } catch (err) {
                    this.onHandlerError(err, finish);
                }
            },
            (err: unknown) => this.onHandlerError(err, finish),
        );
    }

    private onHandlerError(err: unknown, finish: (reply: CoapReply) => void): void {
        this.stats.handlerErrors++;
        this.emit('handlerError', err instanceof Error ? err : new Error(String(err)));
        try {
            finish({ code: '5.00', contentFormat: 0, payload: Buffer.from('Internal error') });
        } catch {
            // the response could not be sent (socket closed); nothing more to do
        }
    }

    /** Moves a piggy-backed answer from coap's cache into ours (a separate CON response stays with coap, which retransmits it). */
    private keepAnswer(key: string): void {
        const lru = serverInternals(this.server)._lru;
        const datagram = lru.peek(key);
        if (datagram === undefined) return;
        this.answers.set(key, { datagram: Buffer.from(datagram), expires: Date.now() + EXCHANGE_LIFETIME_MS });
        lru.delete(key);
        if (this.answersTimer || this.closed) return;
        this.answersTimer = setInterval(() => {
            const now = Date.now();
            // Entries are in the order they were made, so the expired ones come first.
            for (const [k, a] of this.answers) {
                if (a.expires > now) break;
                this.answers.delete(k);
            }
            if (this.answers.size === 0) {
                clearInterval(this.answersTimer);
                this.answersTimer = undefined;
            }
        }, 10_000);
        this.answersTimer.unref();
    }

    // ----------------------------------------------------------------------------- Block2

    keepBlock2(key: string, code: string, contentFormat: number | undefined, payload: Buffer): void {
        this.block2.delete(key);
        while (this.block2.size >= this.maxUploads) {
            const oldest = this.block2.keys().next().value as string;
            this.block2.delete(oldest);
        }
        const entry: Block2Entry = {
            code,
            payload,
            etag: etagOf(payload),
            expires: Date.now() + this.uploadLifetimeMs,
        };
        if (contentFormat !== undefined) entry.contentFormat = contentFormat;
        this.block2.set(key, entry);
        this.scheduleSweep();
    }

    /** Answers a Block2 request for a later block from the cache; false when it has nothing. */
    private serveBlock2(packet: ParsedPacket, rinfo: Rinfo, key: string, block: BlockValue): boolean {
        const entry = this.block2.get(key);
        if (!entry || entry.expires <= Date.now()) return false;
        const szx = Math.min(block.szx, 6);
        const size = 1 << (szx + 4);
        const offset = block.num * size;
        if (offset >= entry.payload.length) {
            this.replyDirect(packet, rinfo, '4.02', [], Buffer.from('Block2 beyond the end'));
            return true;
        }
        const more = offset + size < entry.payload.length;
        const opts: Array<{ name: string; value: Buffer }> = [
            { name: 'ETag', value: entry.etag },
            { name: 'Block2', value: blockOption({ num: block.num, more, szx }) },
        ];
        if (entry.contentFormat !== undefined) opts.push({ name: 'Content-Format', value: uint(entry.contentFormat) });
        if (option(packet, 'Size2') !== undefined) opts.push({ name: 'Size2', value: uint(entry.payload.length) });
        entry.expires = Date.now() + this.uploadLifetimeMs;
        this.replyDirect(packet, rinfo, entry.code, opts, entry.payload.subarray(offset, offset + size));
        return true;
    }

    // ----------------------------------------------------------------------------- Block1

    private onBlock1(
        packet: ParsedPacket,
        raw: Buffer,
        rinfo: Rinfo,
        peer: CoapPeer,
        method: CoapMethod,
        path: string[],
        query: string[],
        contentFormat: number | undefined,
    ): { body: Buffer; echo: Buffer } | undefined {
        const block = parseBlock(raw);
        if (!block || block.szx === 7) {
            this.refuseUpload(packet, rinfo, '4.00', 'Bad Block1 option');
            return undefined;
        }
        const size = 1 << (block.szx + 4);
        const key = `${peerKey(peer)}|${method}|${path.join('/')}|${query.join('&')}|${contentFormat ?? ''}`;
        const now = Date.now();
        this.sweepUploads(now);
        const sizeOpt = (): Array<{ name: string; value: Buffer }> => [
            { name: 'Size1', value: uint(this.maxBodyBytes) },
        ];
        let up = this.uploads.get(key);
        if (block.num === 0) {
            const size1 = uintOption(packet, 'Size1');
            if (size1 !== undefined && size1 > this.maxBodyBytes) {
                this.uploads.delete(key);
                this.refuseUpload(packet, rinfo, '4.13', 'Request body too large', sizeOpt());
                return undefined;
            }
            if (!block.more) {
                if (up) this.uploads.delete(key);
                if (packet.payload.length > this.maxBodyBytes) {
                    this.refuseUpload(packet, rinfo, '4.13', 'Request body too large', sizeOpt());
                    return undefined;
                }
                return { body: packet.payload, echo: blockOption(block) };
            }
            if (!up && this.uploads.size >= this.maxUploads) {
                this.refuseUpload(packet, rinfo, '5.03', 'Too many uploads');
                return undefined;
            }
            up = { chunks: [], received: 0, lastNum: -1, lastSzx: block.szx, expires: 0 };
            this.uploads.set(key, up);
        } else {
            if (!up) {
                this.refuseUpload(packet, rinfo, '4.08', 'Request Entity Incomplete');
                return undefined;
            }
            if (block.num === up.lastNum && block.szx === up.lastSzx && block.more) {
                // A retransmitted block: answer again, keep nothing.
                up.expires = now + this.uploadLifetimeMs;
                this.replyDirect(packet, rinfo, '2.31', [{ name: 'Block1', value: blockOption(block) }]);
                return undefined;
            }
            if (block.num * size !== up.received) {
                this.uploads.delete(key);
                this.refuseUpload(packet, rinfo, '4.08', 'Request Entity Incomplete');
                return undefined;
            }
        }
        if (block.more && packet.payload.length !== size) {
            this.uploads.delete(key);
            this.refuseUpload(packet, rinfo, '4.00', 'Block1 payload does not match its size');
            return undefined;
        }
        if (up.received + packet.payload.length > this.maxBodyBytes) {
            this.uploads.delete(key);
            this.refuseUpload(packet, rinfo, '4.13', 'Request body too large', sizeOpt());
            return undefined;
        }
        up.chunks.push(packet.payload);
        up.received += packet.payload.length;
        up.lastNum = block.num;
        up.lastSzx = block.szx;
        up.expires = now + this.uploadLifetimeMs;
        if (block.more) {
            this.scheduleSweep();
            this.replyDirect(packet, rinfo, '2.31', [{ name: 'Block1', value: blockOption(block) }]);
            return undefined;
        }
        this.uploads.delete(key);
        return { body: Buffer.concat(up.chunks, up.received), echo: blockOption(block) };
    }

    private refuseUpload(
        packet: ParsedPacket,
        rinfo: Rinfo,
        code: string,
        text: string,
        opts: Array<{ name: string; value: Buffer }> = [],
    ): void {
        this.stats.uploadsRefused++;
        this.replyDirect(packet, rinfo, code, opts, Buffer.from(text));
    }

    private sweepUploads(now: number): void {
        for (const [key, up] of this.uploads) if (up.expires <= now) this.uploads.delete(key);
        for (const [key, entry] of this.block2) if (entry.expires <= now) this.block2.delete(key);
        if (this.uploads.size === 0 && this.block2.size === 0 && this.sweepTimer) {
            clearInterval(this.sweepTimer);
            this.sweepTimer = undefined;
        }
    }

    private scheduleSweep(): void {
        if (this.sweepTimer || this.closed) return;
        const period = Math.max(50, Math.min(30_000, Math.floor(this.uploadLifetimeMs / 2)));
        this.sweepTimer = setInterval(() => this.sweepUploads(Date.now()), period);
        this.sweepTimer.unref();
    }

    // ----------------------------------------------------------------------------- sending

    /** Answers a request ourselves: piggy-backed on the ACK for a CON, as a NON otherwise. */
    private replyDirect(
        packet: ParsedPacket,
        rinfo: Rinfo,
        code: string,
        opts: Array<{ name: string; value: Buffer }> = [],
        payload: Buffer = Buffer.alloc(0),
    ): void {
        const datagram = generate(
            {
                code,
                messageId: packet.confirmable ? packet.messageId : this.nextMessageId(),
                token: packet.token,
                confirmable: false,
                ack: packet.confirmable,
                options: opts as ParsedPacket['options'],
                payload,
            },
            MAX_DATAGRAM,
        );
        this.sendRaw(datagram, rinfo);
    }

    private sendEmpty(messageId: number, reset: boolean, rinfo: Rinfo): void {
        const datagram = generate({ code: '0.00', messageId, ack: !reset, reset, confirmable: false });
        this.sendRaw(datagram, rinfo);
    }

    /** Sends one datagram; resolves false when it could not be sent. */
    sendRaw(datagram: Buffer, peer: CoapPeer): Promise<boolean> {
        if (this.closed) return Promise.resolve(false);
        return new Promise((resolve) => {
            try {
                this.sock.send(datagram, peer.port, peer.address, (err) => resolve(!err));
            } catch {
                resolve(false);
            }
        });
    }

    nextMessageId(): number {
        return agentInternals(this.agent)._nextMessageId();
    }

    nextObserveSeq(): number {
        this.observeSeq = (this.observeSeq + 1) & 0xffffff;
        return this.observeSeq;
    }

    rememberNotification(peer: CoapPeer, messageId: number, obs: ServerObservation): void {
        this.notifications.set(`${peerKey(peer)}/${messageId}`, obs);
    }

    forgetNotification(peer: CoapPeer, messageId: number): void {
        this.notifications.delete(`${peerKey(peer)}/${messageId}`);
    }

    dropObservation(obs: ServerObservation): void {
        if (this.serverObservations.get(obs.key) === obs) this.serverObservations.delete(obs.key);
    }

    /** Socket errors: 'error' when someone listens (an unheard 'error' would throw). */
    private reportError(err: Error): void {
        if (this.listenerCount('error') > 0) this.emit('error', err);
    }

    private emitWarning(err: unknown): void {
        this.emit('warning', err instanceof Error ? err : new Error(String(err)));
    }

    // ----------------------------------------------------------------------------- close

    async close(): Promise<void> {
        if (this.closed) return;
        for (const obs of [...this.serverObservations.values()]) obs.close();
        for (const obs of [...this.clientObservations.values()]) {
            obs.ended = true;
            obs.onEnd(new Error('CoAP endpoint closed'));
        }
        this.clientObservations.clear();
        for (const r of [...this.inFlight]) r.abort(new Error('CoAP endpoint closed'));
        this.closed = true;
        if (this.sweepTimer) clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
        if (this.answersTimer) clearInterval(this.answersTimer);
        this.answersTimer = undefined;
        this.answers.clear();
        this.uploads.clear();
        this.block2.clear();
        this.inProgress.clear();
        // Clears coap's response cache (and the retransmission timers hanging off it) and its
        // Block1/Block2 caches with their expiry timers; the socket is ours, it does not close it.
        this.server.close();
        this.agent.close();
        await new Promise<void>((resolve) => this.sock.close(() => resolve()));
    }
}
