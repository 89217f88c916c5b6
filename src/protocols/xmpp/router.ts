import { el, type XmlElement } from '../xml';
import type { AccessControl, AccessHook, Disposable } from './access';
import { StanzaError, XmppError } from './errors';
import { type Jid, tryParseJid } from './jid';
import { NS } from './namespaces';
import type { IncomingMessage, IqHandler, IqRequest, MessageHandler } from './session-types';

/** Namespaces the session serves itself; open to everyone (pings, discovery) or checked by their handler (roster). */
const BUILTIN = new Set<string>([NS.PING, NS.DISCO_INFO, NS.ROSTER]);

export interface RouterHooks {
    account: Jid;
    access: AccessControl;
    /** Sends an answer (an IQ result or an error) on the current stream. */
    reply(stanza: XmlElement): void;
    /** Something went wrong that the sender is told about, but the account owner should see too. */
    warn(err: Error): void;
}

/**
 * Where stanzas addressed to an account go. Several nodes share one connection, so handlers
 * are registered by (stanza kind, payload element, namespace): one per IQ request type, any
 * number for messages and presence. The account's access rules decide first (forbidden);
 * an IQ nobody serves is answered service-unavailable (RFC 6120 §8.4).
 */
export class Router {
    readonly #h: RouterHooks;
    readonly #iq = new Map<string, IqHandler>();
    /** Handlers by `kind ns name`, kind being message or presence. */
    readonly #payloads = new Map<string, Set<MessageHandler>>();
    readonly #features = new Map<string, number>();

    constructor(hooks: RouterHooks) {
        this.#h = hooks;
    }

    handleIq(type: 'get' | 'set', ns: string, name: string, handler: IqHandler): Disposable {
        const key = `${type} ${ns} ${name}`;
        if (this.#iq.has(key)) {
            throw new XmppError(
                'CONFLICT',
                `Another node already serves IQ ${type} <${name} xmlns='${ns}'/> on ${this.#h.account.bare}`,
            );
        }
        this.#iq.set(key, handler);
        return { dispose: () => this.#iq.get(key) === handler && this.#iq.delete(key) };
    }

    handlePayload(kind: 'message' | 'presence', ns: string, name: string, handler: MessageHandler): Disposable {
        const key = `${kind} ${ns} ${name}`;
        const set = this.#payloads.get(key) ?? new Set<MessageHandler>();
        this.#payloads.set(key, set);
        set.add(handler);
        return {
            dispose: () => {
                set.delete(handler);
                if (set.size === 0) this.#payloads.delete(key);
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

    get features(): string[] {
        return [...this.#features.keys()].sort();
    }

    addAccessHook(ns: string, hook: AccessHook): Disposable {
        return this.#h.access.addHook(ns, hook);
    }

    allows(ns: string, from: string | undefined): boolean {
        return this.#h.access.allows(ns, from, { bare: this.#h.account.bare, domain: this.#h.account.domain });
    }

    /** An IQ get or set: checked, handed to its handler, answered with its result or error. */
    request(iq: XmlElement): void {
        const type = iq.attr('type');
        const id = iq.attr('id') ?? '';
        if (type !== 'get' && type !== 'set') {
            this.replyError(iq, new StanzaError('bad-request', 'IQ type must be get, set, result or error'));
            return;
        }
        const children = iq.elements();
        const payload = children[0];
        if (children.length !== 1 || !payload) {
            this.replyError(iq, new StanzaError('bad-request', 'An IQ request carries exactly one payload element'));
            return;
        }
        const from = iq.attr('from') ?? this.#h.account.bare;
        if (!BUILTIN.has(payload.ns) && !this.allows(payload.ns, iq.attr('from'))) {
            this.replyError(iq, this.#denied(from, payload.ns));
            return;
        }
        // An exact (type, namespace, element) handler first, then one for the whole namespace ('*').
        const handler =
            this.#iq.get(`${type} ${payload.ns} ${payload.local}`) ?? this.#iq.get(`${type} ${payload.ns} *`);
        if (!handler) {
            this.replyError(iq, new StanzaError('service-unavailable'));
            return;
        }
        const after: Array<() => void> = [];
        const request: IqRequest = { id, type, from, payload, stanza: iq, afterAnswer: (fn) => after.push(fn) };
        Promise.resolve()
            .then(() => handler(request))
            .then(
                (answer) => {
                    this.#h.reply(el('iq', { type: 'result', id, to: iq.attr('from') }, answer ?? undefined));
                    for (const fn of after) {
                        try {
                            fn();
                        } catch (err) {
                            this.#h.warn(err as Error);
                        }
                    }
                },
                (err: unknown) => {
                    const stanzaError = toStanzaError(err);
                    if (stanzaError.condition === 'internal-server-error') this.#h.warn(err as Error);
                    this.replyError(iq, stanzaError);
                },
            );
    }

    /**
     * Hands each payload of a message or presence to the handlers registered for it, after
     * the access check. A refused message is answered `forbidden`; a refused presence is dropped.
     */
    payloads(kind: 'message' | 'presence', stanza: XmlElement): void {
        const from = stanza.attr('from') ?? this.#h.account.bare;
        const type = stanza.attr('type') ?? (kind === 'message' ? 'normal' : 'available');
        for (const payload of stanza.elements()) {
            const handlers = this.#payloads.get(`${kind} ${payload.ns} ${payload.local}`);
            if (!handlers || handlers.size === 0) continue;
            if (!this.allows(payload.ns, stanza.attr('from'))) {
                const denied = this.#denied(from, payload.ns);
                if (kind === 'message') this.replyError(stanza, denied);
                else this.#h.warn(denied);
                return;
            }
            const incoming: IncomingMessage = { from, type, id: stanza.attr('id'), payload, stanza };
            for (const h of handlers) {
                Promise.resolve()
                    .then(() => h(incoming))
                    .catch((err: unknown) => this.#h.warn(err as Error));
            }
        }
    }

    /** Answers a request or message with an error (never an error or a result: no loops). */
    replyError(request: XmlElement, error: StanzaError): void {
        const type = request.attr('type');
        if (type === 'error' || type === 'result') return;
        this.#h.reply(
            el(
                request.local,
                { type: 'error', id: request.attr('id'), to: request.attr('from') },
                error.payload,
                error.toElement(),
            ),
        );
    }

    #denied(from: string, ns: string): StanzaError {
        return new StanzaError('forbidden', `${tryParseJid(from)?.bare ?? from} may not use ${ns} on this account`);
    }
}

/** Maps what a handler threw to the stanza error the requester gets. */
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
            // Internal details stay on this side; the warning carries them to the account's log.
            return new StanzaError('internal-server-error');
    }
}
