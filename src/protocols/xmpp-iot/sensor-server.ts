import { el, type XmlElement } from '../xml';
import { type Disposable, type IqRequest, type Session, StanzaError, tryParseJid, XmppError } from '../xmpp';
import type { SensorDataCodec } from './codec';
import { GENERATIONS } from './generations';
import {
    type Category,
    type Field,
    type Generation,
    type NodeRef,
    type ReadoutError,
    type ReadoutRequest,
    sameNode,
} from './model';
import { sensorDataCodec, sensorDataCodecFor } from './sensordata';

/** What the server asks the device for: the fields of one node (or of the device itself). */
export interface ReadContext {
    request: ReadoutRequest;
    /** The node to read; undefined for a device without nodes. */
    node: NodeRef | undefined;
    /** The requester's full JID. */
    from: string;
    generation: Generation;
}

export interface SensorDevice {
    /** The device's nodes (XEP-0326); an empty list for a device without nodes. */
    nodes(): readonly NodeRef[];
    /** Reads one node. Rejecting (or throwing) reports a readout error for that node. */
    read(context: ReadContext): Promise<{ fields: Field[]; errors?: ReadoutError[] }>;
}

/**
 * The decision on a request: allowed, not, or allowed for some fields, nodes or categories only
 * (XEP-0324 canReadResponse). A list present in the decision is what may be read; if it leaves
 * nothing of what was asked, the request is refused.
 */
export type ReadDecision = boolean | { fields?: string[]; nodes?: NodeRef[]; categories?: Category[] };

export interface SensorServerOptions {
    device: SensorDevice;
    /** Who may read what. Default: everyone the account's access rules let through. */
    authorize?: (from: string, request: ReadoutRequest, generation: Generation) => ReadDecision | Promise<ReadDecision>;
    /** Generations to answer (and advertise in disco#info). Default: all four. */
    generations?: readonly Generation[];
    /** Readouts one requester (bare JID) may have running or scheduled at once. Default 4. */
    maxPerRequester?: number;
    /** How far ahead a scheduled readout (`when`) may be. Default 24 h. */
    maxScheduleAheadMs?: number;
    /** Bound on reading one node. Default 20 s. */
    readTimeoutMs?: number;
    /** Fields per data message; larger readouts are sent in several messages. Default 100. */
    fieldsPerMessage?: number;
    /** Node id used for G0/G1 answers of a device without nodes (XEP-0323 fields always sit in a node). */
    defaultNodeId?: string;
    /** Told about each readout and each problem (for status and logs). */
    onActivity?: (event: { kind: 'readout' | 'rejected' | 'error'; from: string; detail: string }) => void;
}

interface Running {
    key: string;
    requester: string;
    id: string;
    cancelled: boolean;
    timer: NodeJS.Timeout | undefined;
}

/**
 * The device side of XEP-0323 and its successors: answers readout requests in the generation
 * they were asked in, with fields the device supplies, one node at a time. Requests from one
 * requester are bounded; scheduled readouts (`when`) run at their time; cancel stops them.
 */
export class SensorServer {
    readonly #session: Session;
    readonly #o: Required<Omit<SensorServerOptions, 'authorize' | 'onActivity' | 'defaultNodeId'>> &
        SensorServerOptions;
    readonly #handles: Disposable[] = [];
    readonly #running = new Map<string, Running>();

