import { randomBytes } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { EventEmitter } from 'node:events';
import { el, type XmlElement } from '../xml';
import {
    AccessControl,
    type AccessDefault,
    type AccessHook,
    type AccessRule,
    type Disposable,
    JidMatcher,
} from './access';
import { Backoff } from './backoff';
import { StanzaError, XmppError } from './errors';
import { type Jid, parseJid, tryParseJid } from './jid';
import { NS } from './namespaces';
import { negotiate } from './negotiate';
import {
    acceptsSubscription,
    type OwnPresence,
    type PeerPresence,
    parsePresence,
    parseRosterQuery,
    presenceStanza,
    type RosterItem,
    rosterQuery,
    type SubscriptionPolicy,
} from './roster';
import {
    createStream,
    DEFAULT_STREAM_LIMITS,
    type DroppedStanza,
    type StreamLimits,
    type StreamTarget,
    type XmppStream,
} from './stream';
import { ackElement, ackRequestElement, type OutItem, readH, StreamManagement, stampDelay } from './stream-management';
import type { TlsMode, TlsTrust } from './tls';

/**
 * The states a session goes through. Every user of the session sees them (node status).
 * - idle: created, not started
 * - connecting: opening a new session (TCP, TLS, SASL, bind)
 * - resuming: the stream dropped; reconnecting to resume the XEP-0198 session
 * - online: stanzas flow
 * - offline: no connection; waiting `retryInMs` before the next attempt
 * - auth-failed / tls-failed: the server refused the credentials / the certificate was refused;
 *   retried at the longest backoff, because an operator has to fix something
 * - closed: stopped for good
 */
export type SessionState =
    | 'idle'
    | 'connecting'
    | 'resuming'
    | 'online'
    | 'offline'
    | 'auth-failed'
    | 'tls-failed'
    | 'closed';

export interface StateInfo {
    /** Why the session left `online` or why the last attempt failed. */
    error?: Error;
    /** Delay before the next attempt, in `offline`, `auth-failed` and `tls-failed`. */
    retryInMs?: number;
    /** The bound full JID, in `online`. */
    jid?: string;
    /** In `online`: the previous XEP-0198 session was resumed, nothing was lost. */
    resumed?: boolean;
}

export interface SessionLogger {
    debug?(message: string): void;
    info?(message: string): void;
    warn?(message: string): void;
}

export interface SrvRecord {
    name: string;
    port: number;
    priority: number;
    weight: number;
}

export interface SessionOptions {
    /** The account: `user@domain` (a resource here is used as the default resource). */
    jid: string;
    password: string;
    /** Resource to bind; default: the JID's resource, else `derlink-` and random hex. */
    resource?: string;
    /** Server host; default: DNS SRV (XEP-0368 for direct TLS, RFC 6120 §3.2 otherwise), then the domain. */
    host?: string;
    /** Server port; default 5223 for direct TLS, else 5222. */
    port?: number;
    tls?: TlsMode;
    trust?: TlsTrust;
    presence?: OwnPresence;
    /** How to answer presence subscription requests. Default `none`. */
    subscriptions?: SubscriptionPolicy;
    /** Patterns accepted under the `allowlist` policy (see JidMatcher). */
    allowlist?: readonly string[];
    /** After approving a subscription, subscribe back so the peer's presence is seen too. Default true. */
    mutualSubscription?: boolean;
    /** Per-namespace access rules for requests to this account. */
    access?: readonly AccessRule[];
    /** Access for namespaces without a rule. Default `all`. */
    defaultAccess?: AccessDefault;
    /** XEP-0198 stream management and resumption. Default true. */
    streamManagement?: boolean;
    reconnect?: { minMs?: number; maxMs?: number; random?: () => number };
    /** XEP-0199 keepalive: ping the server after `intervalMs` of silence; the link is dead after `timeoutMs` more. */
    keepalive?: { intervalMs?: number; timeoutMs?: number };
    /** Bound on each connection step. Default 15 s. */
    connectTimeoutMs?: number;
    /** Default bound on IQ requests. Default 30 s. */
    iqTimeoutMs?: number;
    /** Most stanzas waiting for a connection or an acknowledgement. Default 10000. */
    maxQueue?: number;
    limits?: Partial<StreamLimits>;
    /** disco#info identity (XEP-0030); default client/bot "DERlink". */
    identity?: { category: string; type: string; name: string };
    logger?: SessionLogger;
    /** Injectable SRV lookup (tests). */
    resolveSrv?: (name: string) => Promise<SrvRecord[]>;
}

