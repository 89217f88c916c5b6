/**
 * A "golden" XMPP IoT device for integration tests: on receiving a readout request or a set it
 * answers with the golden stanzas of test/fixtures/xmpp-iot (the XEP-0323/0325 examples, the
 * IEEE/NF examples and the slixmpp captures), rewriting only what ties an answer to its request:
 * the stanza's `to`, `from` (dropped: the server stamps it) and IQ `id`, and the request reference
 * of the payload (G0/G1 `seqnr`, G2/G3 `id`). It does NOT use DERlink's codecs: what a client
 * reads from it is what the published examples say, so the client is checked against them.
 *
 * It runs on DERlink's Session only for transport. An IQ handler that answers verbatim must not
 * let the router build the result, so the handler sends the golden IQ itself and returns a
 * promise that never settles (the router then sends nothing).
 *
 * It advertises exactly its generation's sensor-data and control namespaces in disco#info, so a
 * client picks the generation from them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseXml, type XmlElement } from '../../src/protocols/xml';
import type { Disposable, IqRequest, Session } from '../../src/protocols/xmpp';

export type GoldenGeneration = 'G0' | 'G1' | 'G2' | 'G3';

/** The namespaces written out here rather than imported, so a mistake in src/ is not copied. */
export const GOLDEN_NAMESPACES: Readonly<Record<GoldenGeneration, { sensorData: string; control: string }>> = {
    G0: { sensorData: 'urn:xmpp:sn', control: 'urn:xmpp:sn:control' },
    G1: { sensorData: 'urn:xmpp:iot:sensordata', control: 'urn:xmpp:iot:control' },
    G2: { sensorData: 'urn:ieee:iot:sd:1.0', control: 'urn:ieee:iot:ctr:1.0' },
    G3: { sensorData: 'urn:nf:iot:sd:1.0', control: 'urn:nf:iot:ctr:1.0' },
};

export const FIXTURES = path.resolve(__dirname, '../fixtures/xmpp-iot');

/** A fixture stanza (path relative to test/fixtures/xmpp-iot), parsed in the jabber:client stream namespace. */
export function loadStanza(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'), { scope: { '': 'jabber:client' } });
}

/** The first child element of a fixture stanza (the IQ or message payload), detached. */
export function loadPayload(name: string): XmlElement {
    const payload = loadStanza(name).elements()[0];
    if (!payload) throw new Error(`${name} has no payload element`);
    return payload.clone();
}

/** What the device answers to one kind of request. */
export interface GoldenReply {
    /** The IQ answer (a fixture `<iq type="result|error">`). */
    iq: string;
    /** Messages sent after the IQ answer, in order (fixture `<message>` stanzas). */
    messages?: string[];
    /**
     * Changes a rewritten stanza before it goes out (the bad-input cases). `index` 0 is the IQ
     * answer, then the messages in order.
     */
    mutate?: (stanza: XmlElement, index: number) => void;
}

export interface ReceivedRequest {
    kind: 'readout' | 'cancel' | 'control';
    type: 'get' | 'set';
    from: string;
    payload: XmlElement;
}

export class GoldenDevice {
    readonly generation: GoldenGeneration;
    readout: GoldenReply | undefined;
    control: GoldenReply | undefined;
    /** Every request received, in order. */
    readonly received: ReceivedRequest[] = [];
    readonly #session: Session;
    readonly #handles: Disposable[] = [];

    constructor(
        session: Session,
        generation: GoldenGeneration,
        replies: { readout?: GoldenReply; control?: GoldenReply } = {},
    ) {
        this.#session = session;
        this.generation = generation;
        this.readout = replies.readout;
        this.control = replies.control;
        const { sensorData, control } = GOLDEN_NAMESPACES[generation];
        // G2/G3 devices take requests and cancels as IQ get or set (docs/design/xmpp-iot-g2-g3.md §4.1).
        const types: Array<'get' | 'set'> = generation === 'G0' || generation === 'G1' ? ['get'] : ['get', 'set'];
        for (const type of types) {
            this.#handles.push(session.handleIq(type, sensorData, 'req', (r) => this.#answer('readout', r)));
            // A cancel (the readout client sends one when it gives up) gets an empty result: not under test.
            this.#handles.push(
                session.handleIq(type, sensorData, 'cancel', (r) => {
                    this.#record('cancel', r);
                    return undefined;
                }),
            );
        }
        this.#handles.push(session.handleIq('set', control, 'set', (r) => this.#answer('control', r)));
        this.#handles.push(session.addFeature(sensorData), session.addFeature(control));
    }

    get jid(): string {
        return this.#session.jid as string;
    }

    /** The requests of one kind received so far. */
    requests(kind: ReceivedRequest['kind']): ReceivedRequest[] {
        return this.received.filter((r) => r.kind === kind);
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
    }

    #record(kind: ReceivedRequest['kind'], r: IqRequest): void {
        this.received.push({ kind, type: r.type, from: r.from, payload: r.payload });
    }

    #answer(kind: 'readout' | 'control', r: IqRequest): Promise<never> {
        this.#record(kind, r);
        const reply = kind === 'readout' ? this.readout : this.control;
        if (!reply) throw new Error(`golden ${this.generation} device has no ${kind} reply configured`);
        // G0/G1 tie answers to requests by seqnr, G2/G3 by id (control has neither).
        const reference =
            kind === 'control'
                ? undefined
                : this.generation === 'G0' || this.generation === 'G1'
                  ? { attr: 'seqnr', value: r.payload.attr('seqnr') ?? '' }
                  : { attr: 'id', value: r.payload.attr('id') ?? '' };
        const stanzas = [reply.iq, ...(reply.messages ?? [])].map((name, i) => {
            const s = rewrite(loadStanza(name), r.from, i === 0 ? r.id : undefined, reference);
            reply.mutate?.(s, i);
            return s;
        });
        void (async () => {
            for (const s of stanzas) await this.#session.send(s);
        })().catch(() => undefined);
        return new Promise<never>(() => undefined);
    }
}

/**
 * The golden stanza addressed to the requester: `from` dropped, `to` set, the IQ `id` set (IQs
 * only), and the request reference set on every payload that carries one.
 */
export function rewrite(
    stanza: XmlElement,
    to: string,
    iqId: string | undefined,
    reference: { attr: string; value: string } | undefined,
): XmlElement {
    const out = stanza.clone();
    delete out.attrs.from;
    out.attrs.to = to;
    if (iqId !== undefined) out.attrs.id = iqId;
    if (reference) {
        for (const payload of out.elements()) {
            if (payload.attr(reference.attr) !== undefined) payload.attrs[reference.attr] = reference.value;
        }
    }
    return out;
}
