import type { XmlElement } from '../xml';
import { type Disposable, type Jid, type Session, StanzaError, tryParseJid, XmppError } from '../xmpp';
import type { SensorDataCodec } from './codec';
import { GenerationDiscovery } from './discovery';
import { namespacesOf } from './generations';
import { newRequestId } from './ids';
import type { Field, Generation, ReadoutError, ReadoutEvent, ReadoutRequest } from './model';
import { sensorDataCodec, sensorDataCodecFor } from './sensordata';

/** Elements a device sends about a readout in messages, in every generation. */
const MESSAGE_ELEMENTS = ['started', 'fields', 'failure', 'done', 'resp'] as const;

export interface ReadoutOptions {
    /** The generation to speak; 'auto' (default) asks the device (disco#info). */
    generation?: Generation | 'auto';
    /** Bound on the whole readout, counted from `when` for scheduled readouts. Default 30 s. */
    timeoutMs?: number;
    /** Called for every event the device sends (accepted, started, data, done...). */
    onEvent?: (event: ReadoutEvent) => void;
}

export interface ReadoutResult {
    /** The device that answered (full JID). */
    device: string;
    generation: Generation;
    id: string;
    queued: boolean;
    /** Fields that match the request (XEP-0323: the client filters; devices may send more). */
    fields: Field[];
    errors: ReadoutError[];
    /** Requested field names the device did not send. */
    missing: string[];
    /** How many fields the device sent that were not asked for (left out of `fields`). */
    ignored: number;
}

/** A readout that failed; `partial` holds what had arrived before. */
export class ReadoutFailure extends XmppError {
    readonly partial: ReadoutResult | undefined;

    constructor(
        code: ConstructorParameters<typeof XmppError>[0],
        message: string,
        partial?: ReadoutResult,
        cause?: unknown,
    ) {
        super(code, message, cause === undefined ? {} : { cause });
        this.name = 'ReadoutFailure';
        this.partial = partial;
    }
}

interface Pending {
    device: Jid;
    id: string;
    codec: SensorDataCodec;
    request: ReadoutRequest;
    result: ReadoutResult;
    onEvent: ((e: ReadoutEvent) => void) | undefined;
    resolve(r: ReadoutResult): void;
    reject(err: Error): void;
    timer: NodeJS.Timeout | undefined;
}

/**
 * The client side of XEP-0323 and its successors: sends a readout request in the generation the
 * device speaks, gathers the fields from the IQ answer and the messages that follow, and
 * finishes on the done marker, a rejection, an error or the timeout. Understands both the old
 * `<rejected>` answers and RFC 6120 errors; neither can leave a caller waiting.
 */
export class ReadoutClient {
    readonly #session: Session;
    readonly #discovery: GenerationDiscovery;
    readonly #pending = new Map<string, Pending>();
    readonly #handles: Disposable[] = [];

    constructor(session: Session, discovery = new GenerationDiscovery(session)) {
        this.#session = session;
        this.#discovery = discovery;
        for (const { ns } of namespacesOf('sensorData')) {
            for (const name of MESSAGE_ELEMENTS) {
                this.#handles.push(session.handleMessage(ns, name, (m) => this.#onMessage(m.from, m.payload)));
            }
        }
    }

    /** Readouts waiting for their answer. */
    get active(): number {
        return this.#pending.size;
    }

