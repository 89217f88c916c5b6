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
    sendElement(element: XmlElement): Promise<void>;
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

function defineParser(lib: XmppLib, limits: StreamLimits): new () => LtxParser {
    return class LimitedParser extends lib.Parser {
        #stanzaChars = 0;
        #depth = 0;
        #elements = 0;
        #failed = false;

        override write(data: string): void {
            if (this.#failed) return;
            this.#stanzaChars += data.length;
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
            if (!this.#failed && this.#stanzaChars > limits.maxStanzaBytes) {
                this.#fail(
                    'limit',
                    new StreamLimitError(`Server sent a stanza larger than ${limits.maxStanzaBytes} characters`),
                );
            }
        }

        override onStartElement(name: string, attrs: Record<string, string>): void {
            if (this.#failed) return;
            if (this.root) {
                this.#depth++;
                this.#elements++;
                if (this.#depth > limits.maxDepth) {
                    this.#fail(
                        'limit',
                        new StreamLimitError(`Server sent a stanza nested deeper than ${limits.maxDepth}`),
                    );
                    return;
                }
                if (this.#elements > limits.maxElements) {
                    this.#fail(
                        'limit',
                        new StreamLimitError(`Server sent a stanza with more than ${limits.maxElements} elements`),
                    );
                    return;
                }
            }
            if (Object.keys(attrs).length > limits.maxAttributes) {
                this.#fail(
                    'limit',
                    new StreamLimitError(`Server sent an element with more than ${limits.maxAttributes} attributes`),
                );
                return;
            }
            super.onStartElement(name, attrs);
        }

        override onEndElement(name: string): void {
            if (this.#failed) return;
            super.onEndElement(name);
            if (this.#depth > 0) this.#depth--;
            if (this.#depth === 0) {
                // A top-level element (or the stream) has ended: start counting the next stanza afresh.
                this.#stanzaChars = 0;
                this.#elements = 0;
            }
        }

        override onText(text: string): void {
            if (this.#failed) return;
            // Whitespace between stanzas (keepalives) is not a stanza of its own.
            if (this.cursor === this.root && text.trim() === '') return;
            super.onText(text);
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
        #direct = false;

        constructor(domain: string, limits: StreamLimits, timeoutMs: number) {
            super({ domain, timeout: timeoutMs });
            this.Parser = defineParser(lib, limits);
            this.on('element', (e: LtxElement) => this.inbox.push(toXmlElement(e)));
            this.on('error', (err: Error) => this.inbox.fail(err));
            this.on('disconnect', () => this.inbox.fail(new XmppError('SESSION_LOST', 'Connection closed')));
        }

        override socketParameters(
            target: StreamTarget,
        ): TlsSocketParameters | { host: string; port: number; noDelay: boolean } {
            // noDelay: stanzas are small and latency matters more than packet count (no Nagle delays).
            return target.direct
                ? { host: target.host, port: target.port, domain: target.domain, trust: target.trust }
                : { host: target.host, port: target.port, noDelay: true };
        }

        async connectTo(target: StreamTarget, timeoutMs: number): Promise<void> {
            this.#direct = target.direct;
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

        async sendElement(element: XmlElement): Promise<void> {
            await this.write(element.toString());
        }

        destroy(): void {
            const s = this.socket as { destroy?: () => void } | null;
            s?.destroy?.();
        }

        async closeGracefully(timeoutMs: number): Promise<void> {
            if (!this.socket) return;
            const closed = new Promise<void>((resolve) => this.once('disconnect', () => resolve()));
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

        get direct(): boolean {
            return this.#direct;
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
