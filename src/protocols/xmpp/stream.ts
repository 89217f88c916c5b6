import type ConnectionTCP from '@xmpp/connection-tcp';
import type { Element as LtxElement, Parser as LtxParser } from '@xmpp/xml';
import { XmlElement } from '../xml';
import { XmppError } from './errors';
import { NS } from './namespaces';
import { TlsSocket, type TlsSocketParameters, type TlsTrust } from './tls';

/**
 * One XML stream to the server, composed from xmpp.js parts: @xmpp/connection-tcp for the
 * stream framing and socket life cycle, @xmpp/xml's incremental parser (wrapped here with
 * size, depth and attribute limits), and DERlink's own TLS socket so that each account's
 * trust rules apply to its own connection only.
 */

/** Limits on what the server may send in one stanza. */
export interface StreamLimits {
    /** Largest stanza, in characters, enforced to within one socket read (at most 64 KiB more). */
    maxStanzaBytes: number;
    /** Deepest nesting inside a stanza (the stanza element is depth 1). */
    maxDepth: number;
    /** Most attributes on one element. */
    maxAttributes: number;
    /** Most elements in one stanza. */
    maxElements: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = Object.freeze({
    maxStanzaBytes: 1024 * 1024,
    maxDepth: 48,
    maxAttributes: 64,
    maxElements: 50_000,
});

export interface StreamTarget {
    host: string;
    port: number;
    /** TLS from the first byte (XEP-0368) instead of STARTTLS or clear text. */
    direct: boolean;
    domain: string;
    trust: TlsTrust;
}

export interface XmppStream extends ConnectionTCP {
    /** Elements received and not yet taken: negotiation reads them in order. */
    readonly inbox: Inbox;
    /** A host the server redirected us to (see-other-host), for the next attempt. */
    redirect: string | undefined;
    connectTo(target: StreamTarget, timeoutMs: number): Promise<void>;
    upgradeToTls(domain: string, trust: TlsTrust, timeoutMs: number): Promise<void>;
    /** Queues an element for the next write; `text` is its serialisation when the caller already has it. */
    sendElement(element: XmlElement, text?: string): Promise<void>;
    /** Drops the connection at once, without closing the stream (dead link, shutdown timeout). */
    destroy(): void;
    /** Closes the stream (RFC 6120 §4.4), waits up to `timeoutMs` for the server to close the connection, then drops it. */
    closeGracefully(timeoutMs: number): Promise<void>;
}

interface XmppLib {
    ConnectionTCP: typeof ConnectionTCP;
    Parser: typeof LtxParser;
}

let libPromise: Promise<XmppLib> | undefined;
let streamClass: Promise<new (domain: string, limits: StreamLimits, timeoutMs: number) => XmppStream> | undefined;

/** xmpp.js is ESM-only; it is loaded once, on first use, with import(). */
function loadLib(): Promise<XmppLib> {
    libPromise ??= Promise.all([import('@xmpp/connection-tcp'), import('@xmpp/xml')]).then(([tcp, xml]) => ({
        ConnectionTCP: tcp.default,
        Parser: xml.Parser,
    }));
    return libPromise;
}

export async function createStream(domain: string, limits: StreamLimits, timeoutMs: number): Promise<XmppStream> {
    streamClass ??= loadLib().then(defineStreamClass);
    const Stream = await streamClass;
    return new Stream(domain, limits, timeoutMs);
}

/** An error the parser raises when the server exceeds a limit; answered with policy-violation. */
export class StreamLimitError extends XmppError {
    constructor(message: string) {
        super('PROTOCOL_ERROR', message, { condition: 'policy-violation' });
    }
}

/** A stanza the parser refused and did not build: its name and attributes, and why. */
export interface DroppedStanza {
    name: string;
    attrs: Record<string, string>;
    reason: string;
}

/**
 * Beyond this many characters even a stanza that is being skipped closes the stream: the
 * parser underneath buffers an unfinished text run, and that buffer must stay bounded.
 */
function hardLimit(limits: StreamLimits): number {
    return Math.max(8 * limits.maxStanzaBytes, limits.maxStanzaBytes + 1024 * 1024);
}

/**
 * xmpp.js's parser with limits. A stanza over a limit is skipped (not built) and reported as
 * `dropped`, so that one oversized message (which the server would otherwise redeliver from
 * offline storage at every login) cannot keep an account off line. Only input no skipping
 * can bound (a text run over the hard limit) or malformed XML closes the stream.
 */
function defineParser(lib: XmppLib, limits: StreamLimits): new () => LtxParser {
    const hard = hardLimit(limits);
    return class LimitedParser extends lib.Parser {
        /** Characters of the stanza being read (to within one socket read). */
        #chars = 0;
        /** Depth inside the current stanza; 0 between stanzas. */
        #depth = 0;
        #elements = 0;
        #top: { name: string; attrs: Record<string, string> } | undefined;
        #skipping: DroppedStanza | undefined;
        #failed = false;

        override write(data: string): void {
            if (this.#failed) return;
            if (this.#depth === 0 && !this.#skipping) {
                // Between stanzas, whitespace keepalives count for nothing; a stanza starts at its '<'.
                const lt = data.indexOf('<');
                this.#chars += lt === -1 ? (data.trim() === '' ? 0 : data.length) : data.length - lt;
            } else {
                this.#chars += data.length;
            }
            try {
                super.write(data);
            } catch (err) {
                // ltx throws on illegal entities and character references; report, never crash.
                this.#fail(
                    'error',
                    new XmppError('PROTOCOL_ERROR', `Malformed XML from server: ${(err as Error).message}`),
                );
                return;
            }
            if (this.#failed) return;
            if (this.#chars > hard) {
                this.#fail('limit', new StreamLimitError(`Server sent a stanza larger than ${hard} characters`));
            } else if (this.#depth > 0 && !this.#skipping && this.#chars > limits.maxStanzaBytes) {
                this.#skip(`larger than ${limits.maxStanzaBytes} characters`);
            }
        }

        override onStartElement(name: string, attrs: Record<string, string>): void {
            if (this.#failed) return;
            if (!this.root) {
                if (Object.keys(attrs).length > limits.maxAttributes) {
                    this.#fail(
                        'limit',
                        new StreamLimitError(
                            `Server sent a stream header with more than ${limits.maxAttributes} attributes`,
                        ),
                    );
                    return;
                }
                super.onStartElement(name, attrs);
                this.#chars = 0;
                return;
            }
            this.#depth++;
            if (this.#depth === 1) {
                this.#top = { name, attrs: { ...attrs } };
                this.#elements = 0;
            }
            this.#elements++;
            if (this.#skipping) return;
            if (Object.keys(attrs).length > limits.maxAttributes) {
                this.#skip(`an element has more than ${limits.maxAttributes} attributes`);
            } else if (this.#depth > limits.maxDepth) {
                this.#skip(`nested deeper than ${limits.maxDepth}`);
            } else if (this.#elements > limits.maxElements) {
                this.#skip(`more than ${limits.maxElements} elements`);
            } else {
                super.onStartElement(name, attrs);
            }
        }

        override onEndElement(name: string): void {
            if (this.#failed) return;
            if (this.#depth === 0) {
                super.onEndElement(name); // the end of the stream
                return;
            }
            this.#depth--;
            if (this.#skipping) {
                if (this.#depth === 0) {
                    const dropped = this.#skipping;
                    this.#skipping = undefined;
                    this.#chars = 0;
                    this.emit('dropped', dropped);
                }
                return;
            }
            super.onEndElement(name);
            if (this.#depth === 0) this.#chars = 0;
        }

        override onText(text: string): void {
            if (this.#failed || this.#skipping) return;
            // Whitespace between stanzas (keepalives) is not a stanza of its own.
            if (this.cursor === this.root && text.trim() === '') return;
            super.onText(text);
        }

        /** Stops building the current stanza; the rest of it is read and thrown away. */
        #skip(reason: string): void {
            const top = this.#top ?? { name: '?', attrs: {} };
            this.#skipping = { name: top.name, attrs: top.attrs, reason };
            this.cursor = this.root;
        }

        #fail(event: 'error' | 'limit', err: Error): void {
            this.#failed = true;
            this.emit(event, err);
        }
    };
}

function defineStreamClass(lib: XmppLib) {
    const Stream = class Stream extends lib.ConnectionTCP implements XmppStream {
        readonly inbox = new Inbox();
        redirect: string | undefined;

        constructor(domain: string, limits: StreamLimits, timeoutMs: number) {
            super({ domain, timeout: timeoutMs });
            this.Parser = defineParser(lib, limits);
            this.on('element', (e: LtxElement) => this.inbox.push(toXmlElement(e)));
            this.on('error', (err: Error) => this.inbox.fail(err));
            this.on('disconnect', () => this.inbox.fail(new XmppError('SESSION_LOST', 'Connection closed')));
        }

        /**
         * Opens the stream (RFC 6120 §4.2). Unlike @xmpp/connection's own open(), it listens for the
         * server's header before writing ours: on loopback with TLS the answer can arrive before the
         * write callback, and a listener attached after the write would miss it.
         */
        override async open(options: { domain: string; lang?: string }): Promise<LtxElement> {
            this._status('opening');
            const header = this.headerElement() as LtxElement;
            header.attrs.to = options.domain;
            if (options.lang) header.attrs['xml:lang'] = options.lang;
            this.root = header;
            this._attachParser(new this.Parser());
            const opened = new Promise<LtxElement>((resolve, reject) => {
                const onOpen = (el: LtxElement) => {
                    this.off('error', onError);
                    resolve(el);
                };
                const onError = (err: Error) => {
                    this.off('open', onOpen);
                    reject(err);
                };
                this.once('open', onOpen);
                this.once('error', onError);
            });
            await this.write(this.header(header));
            return withTimeout(
                opened,
                this.timeout,
                () => new XmppError('TIMEOUT', `Server did not open the stream within ${this.timeout} ms`),
            );
        }

        override socketParameters(target: StreamTarget): TlsSocketParameters | { host: string; port: number } {
            return target.direct
                ? { host: target.host, port: target.port, domain: target.domain, trust: target.trust }
                : { host: target.host, port: target.port };
        }

        async connectTo(target: StreamTarget, timeoutMs: number): Promise<void> {
            if (target.direct) this.Socket = TlsSocket;
            await withTimeout(this.connect(target), timeoutMs, () => {
                this.destroy();
                return new XmppError(
                    'CONNECT_FAILED',
                    `No connection to ${target.host}:${target.port} within ${timeoutMs} ms`,
                );
            });
        }

        async upgradeToTls(domain: string, trust: TlsTrust, timeoutMs: number): Promise<void> {
            const raw = this.socket as import('node:net').Socket;
            this._detachSocket();
            const upgrade = TlsSocket.upgrade(raw, domain, trust);
            const secure = await withTimeout(upgrade, timeoutMs, () => {
                raw.destroy();
                return new XmppError('TLS_FAILED', `TLS handshake did not complete within ${timeoutMs} ms`);
            }).catch((err: unknown) => {
                raw.destroy();
                throw err;
            });
            this._attachSocket(secure);
        }

        /**
         * Writes are gathered until the event loop has finished the current I/O (setImmediate) and
         * go out as one socket write, so the replies and acknowledgements to one incoming burst
         * share packets. Nagle's algorithm stays on: measured against Prosody (which keeps it on
         * too), turning it off with this batching made bursts stall on delayed ACKs (see bench).
         */
        sendElement(element: XmlElement, text?: string): Promise<void> {
            let data: string;
            try {
                data = text ?? element.toString();
            } catch (err) {
                return Promise.reject(err);
            }
            return new Promise<void>((resolve, reject) => {
                this.#batch.push({ data, resolve, reject });
                if (this.#batch.length === 1) setImmediate(() => this.#flush());
            });
        }

        #batch: Array<{ data: string; resolve: () => void; reject: (err: Error) => void }> = [];

        #flush(): void {
            const batch = this.#batch;
            this.#batch = [];
            if (batch.length === 0) return;
            this.write(batch.map((b) => b.data).join('')).then(
                () => {
                    for (const b of batch) b.resolve();
                },
                (err: Error) => {
                    for (const b of batch) b.reject(err);
                },
            );
        }

        destroy(): void {
            const s = this.socket as { destroy?: () => void } | null;
            s?.destroy?.();
        }

        async closeGracefully(timeoutMs: number): Promise<void> {
            if (!this.socket) return;
            const closed = new Promise<void>((resolve) => this.once('disconnect', () => resolve()));
            if (this.#batch.length > 0) this.#flush(); // what was sent before closing goes first
            try {
                await this.write(this.footer(this.footerElement()));
            } catch {
                // Not writable any more: nothing to wait for.
            }
            await withTimeout(closed, timeoutMs, () => new Error('close timeout')).catch(() => {});
            this.destroy();
        }

        override _attachParser(parser: LtxParser): void {
            super._attachParser(parser);
            parser.on('dropped', (info: DroppedStanza) => this.emit('dropped', info));
            parser.on('limit', (err: Error) => {
                this._streamError('policy-violation').catch(() => {});
                this.emit('error', err);
            });
        }

        override async _onSeeOtherHost(error: { element: LtxElement }): Promise<void> {
            const host = childText(error.element, 'see-other-host');
            this.redirect = host;
            this.emit(
                'error',
                new XmppError('CONNECT_FAILED', `Server redirects to ${host ?? 'another host'} (see-other-host)`),
            );
        }
    };
    // RFC 6120 §4.8.2: the default namespace of a client stream (connection-tcp's own default is the stream namespace).
    Stream.prototype.NS = NS.CLIENT;
    return Stream;
}

function childText(e: LtxElement, local: string): string | undefined {
    for (const c of e.children) {
        if (typeof c !== 'string' && (c.name === local || c.name.endsWith(`:${local}`))) {
            return c.children.filter((x): x is string => typeof x === 'string').join('');
        }
    }
    return undefined;
}

/** Converts an ltx element (from xmpp.js's parser) into DERlink's XmlElement, iteratively. */
export function toXmlElement(source: LtxElement): XmlElement {
    const scope: Record<string, string> = {};
    const streamRoot = source.parent;
    if (streamRoot) {
        for (const [k, v] of Object.entries(streamRoot.attrs)) {
            if (k === 'xmlns') scope[''] = v;
            else if (k.startsWith('xmlns:')) scope[k.slice(6)] = v;
        }
    }
    const root = new XmlElement(source.name, { ...source.attrs });
    root.scope = scope;
    const stack: Array<[LtxElement, XmlElement]> = [[source, root]];
    while (stack.length > 0) {
        const [from, to] = stack.pop() as [LtxElement, XmlElement];
        for (const c of from.children) {
            if (typeof c === 'string') {
                to.append(c);
            } else {
                const copy = new XmlElement(c.name, { ...c.attrs });
                to.append(copy);
                stack.push([c, copy]);
            }
        }
    }
    return root;
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Elements received on a stream, in order. Negotiation takes them one by one with `next`;
 * once the stream is online, whatever is left is handed to the stanza router.
 */
export class Inbox {
    #queue: XmlElement[] = [];
    #waiter: { resolve: (e: XmlElement) => void; reject: (err: Error) => void } | undefined;
    #error: Error | undefined;
    #sink: ((e: XmlElement) => void) | undefined;

    push(element: XmlElement): void {
        if (this.#sink) {
            this.#sink(element);
        } else if (this.#waiter) {
            const w = this.#waiter;
            this.#waiter = undefined;
            w.resolve(element);
        } else {
            this.#queue.push(element);
        }
    }

    fail(err: Error): void {
        this.#error ??= err;
        const w = this.#waiter;
        this.#waiter = undefined;
        w?.reject(err);
    }

    /** The next element; rejects on stream failure or after `timeoutMs` with `what` in the message. */
    next(timeoutMs: number, what: string): Promise<XmlElement> {
        const queued = this.#queue.shift();
        if (queued) return Promise.resolve(queued);
        if (this.#error) return Promise.reject(this.#error);
        const wait = new Promise<XmlElement>((resolve, reject) => {
            this.#waiter = { resolve, reject };
        });
        return withTimeout(wait, timeoutMs, () => {
            this.#waiter = undefined;
            return new XmppError('TIMEOUT', `Server did not answer ${what} within ${timeoutMs} ms`);
        });
    }

    /** From now on every element goes to `sink`; queued ones are delivered first, in order. */
    drainTo(sink: (e: XmlElement) => void): void {
        const queued = this.#queue;
        this.#queue = [];
        this.#sink = sink;
        for (const e of queued) sink(e);
    }
}
