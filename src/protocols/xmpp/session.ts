import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { el, type XmlElement } from '../xml';
import { AccessControl, type AccessHook, type Disposable, JidMatcher } from './access';
import { Backoff } from './backoff';
import { StanzaError, XmppError } from './errors';
import { IqCaller } from './iq-caller';
import { type Jid, parseJid, tryParseJid } from './jid';
import { NS } from './namespaces';
import { type NegotiationResult, negotiate } from './negotiate';
import { PresenceBook } from './presence-book';
import {
    type OwnPresence,
    type PeerPresence,
    parseRosterQuery,
    presenceStanza,
    type RosterItem,
    rosterQuery,
} from './roster';
import { Router } from './router';
import type {
    IqHandler,
    MessageHandler,
    SessionEvents,
    SessionOptions,
    SessionState,
    StateInfo,
} from './session-types';
import { resolveTarget } from './srv';
import { createStream, DEFAULT_STREAM_LIMITS, type DroppedStanza, type StreamLimits, type XmppStream } from './stream';
import { ackElement, ackRequestElement, type OutItem, readH, StreamManagement, stampDelay } from './stream-management';

const STANZA_NAMES = new Set(['iq', 'message', 'presence']);
/** XEP-0198: how long after sending we ask for an acknowledgement, and after how many stanzas at the latest. */
const ACK_REQUEST_DELAY_MS = 250;
/**
 * When only stanzas nobody waits on were sent (answers, IQ requests whose answer is what the
 * caller waits for): ask later, after the burst (wire note §2.3: after each burst, at least every
 * 30 s). An IED answering one poll in ten seconds then costs the server no <r/> and <a/> while
 * the poll cycle is busy (measured with 1,000 IEDs: the server's CPU is the bottleneck).
 */
const LAZY_ACK_REQUEST_DELAY_MS = 5000;
const ACK_REQUEST_EVERY = 128;
/** How long an answer to the server's XEP-0198 <r/> may wait, so that answers of a burst are one. */
const ACK_ANSWER_DELAY_MS = 100;
/** Stanzas handled since our last <a/> after which the server's <r/> is answered at once. */
const ACK_ANSWER_EVERY = 64;

/** Stanzas the session sends itself (answers, presence, roster requests): nobody waits on them. */
const INTERNAL = new WeakSet<OutItem>();
/** IQ requests: their caller waits for the answer, not for the acknowledgement. */
const LAZY_ACK = new WeakSet<OutItem>();

function internal(stanza: XmlElement): OutItem {
    const item: OutItem = { stanza, queuedAt: Date.now(), resolve: () => {}, reject: () => {} };
    INTERNAL.add(item);
    return item;
}

type ResolvedOptions = Required<
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

/**
 * One XMPP account's connection, shared by every node that uses the account. It connects,
 * authenticates and keeps the connection: reconnect with backoff and jitter, XEP-0198
 * resumption with a resend queue, XEP-0199 dead-link detection. Stanzas handed to `send`
 * are delivered or end in an error; none disappear.
 *
 * Its parts: the stream and negotiation (stream.ts, negotiate.ts), XEP-0198 bookkeeping
 * (stream-management.ts), outbound IQ correlation (iq-caller.ts), inbound routing and access
 * (router.ts), roster and presence (presence-book.ts).
 */
export class Session extends EventEmitter<SessionEvents> {
    readonly account: Jid;
    readonly #o: ResolvedOptions;
    readonly #resource: string;
    readonly #limits: StreamLimits;
    readonly #backoff: Backoff;
    readonly #keepalive: { intervalMs: number; timeoutMs: number };
    readonly #sm = new StreamManagement();
    readonly #iq: IqCaller;
    readonly #router: Router;
    readonly #book: PresenceBook;
    /** Stanzas waiting for a connection, in order. */
    readonly #outbox: OutItem[] = [];