/** An IQ get or set addressed to this account. */
export interface IqRequest {
    id: string;
    type: 'get' | 'set';
    /** Sender's full JID; the account's bare JID when the server sends on its behalf. */
    from: string;
    payload: XmlElement;
    stanza: XmlElement;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing answers an empty result
export type IqHandler = (request: IqRequest) => Promise<XmlElement | undefined | void> | XmlElement | undefined | void;

/** A message or presence addressed to this account, with the payload element a handler was registered for. */
export interface IncomingMessage {
    from: string;
    type: string;
    id: string | undefined;
    payload: XmlElement;
    stanza: XmlElement;
}

export type MessageHandler = (message: IncomingMessage) => void | Promise<void>;

export interface SubscriptionEvent {
    from: string;
    type: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';
    /** For `subscribe`: whether the account's policy approved it. */
    approved?: boolean;
}

export interface SessionEvents {
    state: [state: SessionState, info: StateInfo];
    presence: [presence: PeerPresence];
    roster: [items: RosterItem[]];
    subscription: [event: SubscriptionEvent];
    message: [stanza: XmlElement];
    /** Something went wrong that did not stop the session (a handler threw, a peer misbehaved). */
    warning: [error: Error];
}

interface PendingIq {
    /** The address the request went to, normalised; undefined for the account's own server. */
    to: Jid | undefined;
    item: OutItem;
    resolve(payload: XmlElement | undefined): void;
    reject(err: Error): void;
    timer: NodeJS.Timeout;
}

const STANZA_NAMES = new Set(['iq', 'message', 'presence']);

/**
 * One XMPP account's connection, shared by every node that uses the account. It connects,
 * authenticates and keeps the connection: reconnect with backoff and jitter, XEP-0198
 * resumption with a resend queue, XEP-0199 dead-link detection. Stanzas handed to `send`
 * are delivered or end in an error; none disappear.
 */
export class Session extends EventEmitter<SessionEvents> {
    readonly account: Jid;
    readonly #o: Required<
        Pick<
            SessionOptions,
            | 'password'
            | 'tls'
            | 'subscriptions'
            | 'mutualSubscription'
            | 'streamManagement'
            | 'connectTimeoutMs'
            | 'iqTimeoutMs'
            | 'maxQueue'
        >
    > &
        SessionOptions;
    readonly #resource: string;
    readonly #limits: StreamLimits;
    readonly #backoff: Backoff;
    readonly #keepalive: { intervalMs: number; timeoutMs: number };
    readonly #sm = new StreamManagement();
    readonly #access: AccessControl;
    readonly #allowlist: JidMatcher;
    readonly #outbox: OutItem[] = [];
    readonly #pending = new Map<string, PendingIq>();
    readonly #iqHandlers = new Map<string, IqHandler>();
    /** Handlers by `kind ns name`, kind being message or presence. */
    readonly #payloadHandlers = new Map<string, Set<MessageHandler>>();
    readonly #features = new Map<string, number>();
    readonly #roster = new Map<string, RosterItem>();
    readonly #peers = new Map<string, Map<string, PeerPresence>>();

    #state: SessionState = 'idle';
    #stream: XmppStream | undefined;
    #jid: string | undefined;
    #flowing = false;
    #closing = false;
    #presence: OwnPresence;
    #retryTimer: NodeJS.Timeout | undefined;
    #stableTimer: NodeJS.Timeout | undefined;
    #ackTimer: NodeJS.Timeout | undefined;
    #pingTimer: NodeJS.Timeout | undefined;
    #lastRx = 0;
    #pinging = false;
    #idCounter = 0;
    readonly #idPrefix = randomBytes(4).toString('hex');

