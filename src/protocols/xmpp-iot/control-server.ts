import type { XmlElement } from '../xml';
import type { Disposable, IncomingMessage, IqRequest, Session, XmppError } from '../xmpp';
import { controlCodec, controlCodecFor } from './control';
import { GENERATIONS } from './generations';
import type {
    ControlFailure,
    ControlRequest,
    ControlResult,
    Generation,
    NodeRef,
    ParameterDescription,
    ParameterValue,
} from './model';
import { sameNode } from './model';
import { checkParameter } from './validate';

export interface ApplyContext {
    /** The node the values are for; undefined for a device without nodes. */
    node: NodeRef | undefined;
    /** Validated values, in the order they came. */
    parameters: ParameterValue[];
    /** The requester's full JID. */
    from: string;
    generation: Generation;
    /** The set came as a message: nobody waits for an answer. */
    acknowledged: boolean;
}

export interface Actuator {
    /** The device's nodes; an empty list for a device without nodes. */
    nodes(): readonly NodeRef[];
    /** The parameters of one node (or of the device): names, types, ranges, current values. */
    parameters(node: NodeRef | undefined): readonly ParameterDescription[];
    /** Carries out a validated set; resolve to accept, or return a failure (or throw) to refuse. */
    apply(context: ApplyContext): Promise<ControlFailure | undefined>;
}

/** Who may control what: false, true, or only some parameters. */
/**
 * The decision on a set: allowed, not, or allowed for some parameters or nodes only (XEP-0324
 * canControlResponse). The device then applies only those, and its answer lists what it set
 * (XEP-0324 §3.4.3); if nothing of the set is left, it is refused.
 */
export type ControlDecision = boolean | { parameters?: string[]; nodes?: NodeRef[] };

export interface ControlServerOptions {
    actuator: Actuator;
    authorize?: (
        from: string,
        request: ControlRequest,
        generation: Generation,
    ) => ControlDecision | Promise<ControlDecision>;
    generations?: readonly Generation[];
    /** Told about each accepted set and each refusal (status, logs; message sets have no other way back). */
    onActivity?: (event: { kind: 'set' | 'refused'; from: string; detail: string }) => void;
}

/**
 * The device side of XEP-0325 and its successors: publishes the parameter form, validates each
 * set against it (existence, type, range, options, read-only), lets the flow apply it, and
 * answers success or a typed error in the generation the set came in.
 */
export class ControlServer {
    readonly #session: Session;
    readonly #o: ControlServerOptions & { generations: readonly Generation[] };
    readonly #handles: Disposable[] = [];

    constructor(session: Session, options: ControlServerOptions) {
        this.#session = session;
        this.#o = { generations: ['G0', 'G1', 'G2', 'G3'], ...options };
        for (const generation of this.#o.generations) {
            const ns = GENERATIONS[generation];
            for (const namespace of [ns.control, ...ns.aliases.control]) {
                this.#handles.push(session.handleIq('set', namespace, 'set', (r) => this.#onSet(generation, r)));
                this.#handles.push(
                    session.handleIq('get', namespace, 'getForm', (r) => this.#onGetForm(generation, r)),
                );
                if (controlCodec(generation).supportsMessageSet) {
                    this.#handles.push(
                        session.handleMessage(namespace, 'set', (m) => this.#onMessageSet(generation, m)),
                    );
                }
                this.#handles.push(session.addFeature(namespace));
            }
        }
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
    }