    #state: SessionState = 'idle';
    #stream: XmppStream | undefined;
    #jid: string | undefined;
    /** Stanzas may be written to the current stream. */
    #flowing = false;
    #closing = false;
    #presence: OwnPresence;
    #retryTimer: NodeJS.Timeout | undefined;
    #stableTimer: NodeJS.Timeout | undefined;
    #ackTimer: NodeJS.Timeout | undefined;
    /** The pending ack request is the late one (only unawaited stanzas since the last). */
    #ackTimerLazy = false;
    /** Our answer to the server's <r/>, due shortly. */
    #ackAnswerTimer: NodeJS.Timeout | undefined;
    /** The count of handled stanzas our last <a/> carried. */
    #ackedInbound = 0;
    #sentSinceAckRequest = 0;
    #pingTimer: NodeJS.Timeout | undefined;
    #lastRx = 0;
    #pinging = false;
    /** Where the server told us to go instead (see-other-host, RFC 6120 §4.9.3.19), for the next attempt only. */
    #redirect: string | undefined;
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
            subscriptions: 'ask',
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
        this.#iq = new IqCaller(this.account);
        this.#book = new PresenceBook({
            policy: this.#o.subscriptions,
            allowlist: new JidMatcher(options.allowlist ?? []),
            mutual: this.#o.mutualSubscription,
            send: (stanza) => this.#transmit(internal(stanza)),
            onPresence: (p) => this.emit('presence', p),
            onRoster: (items) => this.emit('roster', items),
            onSubscription: (e) => this.emit('subscription', e),
        });
        this.#router = new Router({
            account: this.account,
            access: new AccessControl({
                ...(options.access ? { rules: options.access } : {}),
                ...(options.defaultAccess ? { default: options.defaultAccess } : {}),
                isContact: (bare) => this.#book.isContact(bare),
            }),
            reply: (stanza) => this.#transmit(internal(stanza)),
            warn: (err) => this.emit('warning', err),
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
     * Closes the session: sends unavailable presence, waits briefly for outstanding
     * acknowledgements, closes the stream, and fails whatever is still queued with CLOSED.
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
            this.#transmit(internal(el('presence', { type: 'unavailable' })));
            if (this.#sm.enabled) {
                await stream.sendElement(ackRequestElement()).catch(() => {});
                while (this.#sm.unacked.length > 0 && this.#stream === stream && Date.now() < deadline - 500) {
                    await new Promise((r) => setTimeout(r, 20));
                }
            }
        }
        this.#stopTimers();
        this.#stream = undefined; // #onDrop ignores a stream that is no longer the current one
        if (stream) await stream.closeGracefully(Math.max(100, Math.min(1000, deadline - Date.now())));
        const closed = new XmppError('CLOSED', 'The XMPP session was closed');
        for (const item of [...this.#sm.unacked.splice(0), ...this.#outbox.splice(0)]) item.reject(closed);
        this.#iq.failAll(closed);
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
        const { item, done } = this.#enqueue(el('iq', { type, id, to: target?.full }, payload), true);
        if (!item) return done.then(() => undefined);
        const answer = this.#iq.track(
            id,
            target,
            item,
            options.timeoutMs ?? this.#o.iqTimeoutMs,
            `<${payload.local} xmlns='${payload.ns}'/>`,
        );
        // Refused or failed before delivery (CLOSED): the caller learns it now, not at the timeout.
        done.catch((err: Error) => this.#iq.cancel(id, err));
        return answer;
    }

    #enqueue(stanza: XmlElement, lazyAck = false): { item: OutItem | undefined; done: Promise<void> } {
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
        let text: string;
        try {
            // Refuse content XML cannot carry now, not when the stream would break on it; the text is kept for the write.
            text = stanza.toString();
        } catch (err) {
            return refuse(new XmppError('BAD_INPUT', (err as Error).message, { cause: err }));
        }
        let item: OutItem | undefined;
        const done = new Promise<void>((resolve, reject) => {
            item = { stanza, text, queuedAt: Date.now(), resolve, reject };
        });
        const it = item as unknown as OutItem;
        if (lazyAck) LAZY_ACK.add(it);
        if (this.#flowing && this.#outbox.length === 0) this.#transmit(it);
        else this.#outbox.push(it);
        return { item: it, done };
    }

    /** Writes an item on the current stream, or queues it when there is none. */
    #transmit(item: OutItem): void {
        const stream = this.#stream;
        if (!stream || !this.#flowing) {
            this.#outbox.push(item);
            return;
        }
        const sm = this.#sm.enabled;
        if (sm) {
            this.#sm.sent(item);
            this.#scheduleAckRequest(!INTERNAL.has(item) && !LAZY_ACK.has(item));
        }
        stream.sendElement(item.stanza, item.text).then(
            () => {
                if (!sm) item.resolve();
            },
            () => {
                // The socket went away under us. With XEP-0198 the item is still unacknowledged and
                // is settled by resumption or loss; without it, it goes back to the queue.
                if (!sm && !INTERNAL.has(item)) this.#outbox.unshift(item);
            },
        );
    }

    /**
     * Asks the server for an acknowledgement (XEP-0198 <r/>) a while after sending, or at once
     * when many stanzas wait for one. Not after every stanza: a lone <r/> written just before
     * the next stanza makes that stanza wait for a delayed TCP ACK under Nagle's algorithm
     * (measured: 40 ms stalls per readout in the xmpp-iot-readout benchmark).
     */
    #scheduleAckRequest(awaited: boolean): void {
        if (++this.#sentSinceAckRequest >= ACK_REQUEST_EVERY) {
            this.#requestAck();
            return;
        }
        if (awaited && this.#ackTimer && this.#ackTimerLazy) {
            // Someone now waits for this acknowledgement: bring the request forward.
            clearTimeout(this.#ackTimer);
            this.#ackTimer = undefined;
        }
        if (this.#ackTimer) return;
        this.#ackTimerLazy = !awaited;
        this.#ackTimer = setTimeout(
            () => this.#requestAck(),
            awaited ? ACK_REQUEST_DELAY_MS : LAZY_ACK_REQUEST_DELAY_MS,
        );
    }

    #requestAck(): void {
        clearTimeout(this.#ackTimer);
        this.#ackTimer = undefined;
        this.#sentSinceAckRequest = 0;
        if (this.#sm.enabled && this.#sm.unacked.length > 0)
            this.#stream?.sendElement(ackRequestElement()).catch(() => {});
    }

    // ---- handlers, features, access --------------------------------------------------------

    /**
     * Serves IQ `type` requests whose payload is `<name xmlns=ns/>`. One handler per (type, ns, name);
     * name `*` serves every element of the namespace that has no handler of its own.
     */
    handleIq(type: 'get' | 'set', ns: string, name: string, handler: IqHandler): Disposable {
        return this.#router.handleIq(type, ns, name, handler);
    }

    /** Receives messages carrying a `<name xmlns=ns/>` payload. Several handlers may listen. */
    handleMessage(ns: string, name: string, handler: MessageHandler): Disposable {
        return this.#router.handlePayload('message', ns, name, handler);
    }

    /** Receives presence stanzas carrying a `<name xmlns=ns/>` extension (e.g. XEP-0115 caps). */
    handlePresence(ns: string, name: string, handler: MessageHandler): Disposable {
        return this.#router.handlePayload('presence', ns, name, handler);
    }

    /** Advertises a feature in disco#info (XEP-0030) while the returned handle is not disposed. */
    addFeature(ns: string): Disposable {
        return this.#router.addFeature(ns);
    }

    /** Features advertised in disco#info. */
    get features(): string[] {
        return this.#router.features;
    }

    /** A node's own access check for a namespace (see AccessControl). */
    addAccessHook(ns: string, hook: AccessHook): Disposable {
        return this.#router.addAccessHook(ns, hook);
    }

    /** Whether a request in `ns` from `from` would be served. */
    allows(ns: string, from: string | undefined): boolean {
        return this.#router.allows(ns, from);
    }

    // ---- presence and roster -------------------------------------------------------------

    get roster(): RosterItem[] {
        return this.#book.roster;
    }

    /** Every known resource of every peer, available ones only. */
    get peers(): PeerPresence[] {
        return this.#book.peers;
    }

    /** The peer's available resources, highest priority first. */
    presenceOf(jid: string): PeerPresence[] {
        return this.#book.presenceOf(jid);
    }

    /**
     * Lets `decider` answer presence subscription requests instead of the account's policy (an
     * XEP-0324 provisioning server's isFriend, for instance); undefined from it defers to the policy.
     */
    setSubscriptionDecider(decider: (from: string) => boolean | undefined | Promise<boolean | undefined>): Disposable {
        this.#book.decider = decider;
        return {
            dispose: () => {
                if (this.#book.decider === decider) this.#book.decider = undefined;
            },
        };
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

    /**
     * Approves (subscribed) or refuses/revokes (unsubscribed) `jid`'s subscription to us. An
     * approval subscribes back, as the policies do, when mutual subscription is on and we do not
     * already see (or ask for) the peer's presence.
     */
    async answerSubscription(jid: string, approve: boolean): Promise<void> {
        await this.#sendPresenceType(jid, approve ? 'subscribed' : 'unsubscribed');
        if (!approve || !this.#o.mutualSubscription) return;
        const item = this.roster.find((r) => r.jid === tryParseJid(jid)?.bare);
        const alreadyAsked = item?.subscription === 'to' || item?.subscription === 'both' || item?.ask === 'subscribe';
        if (!alreadyAsked) await this.#sendPresenceType(jid, 'subscribe');
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
            const redirect = this.#redirect;
            this.#redirect = undefined;
            this.#stream = stream;
            stream.on('dropped', (d: DroppedStanza) => this.#onDropped(d));
            const target = await resolveTarget({
                domain: this.account.domain,
                direct: this.#o.tls === 'direct',
                trust: this.#o.trust ?? {},
                host: this.#o.host,
                port: this.#o.port,
                redirect,
                resolveSrv: this.#o.resolveSrv,
            });
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
            this.#redirect = stream?.redirect;
            stream?.destroy();
            if (this.#closing) return;
            this.#scheduleRetry(err as Error);
        }
    }

    async #goOnline(stream: XmppStream, result: NegotiationResult): Promise<void> {
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
            this.#book.reset();
            this.#flowing = true;
            // RFC 6121 §2.2 and §4.2: roster first, then initial presence.
            await this.#fetchRoster();
            if (this.#stream !== stream) return; // dropped meanwhile; the retry is already scheduled
            this.#transmit(internal(presenceStanza(this.#presence)));
        }
        for (const item of this.#outbox.splice(0)) {
            if (Date.now() - item.queuedAt > 1000) {
                stampDelay(item.stanza, item.queuedAt, this.account.bare);
                item.text = undefined;
            }
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
        for (const item of undelivered) {
            stampDelay(item.stanza, item.queuedAt, this.account.bare);
            item.text = undefined;
        }
        this.#outbox.unshift(...undelivered.filter((i) => !INTERNAL.has(i)));
        this.#failDeliveredIqs();
        if (undelivered.length > 0) {
            this.#o.logger?.info?.(
                `${this.account.bare}: session not resumed; ${undelivered.length} unacknowledged stanzas will be sent again`,
            );
        }
    }

    #failDeliveredIqs(): void {
        const waiting = new Set([...this.#outbox, ...this.#sm.unacked]);
        this.#iq.failDelivered((item) => waiting.has(item));
    }

    #onDrop(stream: XmppStream): void {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        this.#redirect = stream.redirect;
        this.#flowing = false;
        this.#stopTimers();
        if (this.#closing) return;
        this.#sm.suspend();
        // Without XEP-0198 there is no way to know what the server got; everything written counts as sent.
        if (!this.#sm.resumable) this.#failDeliveredIqs();
        this.#o.logger?.info?.(`${this.account.bare}: connection lost${this.#sm.resumable ? ', will resume' : ''}`);
        this.#scheduleRetry(new XmppError('SESSION_LOST', 'Connection to the server lost'));
    }

    #scheduleRetry(error: Error): void {
        if (this.#closing) return;
        const code = (error as XmppError).code;
        let delay = this.#backoff.next();
        // A refused password or certificate needs an operator: retry, but slowly.
        if (code === 'AUTH_FAILED' || code === 'TLS_FAILED')
            delay = Math.max(delay, this.#o.reconnect?.maxMs ?? 60_000);
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

    // ---- receiving -----------------------------------------------------------------------

    #onElement(e: XmlElement): void {
        this.#lastRx = Date.now();
        if (e.ns === NS.SM) {
            this.#onSmElement(e);
            return;
        }
        if (!STANZA_NAMES.has(e.local) || e.ns !== NS.CLIENT) return;
        this.#sm.received();
        // A request of the server's is waiting for our answer and the burst goes on: answer now.
        if (this.#ackAnswerTimer && this.#sm.inbound - this.#ackedInbound >= ACK_ANSWER_EVERY) this.#answerAck();
        try {
            if (e.local === 'iq') {
                const type = e.attr('type');
                if (type === 'result' || type === 'error') {
                    const warning = this.#iq.answer(e);
                    if (warning) this.emit('warning', warning);
                } else {
                    this.#router.request(e);
                }
            } else if (e.local === 'message') {
                this.emit('message', e);
                if (e.attr('type') !== 'error') this.#router.payloads('message', e);
            } else {
                this.#onPresence(e);
            }
        } catch (err) {
            this.emit('warning', err as Error);
        }
    }

    #onPresence(p: XmlElement): void {
        if (this.#book.subscription(p)) return;
        const type = p.attr('type');
        if (type === 'error' || type === 'probe') return;
        this.#router.payloads('presence', p);
        this.#book.update(p, this.#jid);
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
            // What was kept of it (name and attributes) is enough to address the error.
            this.#router.replyError(
                el(d.name, d.attrs),
                new StanzaError('policy-violation', `Stanza refused: ${d.reason}`),
            );
        }
    }

    #onSmElement(e: XmlElement): void {
        if (e.local === 'r') {
            // Answered a moment later with the count at that time: under load the server then asks
            // once per ACK_ANSWER_DELAY_MS instead of after nearly every stanza it delivers. At once
            // when ACK_ANSWER_EVERY stanzas wait for it, so the server's resend queue stays short
            // (Prosody keeps 500; beyond that a session cannot be resumed).
            if (this.#sm.inbound - this.#ackedInbound >= ACK_ANSWER_EVERY) {
                this.#answerAck();
                return;
            }
            if (this.#ackAnswerTimer) return;
            const stream = this.#stream;
            this.#ackAnswerTimer = setTimeout(() => {
                this.#ackAnswerTimer = undefined;
                if (stream === this.#stream) this.#answerAck();
            }, ACK_ANSWER_DELAY_MS);
        } else if (e.local === 'a') {
            const h = readH(e);
            if (h === undefined) return;
            const { items, excess } = this.#sm.ack(h);
            for (const item of items) item.resolve();
            if (excess > 0) {
                this.emit(
                    'warning',
                    new XmppError('PROTOCOL_ERROR', `Server acknowledged ${excess} stanzas more than were sent`),
                );
            }
        }
    }

    /** Sends <a h=…/> with the stanzas handled so far. */
    #answerAck(): void {
        clearTimeout(this.#ackAnswerTimer);
        this.#ackAnswerTimer = undefined;
        this.#ackedInbound = this.#sm.inbound;
        this.#stream?.sendElement(ackElement(this.#sm.inbound)).catch(() => {});
    }

    async #fetchRoster(): Promise<void> {
        const id = `${this.#idPrefix}-roster-${++this.#idCounter}`;
        const item = internal(el('iq', { type: 'get', id }, rosterQuery()));
        const answer = this.#iq.track(id, undefined, item, this.#o.connectTimeoutMs, 'the roster request');
        this.#transmit(item);
        try {
            const query = await answer;
            this.#book.setRoster(query ? parseRosterQuery(query) : []);
        } catch (err) {
            this.emit(
                'warning',
                new XmppError('PROTOCOL_ERROR', `Could not fetch the roster: ${(err as Error).message}`),
            );
        }
    }

    // ---- built-in services ---------------------------------------------------------------

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
            this.#book.applyPush(parseRosterQuery(req.payload));
            return undefined;
        });
    }

    /** XEP-0199: after `intervalMs` without traffic, ping the server; no answer in `timeoutMs` means the link is dead. */
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
        clearTimeout(this.#ackAnswerTimer);
        this.#ackAnswerTimer = undefined;
        this.#pinging = false;
    }
}
