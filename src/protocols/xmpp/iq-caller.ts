import type { XmlElement } from '../xml';
import { StanzaError, XmppError } from './errors';
import { type Jid, tryParseJid } from './jid';
import type { OutItem } from './stream-management';

interface Pending {
    /** The address the request went to; undefined for the account's own server. */
    to: Jid | undefined;
    /** The outbound stanza, to know whether the server has received it. */
    item: OutItem;
    resolve(payload: XmlElement | undefined): void;
    reject(err: Error): void;
    timer: NodeJS.Timeout;
}

/**
 * IQ requests waiting for their answer (RFC 6120 §8.2.3): correlation by id and sender,
 * a timeout for each, and early failure when the connection that carried them is gone.
 */
export class IqCaller {
    readonly #account: Jid;
    readonly #pending = new Map<string, Pending>();

    constructor(account: Jid) {
        this.#account = account;
    }

    /** Waits for the answer to request `id`; rejects with TIMEOUT after `timeoutMs`. */
    track(
        id: string,
        to: Jid | undefined,
        item: OutItem,
        timeoutMs: number,
        what: string,
    ): Promise<XmlElement | undefined> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                const peer = to?.full ?? this.#account.domain;
                reject(new XmppError('TIMEOUT', `No answer from ${peer} to ${what} within ${timeoutMs} ms`));
            }, timeoutMs);
            this.#pending.set(id, { to, item, resolve, reject, timer });
        });
    }

    /** Settles request `id` with `err` (refused before it was sent, session closed). */
    cancel(id: string, err: Error): void {
        const p = this.#pending.get(id);
        if (!p) return;
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(err);
    }

    /**
     * Takes an IQ result or error. Returns a warning when an answer came from an address the
     * request was not sent to (RFC 6120 §8.1.2.1, §10.1: only the addressee, or our server for
     * requests to it, may answer); that answer is ignored.
     */
    answer(iq: XmlElement): Error | undefined {
        const id = iq.attr('id') ?? '';
        const pending = this.#pending.get(id);
        if (!pending) return undefined;
        const from = tryParseJid(iq.attr('from'));
        const account = this.#account;
        const ownServer = !pending.to || pending.to.full === account.bare || pending.to.full === account.domain;
        const ok =
            (pending.to !== undefined && from !== undefined && from.full === pending.to.full) ||
            (ownServer && (!from || from.full === account.domain || from.full === account.bare));
        if (!ok) {
            return new XmppError(
                'PROTOCOL_ERROR',
                `Ignored an answer to IQ ${id} from ${iq.attr('from')}, which the request was not sent to`,
            );
        }
        this.#pending.delete(id);
        clearTimeout(pending.timer);
        if (iq.attr('type') === 'result') pending.resolve(iq.elements()[0]);
        else pending.reject(StanzaError.fromStanza(iq));
        return undefined;
    }

    /**
     * The server session is gone: requests it had received can no longer be answered, so
     * their callers learn it now. Requests still waiting to be (re)sent stay pending.
     */
    failDelivered(stillWaiting: (item: OutItem) => boolean): void {
        for (const [id, p] of this.#pending) {
            if (stillWaiting(p.item)) continue;
            this.cancel(
                id,
                new XmppError(
                    'SESSION_LOST',
                    'The connection was lost after the request was sent; it may or may not have been carried out',
                ),
            );
        }
    }

    failAll(err: Error): void {
        for (const id of [...this.#pending.keys()]) this.cancel(id, err);
    }
}
