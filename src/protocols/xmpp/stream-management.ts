import { el, type XmlElement } from '../xml';
import { NS } from './namespaces';

/** XEP-0198 §4: sequence numbers wrap at 2^32. */
const H_MOD = 2 ** 32;

/** One outbound stanza and the caller waiting for it to be delivered. */
export interface OutItem {
    stanza: XmlElement;
    /** The stanza serialised once when it was queued; cleared when the stanza changes (delay stamp). */
    text?: string | undefined;
    /** When the application handed it over (ms since epoch); used for XEP-0203 delay stamps. */
    queuedAt: number;
    resolve(): void;
    reject(err: Error): void;
}

/**
 * XEP-0198 bookkeeping for one account. It outlives individual streams: after a drop it holds
 * what the server has not acknowledged, so that a resumed stream resends exactly that and a
 * fresh session gets it back for redelivery. Nothing is dropped silently.
 */
export class StreamManagement {
    /** Session id from `<enabled/>`; set while a resumable session exists on the server. */
    id: string | undefined;
    /** The server agreed to resumption. */
    resumable = false;
    /** Stream management is active on the current stream. */
    enabled = false;
    /** Stanzas received on this session (our `h`). */
    inbound = 0;
    /** The server's last `h`: how many of our stanzas it has handled. */
    acked = 0;
    /** Sent, not yet acknowledged, in order. */
    readonly unacked: OutItem[] = [];

    /** After `<enabled/>` (XEP-0198 §3): counters start at zero. */
    start(id: string | undefined, resumable: boolean): void {
        this.id = resumable ? id : undefined;
        this.resumable = resumable && id !== undefined;
        this.enabled = true;
        this.inbound = 0;
        this.acked = 0;
    }

    /** An inbound stanza was handled. */
    received(): void {
        if (this.enabled) this.inbound = (this.inbound + 1) % H_MOD;
    }

    /** An outbound stanza was written on the current stream. */
    sent(item: OutItem): void {
        this.unacked.push(item);
    }

    /**
     * Applies the server's `h` and returns the items it acknowledged. An `h` beyond what was
     * sent (a server bug) acknowledges everything outstanding and is reported as `excess`.
     */
    ack(h: number): { items: OutItem[]; excess: number } {
        const count = (h - this.acked + H_MOD) % H_MOD;
        const n = Math.min(count, this.unacked.length);
        this.acked = h % H_MOD;
        return { items: this.unacked.splice(0, n), excess: count - n };
    }

    /** The stream dropped: stop counting until the next enable or resume. */
    suspend(): void {
        this.enabled = false;
    }

    /** `<resumed h/>`: the old session is back; returns what must be sent again. */
    resumed(h: number): { acked: OutItem[]; resend: OutItem[] } {
        const { items } = this.ack(h);
        this.enabled = true;
        return { acked: items, resend: this.unacked.splice(0) };
    }

    /**
     * The server session is gone (resume failed, or no resumption): forget it and hand back
     * what it never acknowledged. `h` from `<failed h/>` (XEP-0198 v1.6) acknowledges first.
     */
    lost(h?: number): { acked: OutItem[]; undelivered: OutItem[] } {
        const acked = h === undefined ? [] : this.ack(h).items;
        const undelivered = this.unacked.splice(0);
        this.id = undefined;
        this.resumable = false;
        this.enabled = false;
        this.inbound = 0;
        this.acked = 0;
        return { acked, undelivered };
    }
}

export function enableElement(): XmlElement {
    return el('enable', { xmlns: NS.SM, resume: 'true' });
}

export function resumeElement(id: string, h: number): XmlElement {
    return el('resume', { xmlns: NS.SM, previd: id, h });
}

export function ackElement(h: number): XmlElement {
    return el('a', { xmlns: NS.SM, h });
}

export function ackRequestElement(): XmlElement {
    return el('r', { xmlns: NS.SM });
}

/** Reads `h` from `<a/>`, `<resumed/>` or `<failed/>`; undefined when absent or not a valid counter. */
export function readH(element: XmlElement): number | undefined {
    const raw = element.attr('h');
    if (raw === undefined || !/^\d{1,10}$/.test(raw)) return undefined;
    const h = Number(raw);
    return h < H_MOD ? h : undefined;
}

/**
 * XEP-0203: marks a message that is sent later than it was handed over, so the receiver
 * sees when it was meant to be sent. Stanzas other than messages are left as they are.
 */
export function stampDelay(stanza: XmlElement, queuedAt: number, from: string): void {
    if (stanza.local !== 'message' || stanza.child('delay', NS.DELAY)) return;
    stanza.append(el('delay', { xmlns: NS.DELAY, from, stamp: new Date(queuedAt).toISOString() }));
}