    async #onSet(generation: Generation, iq: IqRequest): Promise<XmlElement | undefined> {
        // Answer in the namespace the set came in (G3: urn:nf: or urn:nfi:).
        const codec = controlCodecFor(iq.payload.ns) ?? controlCodec(generation);
        const request = codec.readSet(iq.payload); // bad-request for malformed elements and values
        const outcome = await this.#carryOut(generation, iq.from, request, true);
        if ('failure' in outcome) {
            this.#o.onActivity?.({ kind: 'refused', from: iq.from, detail: outcome.failure.message });
            throw codec.setError(outcome.failure);
        }
        this.#o.onActivity?.({ kind: 'set', from: iq.from, detail: outcome.result.parameters.join(', ') });
        return codec.setResult(outcome.result);
    }

    async #onMessageSet(generation: Generation, message: IncomingMessage): Promise<void> {
        const codec = controlCodecFor(message.payload.ns) ?? controlCodec(generation);
        let request: ControlRequest;
        try {
            request = codec.readSet(message.payload);
        } catch (err) {
            this.#o.onActivity?.({ kind: 'refused', from: message.from, detail: (err as Error).message });
            return;
        }
        const outcome = await this.#carryOut(generation, message.from, { ...request, unacknowledged: true }, false);
        if ('failure' in outcome)
            this.#o.onActivity?.({ kind: 'refused', from: message.from, detail: outcome.failure.message });
        else this.#o.onActivity?.({ kind: 'set', from: message.from, detail: outcome.result.parameters.join(', ') });
    }

    #onGetForm(generation: Generation, iq: IqRequest): XmlElement {
        const codec = controlCodecFor(iq.payload.ns) ?? controlCodec(generation);
        const { nodes } = codec.readGetForm(iq.payload);
        const targets = this.#targets(nodes);
        if ('failure' in targets) throw codec.setError(targets.failure);
        // With several nodes, only the parameters common to all of them (XEP-0325 §Control forms).
        const lists = targets.nodes.map((n) => this.#o.actuator.parameters(n));
        const common = (lists[0] ?? []).filter((p) =>
            lists.every((l) => l.some((q) => q.name === p.name && q.type === p.type)),
        );
        const title =
            targets.nodes.length === 1
                ? (targets.nodes[0]?.nodeId ?? this.#session.account.bare)
                : `${targets.nodes.length} nodes`;
        return codec.form(common, targets.nodes[0] === undefined ? this.#session.account.bare : title);
    }

    /** Authorises, validates against every target node's parameters, then applies node by node. */
    async #carryOut(
        generation: Generation,
        from: string,
        request: ControlRequest,
        acknowledged: boolean,
    ): Promise<{ result: ControlResult } | { failure: ControlFailure }> {
        const decision = this.#o.authorize ? await this.#o.authorize(from, request, generation) : true;
        if (decision === false) return { failure: { reason: 'forbidden', message: 'Access denied' } };
        if (request.parameters.length > 0 && typeof decision === 'object') {
            const permitted = decision.parameters;
            const parameters = permitted
                ? request.parameters.filter((p) => permitted.includes(p.name))
                : request.parameters;
            if (parameters.length === 0) {
                const denied = request.parameters[0]?.name;
                return {
                    failure: {
                        reason: 'forbidden',
                        ...(denied ? { parameter: denied } : {}),
                        message: `Not allowed to set ${request.parameters.map((p) => p.name).join(', ')}`,
                    },
                };
            }
            let nodes = request.nodes;
            if (decision.nodes) {
                const allowedNodes = decision.nodes;
                nodes =
                    nodes.length > 0
                        ? nodes.filter((n) => allowedNodes.some((m) => sameNode(m, n)))
                        : [...allowedNodes];
                if (nodes.length === 0)
                    return {
                        failure: {
                            reason: 'forbidden',
                            message: `Not allowed to control ${request.nodes.map((n) => n.nodeId).join(', ')}`,
                        },
                    };
            }
            request = { ...request, parameters, nodes };
        }
        if (request.parameters.length === 0)
            return { failure: { reason: 'bad-value', message: 'The set names no parameter' } };
        const targets = this.#targets(
            request.nodes,
            request.parameters.map((p) => p.name),
        );
        if ('failure' in targets) return targets;
        for (const node of targets.nodes) {
            const described = this.#o.actuator.parameters(node);
            for (const value of request.parameters) {
                const problem = checkParameter(
                    value,
                    described.find((d) => d.name === value.name),
                );
                if (problem) return { failure: node ? { ...problem, node } : problem };
            }
        }
        for (const node of targets.nodes) {
            let refused: ControlFailure | undefined;
            try {
                refused = await this.#o.actuator.apply({
                    node,
                    parameters: request.parameters,
                    from,
                    generation,
                    acknowledged,
                });
            } catch (err) {
                const code = (err as XmppError).code;
                refused = {
                    reason: code === 'ACCESS_DENIED' ? 'forbidden' : code === 'BAD_INPUT' ? 'bad-value' : 'other',
                    message: err instanceof Error ? err.message : String(err),
                };
            }
            if (refused) return { failure: node ? { ...refused, node } : refused };
        }
        return {
            result: {
                nodes: targets.nodes.filter((n): n is NodeRef => n !== undefined),
                parameters: request.parameters.map((p) => p.name),
            },
        };
    }

    /**
     * The nodes a request addresses (all named ones must exist). Without nodes it addresses the
     * device itself, or, on a device with nodes, every node that has all the named parameters.
     */
    #targets(
        nodes: readonly NodeRef[],
        names: readonly string[] = [],
    ): { nodes: Array<NodeRef | undefined> } | { failure: ControlFailure } {
        const known = this.#o.actuator.nodes();
        if (nodes.length === 0) {
            if (known.length === 0) return { nodes: [undefined] };
            const having = known.filter((n) =>
                names.every((name) => this.#o.actuator.parameters(n).some((p) => p.name === name)),
            );
            if (having.length === 0)
                return {
                    failure: { reason: 'not-found', parameter: names[0], message: `No node has ${names.join(', ')}` },
                };
            return { nodes: having };
        }
        for (const n of nodes) {
            if (!known.some((k) => k.nodeId === n.nodeId && (!n.sourceId || k.sourceId === n.sourceId))) {
                return { failure: { reason: 'not-found', message: `Node ${n.nodeId} does not exist`, node: n } };
            }
        }
        return { nodes: [...nodes] };
    }
}