    constructor(session: Session, options: SensorServerOptions) {
        this.#session = session;
        this.#o = {
            generations: ['G0', 'G1', 'G2', 'G3'],
            maxPerRequester: 4,
            maxScheduleAheadMs: 24 * 3600 * 1000,
            readTimeoutMs: 20_000,
            fieldsPerMessage: 100,
            ...options,
        };
        for (const generation of this.#o.generations) {
            const ns = GENERATIONS[generation];
            for (const namespace of [ns.sensorData, ...ns.aliases.sensorData]) {
                // G2/G3 devices take requests as IQ get or set (IoTGateway does).
                const types: Array<'get' | 'set'> =
                    generation === 'G0' || generation === 'G1' ? ['get'] : ['get', 'set'];
                for (const type of types) {
                    this.#handles.push(session.handleIq(type, namespace, 'req', (r) => this.#onRequest(generation, r)));
                    this.#handles.push(
                        session.handleIq(type, namespace, 'cancel', (r) => this.#onCancel(generation, r)),
                    );
                }
                this.#handles.push(session.addFeature(namespace));
            }
        }
    }

    /** Readouts running or scheduled. */
    get active(): number {
        return this.#running.size;
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
        for (const r of this.#running.values()) {
            r.cancelled = true;
            clearTimeout(r.timer);
        }
        this.#running.clear();
    }

    async #onRequest(generation: Generation, iq: IqRequest): Promise<XmlElement> {
        // Answer in the namespace the request came in (a G3 request may use urn:nf: or urn:nfi:).
        const codec = sensorDataCodecFor(iq.payload.ns) ?? sensorDataCodec(generation);
        const request = codec.readRequest(iq.payload); // bad-request for a malformed request
        const requester = tryParseJid(iq.from)?.bare ?? iq.from;
        const refuse = (error: StanzaError) => {
            this.#o.onActivity?.({ kind: 'rejected', from: iq.from, detail: error.text ?? error.condition });
            return codec.rejection(request.id, error);
        };

        const decision = this.#o.authorize ? await this.#o.authorize(iq.from, request, generation) : true;
        if (decision === false) throw refuse(new StanzaError('forbidden', 'Access denied'));
        const allowed = decision === true ? request : narrow(request, decision);
        if (!allowed)
            throw refuse(new StanzaError('forbidden', 'Access denied to the fields, nodes or categories asked for'));

        const known = this.#o.device.nodes();
        for (const n of allowed.nodes) {
            if (!known.some((k) => sameNode(k, n)))
                throw refuse(new StanzaError('item-not-found', `Invalid nodeId ${n.nodeId}`));
        }
        const when = allowed.when?.date.getTime();
        if (when !== undefined && when - Date.now() > this.#o.maxScheduleAheadMs) {
            throw refuse(
                new StanzaError(
                    'bad-request',
                    `'when' is more than ${Math.round(this.#o.maxScheduleAheadMs / 3600_000)} h ahead`,
                ),
            );
        }
        const key = `${requester} ${request.id}`;
        if (this.#running.has(key))
            throw refuse(new StanzaError('conflict', `A readout with id ${request.id} is already running`));
        const mine = [...this.#running.values()].filter((r) => r.requester === requester).length;
        if (mine >= this.#o.maxPerRequester) {
            throw refuse(
                new StanzaError(
                    'resource-constraint',
                    `${mine} readouts from ${requester} are already in progress; try again later`,
                    { type: 'wait' },
                ),
            );
        }

        const running: Running = { key, requester, id: request.id, cancelled: false, timer: undefined };
        this.#running.set(key, running);
        const queued = when !== undefined && when > Date.now();
        const run = () => {
            running.timer = undefined;
            void this.#readout(codec, generation, iq.from, allowed, running, queued);
        };
        // The accepted answer goes out first; the readout starts right after it (its first data
        // then shares the answer's write), or at `when`.
        if (queued) running.timer = setTimeout(run, (when as number) - Date.now());
        else iq.afterAnswer(run);
        return codec.accepted(request.id, queued);
    }

    #onCancel(generation: Generation, iq: IqRequest): XmlElement | undefined {
        const codec = sensorDataCodecFor(iq.payload.ns) ?? sensorDataCodec(generation);
        const id = codec.readCancel(iq.payload);
        const requester = tryParseJid(iq.from)?.bare ?? iq.from;
        const running = this.#running.get(`${requester} ${id}`);
        if (running) {
            running.cancelled = true;
            clearTimeout(running.timer);
            this.#running.delete(running.key);
        }
        // Idempotent: cancelling a finished or unknown readout is answered the same way.
        return codec.cancelled(id);
    }

    async #readout(
        codec: SensorDataCodec,
        generation: Generation,
        to: string,
        request: ReadoutRequest,
        running: Running,
        queued: boolean,
    ): Promise<void> {
        // Messages are queued without waiting for each to be delivered (the session keeps their
        // order); the readout's slot is free once the last one is queued, not once it is acknowledged.
        const sent: Array<Promise<void>> = [];
        const send = (payload: XmlElement) => {
            sent.push(this.#session.send(el('message', { to }, payload)));
        };
        let failure: unknown;
        try {
            if (queued) send(codec.started(request.id));
            const nodes = request.nodes.length > 0 ? request.nodes : this.#o.device.nodes();
            const targets: Array<NodeRef | undefined> = nodes.length > 0 ? [...nodes] : [undefined];
            let sentAny = false;
            for (let i = 0; i < targets.length && !running.cancelled; i++) {
                const node = targets[i];
                const { fields, errors } = await this.#readNode({ request, node, from: to, generation });
                if (running.cancelled) break;
                const last = i === targets.length - 1;
                const parts = chunk(
                    fields.map((f) => this.#placed(f, node, generation)),
                    this.#o.fieldsPerMessage,
                );
                for (let j = 0; j < parts.length; j++) {
                    const final = last && j === parts.length - 1;
                    for (const payload of codec.data(
                        request.id,
                        parts[j] ?? [],
                        j === parts.length - 1 ? errors : [],
                        final,
                    ))
                        send(payload);
                    sentAny = true;
                }
            }
            if (!sentAny && !running.cancelled) send(codec.done(request.id));
        } catch (err) {
            failure = err;
        } finally {
            clearTimeout(running.timer);
            if (this.#running.get(running.key) === running) this.#running.delete(running.key);
        }
        const delivered = await Promise.allSettled(sent);
        const lost = delivered.find((d): d is PromiseRejectedResult => d.status === 'rejected');
        if (failure !== undefined || lost) {
            const err = (failure ?? lost?.reason) as Error;
            this.#o.onActivity?.({ kind: 'error', from: to, detail: err?.message ?? String(err) });
        } else if (!running.cancelled) {
            this.#o.onActivity?.({ kind: 'readout', from: to, detail: `${request.id}` });
        }
    }

    /** Reads one node within the time limit; a failure becomes a readout error, never a crash. */
    async #readNode(context: ReadContext): Promise<{ fields: Field[]; errors: ReadoutError[] }> {
        let timer: NodeJS.Timeout | undefined;
        try {
            const result = await Promise.race([
                this.#o.device.read(context),
                new Promise<never>((_, reject) => {
                    timer = setTimeout(() => reject(new XmppError('TIMEOUT', 'Timeout')), this.#o.readTimeoutMs);
                }),
            ]);
            return { fields: filterFields(result.fields, context.request), errors: result.errors ?? [] };
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            return {
                fields: [],
                errors: [
                    {
                        ...(context.node ? { node: context.node } : {}),
                        timestamp: { date: new Date(), zoneless: false },
                        message,
                    },
                ],
            };
        } finally {
            clearTimeout(timer);
        }
    }

    /** G0/G1 fields always sit in a node: a device without nodes answers under its default node id. */
    #placed(f: Field, node: NodeRef | undefined, generation: Generation): Field {
        const n = f.node ?? node;
        if (n) return f.node ? f : { ...f, node: n };
        if (generation === 'G0' || generation === 'G1')
            return { ...f, node: { nodeId: this.#o.defaultNodeId ?? 'Device' } };
        return f;
    }
}

/**
 * The request cut down to what the decision permits, or undefined when nothing of it is left.
 * An empty list in a request means "all", so a request and a permission that do not overlap
 * must be refused, never turned into an empty list (that would read everything).
 */
function narrow(
    request: ReadoutRequest,
    to: { fields?: string[]; nodes?: NodeRef[]; categories?: Category[] },
): ReadoutRequest | undefined {
    let { fields, nodes, categories, all } = request;
    if (to.fields) {
        fields = fields.length > 0 ? fields.filter((f) => to.fields?.includes(f)) : [...to.fields];
        if (fields.length === 0) return undefined;
    }
    if (to.nodes) {
        nodes = nodes.length > 0 ? nodes.filter((n) => to.nodes?.some((m) => sameNode(m, n))) : [...to.nodes];
        if (nodes.length === 0) return undefined;
    }
    if (to.categories) {
        categories =
            all || categories.length === 0 ? [...to.categories] : categories.filter((c) => to.categories?.includes(c));
        all = false;
        if (categories.length === 0) return undefined;
    }
    return { ...request, fields, nodes, categories, all };
}

/** The device may supply more than was asked; only what the request covers is sent (names, categories, from/to). */
function filterFields(fields: readonly Field[], request: ReadoutRequest): Field[] {
    const names = new Set(request.fields);
    const categories = new Set(request.categories);
    const from = request.from?.date.getTime();
    const to = request.to?.date.getTime();
    return fields.filter((f) => {
        if (names.size > 0 && !names.has(f.name)) return false;
        if (
            !request.all &&
            categories.size > 0 &&
            f.categories.length > 0 &&
            !f.categories.some((c) => categories.has(c))
        )
            return false;
        const t = f.timestamp.date.getTime();
        if (f.categories.includes('historical') && ((from !== undefined && t < from) || (to !== undefined && t > to)))
            return false;
        return true;
    });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
    if (items.length === 0) return [[]];
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}