    constructor(options: SessionOptions) {
        super();
        this.account = parseJid(options.jid);
        if (!this.account.local)
            throw new XmppError('BAD_INPUT', `"${options.jid}" is not an account JID (user@domain)`);
        if (typeof options.password !== 'string' || options.password === '') {
            throw new XmppError('BAD_INPUT', 'The account has no password');
        }
        this.#o = {
            tls: 'starttls',
            subscriptions: 'none',
            mutualSubscription: true,
            streamManagement: true,
            connectTimeoutMs: 15_000,
            iqTimeoutMs: 30_000,
            maxQueue: 10_000,
            ...options,
        };
        this.#resource = options.resource || this.account.resource || `derlink-${randomBytes(4).toString('hex')}`;
        this.#limits = { ...DEFAULT_STREAM_LIMITS, ...options.limits };
        this.#backoff = new Backoff({
            minMs: options.reconnect?.minMs ?? 1000,
            maxMs: options.reconnect?.maxMs ?? 60_000,
            ...(options.reconnect?.random ? { random: options.reconnect.random } : {}),
        });
        this.#keepalive = {
            intervalMs: options.keepalive?.intervalMs ?? 60_000,
            timeoutMs: options.keepalive?.timeoutMs ?? 10_000,
        };
        this.#presence = { ...options.presence };
        this.#allowlist = new JidMatcher(options.allowlist ?? []);
        this.#access = new AccessControl({
            ...(options.access ? { rules: options.access } : {}),
            ...(options.defaultAccess ? { default: options.defaultAccess } : {}),
            isContact: (bare) => {
                const s = this.#roster.get(bare)?.subscription;
                return s === 'from' || s === 'both';
            },
        });
        this.#installBuiltins();
    }

    get state(): SessionState {
        return this.#state;
    }

    /** The bound full JID while a session exists. */
    get jid(): string | undefined {
        return this.#jid;
    }

    /** Stanzas waiting for a connection plus stanzas sent and not yet acknowledged. */
    get queued(): number {
        return this.#outbox.length + this.#sm.unacked.length;
    }

    /** XEP-0198 is active on the current stream. */
    get streamManagementEnabled(): boolean {
        return this.#sm.enabled;
    }

    /** Starts connecting (and keeps the connection until close). Calling it again does nothing. */
    start(): void {
        if (this.#state !== 'idle') return;
        void this.#attempt();
    }

    /**
     * Closes the session: waits briefly for outstanding acknowledgements, sends unavailable
     * presence, closes the stream, and fails whatever is still queued with CLOSED.
     */
    async close(timeoutMs = 3000): Promise<void> {
        if (this.#state === 'closed' || this.#closing) return;
        this.#closing = true;
        clearTimeout(this.#retryTimer);
        clearTimeout(this.#stableTimer);
        const stream = this.#stream;
        const deadline = Date.now() + timeoutMs;
        if (stream && this.#state === 'online') {
            // RFC 6121 §4.5.1: tell contacts we are leaving; then give outstanding stanzas a moment to be acknowledged.
            this.#transmit(this.#internalItem(el('presence', { type: 'unavailable' })));
            if (this.#sm.enabled) {
                await stream.sendElement(ackRequestElement()).catch(() => {});
                while (this.#sm.unacked.length > 0 && this.#stream === stream && Date.now() < deadline - 500) {
                    await new Promise((r) => setTimeout(r, 20));
                }
            }
        }
        this.#stopTimers();
        this.#stream = undefined;
        if (stream) {
            // #onDrop ignores this stream now that it is no longer the current one.
            await stream.closeGracefully(Math.max(100, Math.min(1000, deadline - Date.now())));
        }
        const closed = new XmppError('CLOSED', 'The XMPP session was closed');
        for (const item of [...this.#sm.unacked.splice(0), ...this.#outbox.splice(0)]) item.reject(closed);
        for (const [id, p] of this.#pending) {
            clearTimeout(p.timer);
            this.#pending.delete(id);
            p.reject(closed);
        }
        this.#flowing = false;
        this.#jid = undefined;
        this.#setState('closed', {});
    }

    // ---- sending -------------------------------------------------------------------------

    /**
     * Sends a stanza. Resolves once the server acknowledged it (XEP-0198), or once it was
     * written when the server has no stream management. While offline it waits in the
     * queue (bounded by `maxQueue`: beyond that it fails with QUEUE_FULL).
     */
    send(stanza: XmlElement): Promise<void> {
        return this.#enqueue(stanza).done;
    }

    #enqueue(stanza: XmlElement): { item: OutItem | undefined; done: Promise<void> } {
        const refuse = (err: XmppError) => ({ item: undefined, done: Promise.reject(err) });
        if (!STANZA_NAMES.has(stanza.local)) {
            return refuse(
                new XmppError('BAD_INPUT', `Only iq, message and presence can be sent, not <${stanza.name}/>`),
            );
        }
        if (this.#state === 'closed' || this.#closing)
            return refuse(new XmppError('CLOSED', 'The XMPP session is closed'));
        if (this.queued >= this.#o.maxQueue) {
            return refuse(
                new XmppError(
                    'QUEUE_FULL',
                    `${this.queued} stanzas are already waiting; refusing more until the connection recovers`,
                ),
            );
        }
        try {
            stanza.toString(); // refuse content XML cannot carry now, not when the stream would break on it
        } catch (err) {
            return refuse(new XmppError('BAD_INPUT', (err as Error).message, { cause: err }));
        }
        let item: OutItem | undefined;
        const done = new Promise<void>((resolve, reject) => {
            item = { stanza, queuedAt: Date.now(), resolve, reject };
        });
        const it = item as unknown as OutItem;
        if (this.#flowing && this.#outbox.length === 0) this.#transmit(it);
        else this.#outbox.push(it);
        return { item: it, done };
    }

    /**
     * Sends an IQ and waits for its answer. Resolves with the answer's payload element
     * (undefined for an empty result); rejects with StanzaError for an error answer
     * (non-standard errors included) and with TIMEOUT when no answer comes in time.
     */
    request(
        to: string | undefined,
        type: 'get' | 'set',
        payload: XmlElement,
        options: { timeoutMs?: number } = {},
    ): Promise<XmlElement | undefined> {
        let target: Jid | undefined;
        if (to !== undefined) {
            target = tryParseJid(to);
            if (!target) return Promise.reject(new XmppError('BAD_INPUT', `"${to}" is not a JID`));
        }
        const id = `${this.#idPrefix}-${++this.#idCounter}`;
        const stanza = el('iq', { type, id, to: target?.full }, payload);
        const timeoutMs = options.timeoutMs ?? this.#o.iqTimeoutMs;
        return new Promise<XmlElement | undefined>((resolve, reject) => {
            const { item, done } = this.#enqueue(stanza);
            if (!item) {
                done.catch(reject);
                return;
            }
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                reject(
                    new XmppError(
                        'TIMEOUT',
                        `No answer from ${to ?? this.account.domain} to <${payload.local} xmlns='${payload.ns}'/> within ${timeoutMs} ms`,
                    ),
                );
            }, timeoutMs);
            this.#pending.set(id, { to: target, item, resolve, reject, timer });
            done.catch((err: Error) => {
                // Refused or failed before delivery (CLOSED): the caller learns it now, not at the timeout.
                if (this.#pending.delete(id)) {
                    clearTimeout(timer);
                    reject(err);
                }
            });
        });
    }

    // ---- handlers ------------------------------------------------------------------------

    /** Serves IQ `type` requests whose payload is `<name xmlns=ns/>`. One handler per (type, ns, name). */
    handleIq(type: 'get' | 'set', ns: string, name: string, handler: IqHandler): Disposable {
        const key = `${type} ${ns} ${name}`;
        if (this.#iqHandlers.has(key)) {
            throw new XmppError(
                'CONFLICT',
                `Another node already serves IQ ${type} <${name} xmlns='${ns}'/> on ${this.account.bare}`,
            );
        }
        this.#iqHandlers.set(key, handler);
        return { dispose: () => this.#iqHandlers.get(key) === handler && this.#iqHandlers.delete(key) };
    }

    /** Receives messages carrying a `<name xmlns=ns/>` payload. Several handlers may listen. */
    handleMessage(ns: string, name: string, handler: MessageHandler): Disposable {
        return this.#addPayloadHandler('message', ns, name, handler);
    }

    /** Receives presence stanzas carrying a `<name xmlns=ns/>` extension (e.g. XEP-0115 caps). */
    handlePresence(ns: string, name: string, handler: MessageHandler): Disposable {
        return this.#addPayloadHandler('presence', ns, name, handler);
    }

    #addPayloadHandler(kind: 'message' | 'presence', ns: string, name: string, handler: MessageHandler): Disposable {
        const key = `${kind} ${ns} ${name}`;
        const set = this.#payloadHandlers.get(key) ?? new Set<MessageHandler>();
        this.#payloadHandlers.set(key, set);
        set.add(handler);
        return {
            dispose: () => {
                set.delete(handler);
                if (set.size === 0) this.#payloadHandlers.delete(key);
            },
        };
    }

    /** Advertises a feature in disco#info (XEP-0030) while the returned handle is not disposed. */
    addFeature(ns: string): Disposable {
        this.#features.set(ns, (this.#features.get(ns) ?? 0) + 1);
        let done = false;
        return {
            dispose: () => {
                if (done) return;
                done = true;
                const n = (this.#features.get(ns) ?? 1) - 1;
                if (n <= 0) this.#features.delete(ns);
                else this.#features.set(ns, n);
            },
        };
    }

    /** Features advertised in disco#info. */
    get features(): string[] {
        return [...this.#features.keys()].sort();
    }

    /** A node's own access check for a namespace (see AccessControl). */
    addAccessHook(ns: string, hook: AccessHook): Disposable {
        return this.#access.addHook(ns, hook);
    }

    /** Whether a request in `ns` from `from` would be served. */
    allows(ns: string, from: string | undefined): boolean {
        return this.#access.allows(ns, from, { bare: this.account.bare, domain: this.account.domain });
    }

    // ---- presence and roster -------------------------------------------------------------

    get roster(): RosterItem[] {
        return [...this.#roster.values()];
    }

    /** Every known resource of every peer, available ones only. */
    get peers(): PeerPresence[] {
        const out: PeerPresence[] = [];
        for (const resources of this.#peers.values()) out.push(...resources.values());
        return out;
    }

    /** The peer's available resources, highest priority first. */
    presenceOf(jid: string): PeerPresence[] {
        const j = tryParseJid(jid);
        if (!j) return [];
        const all = [...(this.#peers.get(j.bare)?.values() ?? [])];
        return (j.resource ? all.filter((p) => p.jid === j.full) : all).sort((a, b) => b.priority - a.priority);
    }

    /** Changes the account's own presence (show, status, priority) and broadcasts it when online. */
    async setPresence(presence: OwnPresence): Promise<void> {
        this.#presence = { ...presence };
        if (this.#flowing) await this.send(presenceStanza(this.#presence));
    }

    /** Asks `jid` for a presence subscription (RFC 6121 §3.1.1). */
    subscribe(jid: string): Promise<void> {
        return this.#sendPresenceType(jid, 'subscribe');
    }

    /** Cancels our subscription to `jid`'s presence (RFC 6121 §3.3). */
    unsubscribe(jid: string): Promise<void> {
        return this.#sendPresenceType(jid, 'unsubscribe');
    }

    /** Approves (subscribed) or refuses/revokes (unsubscribed) `jid`'s subscription to us. */
    answerSubscription(jid: string, approve: boolean): Promise<void> {
        return this.#sendPresenceType(jid, approve ? 'subscribed' : 'unsubscribed');
    }

    #sendPresenceType(jid: string, type: string): Promise<void> {
        const j = tryParseJid(jid);
        if (!j) return Promise.reject(new XmppError('BAD_INPUT', `"${jid}" is not a JID`));
        return this.send(el('presence', { to: j.bare, type }));
    }

    // ---- connection life cycle -----------------------------------------------------------

    #setState(state: SessionState, info: StateInfo): void {
        this.#state = state;
        this.emit('state', state, info);
    }

    async #attempt(): Promise<void> {
        if (this.#closing) return;
        this.#setState(this.#sm.id ? 'resuming' : 'connecting', {});
        let stream: XmppStream | undefined;
        try {
            stream = await createStream(this.account.domain, this.#limits, this.#o.connectTimeoutMs);
            this.#stream = stream;
            stream.on('dropped', (d: DroppedStanza) => this.#onDropped(d));
            const target = await this.#target(stream.redirect);
            await stream.connectTo(target, this.#o.connectTimeoutMs);
            if (this.#closing) throw new XmppError('CLOSED', 'closed while connecting');
            const result = await negotiate(
                stream,
                {
                    domain: this.account.domain,
                    credentials: { username: this.account.local, password: this.#o.password },
                    resource: this.#resource,
                    tls: this.#o.tls,
                    trust: this.#o.trust ?? {},
                    streamManagement: this.#o.streamManagement,
                    stepTimeoutMs: this.#o.connectTimeoutMs,
                    trace: (step) => this.#o.logger?.debug?.(`${this.account.bare}: ${step}`),
                },
                this.#sm.id ? { id: this.#sm.id, h: this.#sm.inbound } : undefined,
            );
            if (this.#closing) throw new XmppError('CLOSED', 'closed while connecting');
            await this.#goOnline(stream, result);
        } catch (err) {
            if (this.#stream === stream) this.#stream = undefined;
            stream?.destroy();
            if (this.#closing) return;
            this.#scheduleRetry(err as Error);
        }
    }

    async #goOnline(stream: XmppStream, result: Awaited<ReturnType<typeof negotiate>>): Promise<void> {
        const { resumed } = result;
        stream.inbox.drainTo((e) => this.#onElement(e));
        stream.on('disconnect', () => this.#onDrop(stream));
        this.#lastRx = Date.now();
        if (resumed) {
            const { acked, resend } = this.#sm.resumed(result.h ?? this.#sm.acked);
            for (const item of acked) item.resolve();
            this.#flowing = true;
            for (const item of resend) this.#transmit(item);
        } else {
            if (this.#sm.id || this.#sm.unacked.length > 0 || result.resumeFailed) this.#sessionLost(result.h);
            this.#jid = result.jid;
            if (result.sm) this.#sm.start(result.sm.id, result.sm.resumable);
            this.#clearPeers();
            this.#flowing = true;
            // RFC 6121 §2.2 and §4.2: roster first, then initial presence.
            await this.#fetchRoster();
            if (this.#stream !== stream) return; // dropped meanwhile; the retry is already scheduled
            this.#transmit(this.#internalItem(presenceStanza(this.#presence)));
        }
        const queued = this.#outbox.splice(0);
        for (const item of queued) {
            if (Date.now() - item.queuedAt > 1000) stampDelay(item.stanza, item.queuedAt, this.account.bare);
            this.#transmit(item);
        }
        this.#startKeepalive();
        clearTimeout(this.#stableTimer);
        this.#stableTimer = setTimeout(() => this.#backoff.reset(), 10_000);
        this.#setState('online', { jid: this.#jid ?? '', resumed });
        this.#o.logger?.info?.(`${this.account.bare}: online as ${this.#jid}${resumed ? ' (session resumed)' : ''}`);
    }

    /**
     * The server no longer holds our session: what it never acknowledged goes back to the
     * front of the queue (to be sent on the new session), and IQs whose request it did
     * receive can no longer be answered, so their callers learn it now.
     */
    #sessionLost(h: number | undefined): void {
        const { acked, undelivered } = this.#sm.lost(h);
        for (const item of acked) item.resolve();
        for (const item of undelivered) stampDelay(item.stanza, item.queuedAt, this.account.bare);
        this.#outbox.unshift(...undelivered.filter((i) => !this.#isInternal(i)));
        this.#failDeliveredIqs();
        if (undelivered.length > 0) {
            this.#o.logger?.info?.(
                `${this.account.bare}: session not resumed; ${undelivered.length} unacknowledged stanzas will be sent again`,
            );
        }
    }

    /** Rejects requests that reached a server session which no longer exists. */
    #failDeliveredIqs(): void {
        const waiting = new Set(this.#outbox);
        for (const item of this.#sm.unacked) waiting.add(item);
        for (const [id, p] of this.#pending) {
            if (waiting.has(p.item)) continue;
            clearTimeout(p.timer);
            this.#pending.delete(id);
            p.reject(
                new XmppError(
                    'SESSION_LOST',
                    'The connection was lost after the request was sent; it may or may not have been carried out',
                ),
            );
        }
    }

    #onDrop(stream: XmppStream): void {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        this.#flowing = false;
        this.#stopTimers();
        if (this.#closing) return;
        this.#sm.suspend();
        const reason = new XmppError('SESSION_LOST', 'Connection to the server lost');
        if (!this.#sm.resumable) {
            // Without XEP-0198 there is no way to know what the server got; everything written counts as sent.
            this.#failDeliveredIqs();
        }
        this.#o.logger?.info?.(`${this.account.bare}: connection lost${this.#sm.resumable ? ', will resume' : ''}`);
        this.#scheduleRetry(reason);
    }

    #scheduleRetry(error: Error): void {
        if (this.#closing) return;
        const code = (error as XmppError).code;
        const fatal = code === 'AUTH_FAILED' || code === 'TLS_FAILED';
        let delay = this.#backoff.next();
        if (fatal) delay = Math.max(delay, this.#o.reconnect?.maxMs ?? 60_000);
        const state: SessionState =
            code === 'AUTH_FAILED'
                ? 'auth-failed'
                : code === 'TLS_FAILED'
                  ? 'tls-failed'
                  : this.#sm.id
                    ? 'resuming'
                    : 'offline';
        if (code !== 'SESSION_LOST') {
            this.#o.logger?.warn?.(
                `${this.account.bare}: ${error.message || error.name}; next attempt in ${Math.round(delay / 100) / 10} s`,
            );
        }
        this.#setState(state, { error, retryInMs: delay });
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => void this.#attempt(), delay);
    }

    async #target(redirect: string | undefined): Promise<StreamTarget> {
        const direct = this.#o.tls === 'direct';
        const defaultPort = direct ? 5223 : 5222;
        const base = { direct, domain: this.account.domain, trust: this.#o.trust ?? {} };
        if (redirect) {
            const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(redirect);
            if (m?.[1]) return { ...base, host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
        }
        if (this.#o.host) return { ...base, host: this.#o.host, port: this.#o.port ?? defaultPort };
        const service = direct ? '_xmpps-client._tcp' : '_xmpp-client._tcp';
        try {
            const lookup = this.#o.resolveSrv ?? ((name: string) => dns.resolveSrv(name));
            const records = pickSrv(await lookup(`${service}.${this.account.domain}`));
            if (records) return { ...base, host: records.name, port: records.port };
        } catch {
            // No SRV record: RFC 6120 §3.2.2 fallback to the domain itself.
        }
        return { ...base, host: this.account.domain, port: this.#o.port ?? defaultPort };
    }

    // ---- transmitting --------------------------------------------------------------------

    #internalItem(stanza: XmlElement): OutItem {
        const item: OutItem = { stanza, queuedAt: Date.now(), resolve: () => {}, reject: () => {} };
        INTERNAL.add(item);
        return item;
    }

    #isInternal(item: OutItem): boolean {
        return INTERNAL.has(item);
    }

    #transmit(item: OutItem): void {
        const stream = this.#stream;
        if (!stream || !this.#flowing) {
            this.#outbox.push(item);
            return;
        }
        const sm = this.#sm.enabled;
        if (sm) {
            this.#sm.sent(item);
            this.#scheduleAckRequest();
        }
        stream.sendElement(item.stanza).then(
            () => {
                if (!sm) item.resolve();
            },
            () => {
                // The socket went away under us. With XEP-0198 the item is still unacknowledged and
                // is settled by resumption or loss; without it, it goes back to the queue.
                if (!sm && !this.#isInternal(item)) this.#outbox.unshift(item);
            },
        );
    }

    #scheduleAckRequest(): void {
        if (this.#ackTimer) return;
        this.#ackTimer = setTimeout(() => {
            this.#ackTimer = undefined;
            if (this.#sm.enabled && this.#sm.unacked.length > 0)
                this.#stream?.sendElement(ackRequestElement()).catch(() => {});
        }, 20);
    }

    // ---- receiving -----------------------------------------------------------------------

    #onElement(e: XmlElement): void {
        this.#lastRx = Date.now();
        if (e.ns === NS.SM) {
            this.#onSmElement(e);
            return;
        }
        if (!STANZA_NAMES.has(e.local) || e.ns !== NS.CLIENT) {
            return;
        }
        this.#sm.received();
        try {
            if (e.local === 'iq') this.#onIq(e);
            else if (e.local === 'message') this.#onMessage(e);
            else this.#onPresence(e);
        } catch (err) {
            this.emit('warning', err as Error);
        }
    }

    /**
     * A stanza the parser refused (over a size or shape limit). It counts as handled for XEP-0198,
     * so the server does not send it again; a request or message is answered policy-violation so
     * the sender learns it was refused.
     */
    #onDropped(d: DroppedStanza): void {
        if (!STANZA_NAMES.has(d.name)) return;
        this.#sm.received();
        const from = d.attrs.from ?? this.account.domain;
        const type = d.attrs.type;
        this.emit('warning', new XmppError('PROTOCOL_ERROR', `Dropped a <${d.name}/> from ${from}: ${d.reason}`));
        const answerable =
            (d.name === 'iq' && (type === 'get' || type === 'set')) || (d.name === 'message' && type !== 'error');
        if (answerable && this.#flowing) {
            const error = new StanzaError('policy-violation', `Stanza refused: ${d.reason}`);
            this.#transmit(
                this.#internalItem(el(d.name, { type: 'error', id: d.attrs.id, to: d.attrs.from }, error.toElement())),
            );
        }
    }

    #onSmElement(e: XmlElement): void {
        if (e.local === 'r') {
            this.#stream?.sendElement(ackElement(this.#sm.inbound)).catch(() => {});
        } else if (e.local === 'a') {
            const h = readH(e);
            if (h === undefined) return;
            const { items, excess } = this.#sm.ack(h);
            for (const item of items) item.resolve();
            if (excess > 0)
                this.emit(
                    'warning',
                    new XmppError('PROTOCOL_ERROR', `Server acknowledged ${excess} stanzas more than were sent`),
                );
        }
    }

    #onIq(iq: XmlElement): void {
        const type = iq.attr('type');
        const id = iq.attr('id') ?? '';
        if (type === 'result' || type === 'error') {
            this.#onIqAnswer(iq, type, id);
            return;
        }
        if (type !== 'get' && type !== 'set') {
            this.#replyError(iq, new StanzaError('bad-request', 'IQ type must be get, set, result or error'));
            return;
        }
        const children = iq.elements();
        const payload = children[0];
        if (children.length !== 1 || !payload) {
            this.#replyError(iq, new StanzaError('bad-request', 'An IQ request carries exactly one payload element'));
            return;
        }
        const from = iq.attr('from') ?? this.account.bare;
        if (!this.#isBuiltin(payload.ns) && !this.allows(payload.ns, iq.attr('from'))) {
            this.#replyError(
                iq,
                new StanzaError('forbidden', `${bareOrSelf(from)} may not use ${payload.ns} on this account`),
            );
            return;
        }
        const handler = this.#iqHandlers.get(`${type} ${payload.ns} ${payload.local}`);
        if (!handler) {
            this.#replyError(iq, new StanzaError('service-unavailable'));
            return;
        }
        const request: IqRequest = { id, type, from, payload, stanza: iq };
        Promise.resolve()
            .then(() => handler(request))
            .then(
                (answer) => this.#reply(el('iq', { type: 'result', id, to: iq.attr('from') }, answer ?? undefined)),
                (err: unknown) => {
                    const stanzaError = toStanzaError(err);
                    if (stanzaError.condition === 'internal-server-error') this.emit('warning', err as Error);
                    this.#replyError(iq, stanzaError);
                },
            );
    }

    #onIqAnswer(iq: XmlElement, type: string, id: string): void {
        const pending = this.#pending.get(id);
        if (!pending) return;
        // RFC 6120 §8.1.2.1 and §10.1: only the addressee (or our server, for requests to it) may answer.
        const from = tryParseJid(iq.attr('from'));
        const ownServer =
            !pending.to || pending.to.full === this.account.bare || pending.to.full === this.account.domain;
        const ok =
            (pending.to !== undefined && from !== undefined && from.full === pending.to.full) ||
            (ownServer && (!from || from.full === this.account.domain || from.full === this.account.bare));
        if (!ok) {
            this.emit(
                'warning',
                new XmppError(
                    'PROTOCOL_ERROR',
                    `Ignored an answer to IQ ${id} from ${iq.attr('from')}, which the request was not sent to`,
                ),
            );
            return;
        }
        this.#pending.delete(id);
        clearTimeout(pending.timer);
        if (type === 'result') pending.resolve(iq.elements()[0]);
        else pending.reject(StanzaError.fromStanza(iq));
    }

    #reply(answer: XmlElement): void {
        this.#transmit(this.#internalItem(answer));
    }

    #replyError(request: XmlElement, error: StanzaError): void {
        if (request.attr('type') === 'error' || request.attr('type') === 'result') return;
        const answer = el(
            request.local,
            { type: 'error', id: request.attr('id'), to: request.attr('from') },
            error.toElement(),
        );
        this.#transmit(this.#internalItem(answer));
    }

    #onMessage(message: XmlElement): void {
        this.emit('message', message);
        if (message.attr('type') === 'error') return;
        this.#dispatchPayloads('message', message);
    }

    /**
     * Hands each payload of a message or presence to the handlers registered for it, after
     * the access check. A refused message is answered `forbidden`; a refused presence is dropped.
     */
    #dispatchPayloads(kind: 'message' | 'presence', stanza: XmlElement): void {
        const from = stanza.attr('from') ?? this.account.bare;
        const type = stanza.attr('type') ?? (kind === 'message' ? 'normal' : 'available');
        for (const payload of stanza.elements()) {
            const handlers = this.#payloadHandlers.get(`${kind} ${payload.ns} ${payload.local}`);
            if (!handlers || handlers.size === 0) continue;
            if (!this.allows(payload.ns, stanza.attr('from'))) {
                const denied = new StanzaError(
                    'forbidden',
                    `${bareOrSelf(from)} may not use ${payload.ns} on this account`,
                );
                if (kind === 'message') this.#replyError(stanza, denied);
                else this.emit('warning', denied);
                return;
            }
            const incoming: IncomingMessage = { from, type, id: stanza.attr('id'), payload, stanza };
            for (const h of handlers) {
                Promise.resolve()
                    .then(() => h(incoming))
                    .catch((err: unknown) => this.emit('warning', err as Error));
            }
        }
    }

    #onPresence(p: XmlElement): void {
        const type = p.attr('type');
        const from = tryParseJid(p.attr('from'));
        if (!from) return;
        if (type === 'subscribe') {
            const approved = acceptsSubscription(this.#o.subscriptions, this.#allowlist, from.full);
            this.#transmit(
                this.#internalItem(el('presence', { to: from.bare, type: approved ? 'subscribed' : 'unsubscribed' })),
            );
            const sub = this.#roster.get(from.bare)?.subscription;
            if (
                approved &&
                this.#o.mutualSubscription &&
                sub !== 'to' &&
                sub !== 'both' &&
                !this.#roster.get(from.bare)?.ask
            ) {
                this.#transmit(this.#internalItem(el('presence', { to: from.bare, type: 'subscribe' })));
            }
            this.emit('subscription', { from: from.bare, type, approved });
            return;
        }
        if (type === 'subscribed' || type === 'unsubscribe' || type === 'unsubscribed') {
            this.emit('subscription', { from: from.bare, type });
            return;
        }
        if (type === 'error' || type === 'probe') return;
        this.#dispatchPayloads('presence', p);
        const presence = parsePresence(p);
        if (!presence || presence.jid === this.#jid) return;
        let resources = this.#peers.get(presence.bare);
        if (presence.available) {
            resources ??= new Map<string, PeerPresence>();
            this.#peers.set(presence.bare, resources);
            resources.set(presence.jid, presence);
        } else if (resources) {
            resources.delete(presence.jid);
            if (resources.size === 0) this.#peers.delete(presence.bare);
        }
        this.emit('presence', presence);
    }

    #clearPeers(): void {
        const now = new Date().toISOString();
        for (const resources of this.#peers.values()) {
            for (const p of resources.values()) this.emit('presence', { ...p, available: false, timestamp: now });
        }
        this.#peers.clear();
    }

    async #fetchRoster(): Promise<void> {
        const id = `${this.#idPrefix}-roster-${++this.#idCounter}`;
        const stanza = el('iq', { type: 'get', id }, rosterQuery());
        const answer = new Promise<XmlElement | undefined>((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                reject(new XmppError('TIMEOUT', 'Roster request timed out'));
            }, this.#o.connectTimeoutMs);
            this.#pending.set(id, { to: undefined, item: this.#internalItem(stanza), resolve, reject, timer });
        });
        this.#transmit(this.#pending.get(id)?.item as OutItem);
        try {
            const query = await answer;
            this.#roster.clear();
            for (const item of query ? parseRosterQuery(query) : []) this.#roster.set(item.jid, item);
            this.emit('roster', this.roster);
        } catch (err) {
            this.emit(
                'warning',
                new XmppError('PROTOCOL_ERROR', `Could not fetch the roster: ${(err as Error).message}`),
            );
        }
    }

    // ---- built-in services ---------------------------------------------------------------

    #isBuiltin(ns: string): boolean {
        return ns === NS.PING || ns === NS.DISCO_INFO || ns === NS.ROSTER;
    }

    #installBuiltins(): void {
        this.addFeature(NS.DISCO_INFO);
        this.addFeature(NS.PING);
        // XEP-0199 §4: answer pings.
        this.handleIq('get', NS.PING, 'ping', () => undefined);
        // XEP-0030 §3.1: identity and features.
        this.handleIq('get', NS.DISCO_INFO, 'query', (req) => {
            if (req.payload.attr('node')) throw new StanzaError('item-not-found');
            const id = this.#o.identity ?? { category: 'client', type: 'bot', name: 'DERlink' };
            return el(
                'query',
                { xmlns: NS.DISCO_INFO },
                el('identity', id),
                this.features.map((f) => el('feature', { var: f })),
            );
        });
        // RFC 6121 §2.1.6: roster pushes, accepted only from the account itself.
        this.handleIq('set', NS.ROSTER, 'query', (req) => {
            const from = req.stanza.attr('from');
            if (from !== undefined && tryParseJid(from)?.bare !== this.account.bare) throw new StanzaError('forbidden');
            for (const item of parseRosterQuery(req.payload)) {
                if (item.subscription === 'remove') this.#roster.delete(item.jid);
                else this.#roster.set(item.jid, item);
            }
            this.emit('roster', this.roster);
            return undefined;
        });
    }

    #startKeepalive(): void {
        clearInterval(this.#pingTimer);
        const { intervalMs, timeoutMs } = this.#keepalive;
        if (intervalMs <= 0) return;
        const tick = Math.max(100, Math.min(intervalMs / 4, 5000));
        this.#pingTimer = setInterval(() => {
            if (this.#pinging || !this.#flowing || Date.now() - this.#lastRx < intervalMs) return;
            const stream = this.#stream;
            this.#pinging = true;
            this.request(undefined, 'get', el('ping', { xmlns: NS.PING }), { timeoutMs })
                .catch((err: XmppError) => {
                    if (err.code === 'TIMEOUT' && this.#stream === stream && stream) {
                        this.#o.logger?.warn?.(
                            `${this.account.bare}: no answer to a ping within ${timeoutMs} ms; the link is dead`,
                        );
                        stream.destroy();
                    }
                })
                .finally(() => {
                    this.#pinging = false;
                });
        }, tick);
    }

    #stopTimers(): void {
        clearInterval(this.#pingTimer);
        clearTimeout(this.#ackTimer);
        this.#ackTimer = undefined;
        this.#pinging = false;
    }
}

const INTERNAL = new WeakSet<OutItem>();

function bareOrSelf(jid: string): string {
    return tryParseJid(jid)?.bare ?? jid;
}

function toStanzaError(err: unknown): StanzaError {
    if (err instanceof StanzaError) return err;
    const code = (err as XmppError | undefined)?.code;
    const message = err instanceof Error ? err.message : undefined;
    switch (code) {
        case 'BAD_INPUT':
            return new StanzaError('bad-request', message);
        case 'ACCESS_DENIED':
            return new StanzaError('forbidden', message);
        case 'NOT_FOUND':
            return new StanzaError('item-not-found', message);
        case 'NOT_SUPPORTED':
            return new StanzaError('feature-not-implemented', message);
        case 'CONFLICT':
            return new StanzaError('conflict', message);
        case 'TIMEOUT':
            return new StanzaError('remote-server-timeout', message);
        default:
            return new StanzaError('internal-server-error');
    }
}

/** RFC 2782: lowest priority first; among equals, a weighted random choice. */
export function pickSrv(records: readonly SrvRecord[], random = Math.random): SrvRecord | undefined {
    const usable = records.filter((r) => r.name !== '.' && r.name !== '');
    if (usable.length === 0) return undefined;
    const best = Math.min(...usable.map((r) => r.priority));
    const group = usable.filter((r) => r.priority === best);
    const total = group.reduce((s, r) => s + r.weight, 0);
    if (total === 0) return group[Math.floor(random() * group.length)];
    // Weight-0 records keep the small chance RFC 2782 gives them: 1 in total + 1.
    const zero = group.filter((r) => r.weight === 0);
    let pick = random() * (zero.length > 0 ? total + 1 : total);
    if (zero.length > 0) {
        if (pick < 1) return zero[Math.floor(pick * zero.length)];
        pick -= 1;
    }
    for (const r of group) {
        pick -= r.weight;
        if (pick < 0) return r;
    }
    return group[group.length - 1];
}