    /**
     * Reads a device. `to` may be a bare JID when the account sees the device's presence (the
     * request then goes to its highest-priority resource: IQs to a bare JID do not reach clients).
     */
    async read(to: string, request: Omit<ReadoutRequest, 'id'>, options: ReadoutOptions = {}): Promise<ReadoutResult> {
        const device = this.#resolve(to);
        const generation =
            !options.generation || options.generation === 'auto'
                ? await this.#discovery.generation(device.full, 'sensorData')
                : options.generation;
        const codec = sensorDataCodec(generation);
        const id = newRequestId(this.#session, generation);
        const full: ReadoutRequest = { ...request, id };
        const payload = codec.request(full);
        const result: ReadoutResult = {
            device: device.full,
            generation,
            id,
            queued: false,
            fields: [],
            errors: [],
            missing: [],
            ignored: 0,
        };
        const timeoutMs = options.timeoutMs ?? 30_000;
        const startAt = Math.max(Date.now(), request.when?.date.getTime() ?? 0);

        return new Promise<ReadoutResult>((resolve, reject) => {
            const pending: Pending = {
                device,
                id,
                codec,
                request: full,
                result,
                onEvent: options.onEvent,
                resolve,
                reject,
                timer: undefined,
            };
            pending.timer = setTimeout(() => this.#timeout(pending, timeoutMs), startAt - Date.now() + timeoutMs);
            // Registered before the request goes out: the first data may come before the IQ answer.
            this.#pending.set(this.#key(device, id), pending);
            this.#session.request(device.full, 'get', payload, { timeoutMs }).then(
                (answer) => this.#onAnswer(pending, answer),
                (err: Error) => this.#onIqError(pending, err),
            );
        });
    }

    /** The readouts waiting for their answer: device (full JID) and readout id. */
    readouts(): Array<{ device: string; id: string }> {
        return [...this.#pending.values()].map((p) => ({ device: p.device.full, id: p.id }));
    }

    /**
     * Cancels a running or scheduled readout: the pending read fails at once with CLOSED, and the
     * device is told (best effort: a device that has finished or forgotten it answers all the same).
     */
    async cancel(to: string, id: string): Promise<void> {
        const device = this.#resolve(to);
        const pending = this.#pending.get(this.#key(device, id));
        const codec = pending?.codec ?? sensorDataCodec('G1');
        const { type, payload } = codec.cancel(id);
        if (pending) this.#finish(pending, new ReadoutFailure('CLOSED', `Readout ${id} cancelled`, pending.result));
        await this.#session.request(device.full, type, payload).catch(() => undefined);
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
        for (const p of [...this.#pending.values()])
            this.#finish(p, new ReadoutFailure('CLOSED', 'The readout client was closed', p.result));
    }

    #resolve(to: string): Jid {
        const jid = tryParseJid(to);
        if (!jid) throw new XmppError('BAD_INPUT', `"${to}" is not a JID`);
        if (jid.resource) return jid;
        const online = this.#session.presenceOf(jid.bare)[0];
        return online ? (tryParseJid(online.jid) ?? jid) : jid;
    }

    #key(device: Jid, id: string): string {
        return `${device.bare} ${id}`;
    }

    #onAnswer(p: Pending, answer: XmlElement | undefined): void {
        if (!this.#pending.has(this.#key(p.device, p.id))) return;
        if (!answer) {
            this.#event(p, { kind: 'accepted', id: p.id, queued: false });
            return;
        }
        const codec = sensorDataCodecFor(answer.ns) ?? p.codec;
        const event = codec.readEvent(answer);
        if (event) this.#event(p, event);
    }

    #onIqError(p: Pending, err: Error): void {
        if (!this.#pending.has(this.#key(p.device, p.id))) return;
        if (err instanceof StanzaError && err.stanza) {
            // 2013-era devices answer with <rejected> (and maybe no RFC 6120 error at all).
            for (const child of err.stanza.elements()) {
                const codec = sensorDataCodecFor(child.ns);
                const event = codec?.readEvent(child);
                if (event?.kind === 'rejected') {
                    this.#event(p, event);
                    return;
                }
            }
        }
        const code = err instanceof XmppError ? err.code : 'REMOTE_ERROR';
        this.#finish(
            p,
            new ReadoutFailure(code, `${p.device.full} refused the readout: ${err.message}`, p.result, err),
        );
    }

    #onMessage(from: string, payload: XmlElement): void {
        const codec = sensorDataCodecFor(payload.ns);
        const event = codec?.readEvent(payload);
        const sender = tryParseJid(from);
        if (!event || !sender) return;
        const p = this.#pending.get(this.#key(sender, event.id));
        if (!p) return;
        this.#event(p, event);
    }

    #event(p: Pending, event: ReadoutEvent): void {
        try {
            p.onEvent?.(event);
        } catch {
            // A listener's problem is not the readout's.
        }
        switch (event.kind) {
            case 'accepted':
                p.result.queued = event.queued;
                break;
            case 'started':
                break;
            case 'data':
                this.#collect(p, event.fields, event.errors);
                if (event.done) this.#finish(p);
                break;
            case 'done':
                this.#finish(p);
                break;
            case 'rejected':
                this.#finish(
                    p,
                    new ReadoutFailure(
                        rejectionCode(event.reason),
                        `${p.device.full} rejected the readout: ${event.reason}`,
                        p.result,
                    ),
                );
                break;
            case 'cancelled':
                this.#finish(p, new ReadoutFailure('CLOSED', `${p.device.full} cancelled readout ${p.id}`, p.result));
                break;
        }
    }

    /** Keeps what matches the request (XEP-0323 §Read-out: every filter is a hint; the client filters). */
    #collect(p: Pending, fields: readonly Field[], errors: readonly ReadoutError[]): void {
        const names = new Set(p.request.fields);
        const nodes = p.request.nodes;
        const categories = new Set(p.request.categories);
        for (const f of fields) {
            const nameOk = names.size === 0 || names.has(f.name);
            const nodeOk = nodes.length === 0 || !f.node || nodes.some((n) => n.nodeId === f.node?.nodeId);
            const catOk =
                p.request.all ||
                categories.size === 0 ||
                f.categories.length === 0 ||
                f.categories.some((c) => categories.has(c));
            if (nameOk && nodeOk && catOk) p.result.fields.push(f);
            else p.result.ignored++;
        }
        p.result.errors.push(...errors);
    }

    #timeout(p: Pending, timeoutMs: number): void {
        const { type, payload } = p.codec.cancel(p.id);
        this.#session.request(p.device.full, type, payload, { timeoutMs: 5000 }).catch(() => undefined);
        this.#finish(
            p,
            new ReadoutFailure(
                'TIMEOUT',
                `${p.device.full} did not finish readout ${p.id} within ${timeoutMs} ms (${p.result.fields.length} fields so far)`,
                p.result,
            ),
        );
    }

    #finish(p: Pending, err?: Error): void {
        const key = this.#key(p.device, p.id);
        if (this.#pending.get(key) !== p) return;
        this.#pending.delete(key);
        clearTimeout(p.timer);
        const got = new Set(p.result.fields.map((f) => f.name));
        p.result.missing = p.request.fields.filter((n) => !got.has(n));
        if (err) p.reject(err);
        else p.resolve(p.result);
    }
}

/** Codes for the free-text reasons of 2013-era `<rejected>` answers (slixmpp's texts among them). */
function rejectionCode(reason: string): XmppError['code'] {
    if (/access|denied|forbidden|not allowed|privilege/i.test(reason)) return 'ACCESS_DENIED';
    if (/invalid node|invalid field|not found|unknown/i.test(reason)) return 'NOT_FOUND';
    if (/invalid|datetime|format/i.test(reason)) return 'BAD_INPUT';
    return 'REMOTE_ERROR';
}
