import type { XmlElement } from '../xml';
import type { Disposable, IqRequest, Session } from '../xmpp';
import type { ConcentratorAnswer, ConcentratorCodec, ConcentratorCommand, ConcentratorNode, DataSource } from './codec';
import { CONCENTRATOR_COMMANDS, concentratorCodec, concentratorCodecFor } from './concentrator';
import { GENERATIONS } from './generations';
import type { Generation, NodeRef, ParameterDescription } from './model';

/** XEP-0326 §Required data sources: every concentrator has this one. */
export const METERING_TOPOLOGY: DataSource = {
    sourceId: 'MeteringTopology',
    name: 'Metering topology',
    hasChildren: false,
};

export interface NodeTree {
    /** The data sources; usually just METERING_TOPOLOGY. */
    sources(): readonly DataSource[];
    /** Every node of a source, flat (`parentId` gives the hierarchy; no parent: a root node). */
    nodes(sourceId: string): readonly ConcentratorNode[];
    /** Presentation of a node's parameters for getNodeParametersForEdit (read-only unless edits are supported). */
    parametersForEdit?(node: ConcentratorNode): readonly ParameterDescription[];
}

export interface ConcentratorServerOptions {
    tree: NodeTree;
    /** Who may browse. Default: everyone the account's access rules let through. */
    authorize?: (from: string) => boolean | Promise<boolean>;
    generations?: readonly Generation[];
}

/**
 * The device side of XEP-0326 concentrators (and the IEEE/NF successor) for a device that
 * exposes a handful of nodes: capabilities, data sources, node lookup and tree walking, and the
 * node parameter form. Readout and control of the nodes go through XEP-0323/0325 with node
 * references. Every other command is answered NotImplemented.
 */
export class ConcentratorServer {
    readonly #o: ConcentratorServerOptions & { generations: readonly Generation[] };
    readonly #handles: Disposable[] = [];

    constructor(session: Session, options: ConcentratorServerOptions) {
        this.#o = { generations: ['G0', 'G1', 'G2', 'G3'], ...options };
        for (const generation of this.#o.generations) {
            const ns = GENERATIONS[generation];
            for (const namespace of [ns.concentrator, ...ns.aliases.concentrator]) {
                // XEP-0326 §Unimplemented commands: every element of the namespace gets an answer.
                for (const type of ['get', 'set'] as const) {
                    this.#handles.push(session.handleIq(type, namespace, '*', (r) => this.#onCommand(generation, r)));
                }
                this.#handles.push(session.addFeature(namespace));
            }
        }
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
    }

    async #onCommand(generation: Generation, iq: IqRequest): Promise<XmlElement> {
        const codec = concentratorCodecFor(iq.payload.ns) ?? concentratorCodec(generation);
        const command = codec.readCommand(iq.payload); // bad-request for a malformed command
        const name = command.command === 'unsupported' ? command.name : command.command;
        if (this.#o.authorize && !(await this.#o.authorize(iq.from)))
            throw codec.failure(name, 'InsufficientPrivileges', 'Access denied');
        return codec.answer(this.#answer(codec, command));
    }

    #answer(codec: ConcentratorCodec, c: ConcentratorCommand): ConcentratorAnswer {
        const tree = this.#o.tree;
        switch (c.command) {
            case 'getCapabilities':
                return { command: 'getCapabilities', commands: [...CONCENTRATOR_COMMANDS] };
            case 'getAllDataSources':
            case 'getRootDataSources':
                return { command: c.command, sources: [...tree.sources()] };
            case 'getChildDataSources':
                this.#source(codec, c.command, c.sourceId);
                return { command: 'getChildDataSources', sources: [] };
            case 'containsNode':
                return { command: 'containsNode', contains: this.#find(c.node) !== undefined };
            case 'containsNodes':
                return { command: 'containsNodes', contains: c.nodes.map((n) => this.#find(n) !== undefined) };
            case 'getNode':
                return { command: 'getNode', node: present(this.#require(codec, c.command, c.node), c.parameters) };
            case 'getNodes':
                return {
                    command: 'getNodes',
                    nodes: c.nodes.map((n) => present(this.#require(codec, c.command, n), c.parameters)),
                };
            case 'getAllNodes':
                return {
                    command: 'getAllNodes',
                    nodes: this.#source(codec, c.command, c.sourceId).map((n) => present(n, c.parameters)),
                };
            case 'getRootNodes':
                return {
                    command: 'getRootNodes',
                    nodes: this.#source(codec, c.command, c.sourceId)
                        .filter((n) => !n.parentId)
                        .map((n) => present(n, c.parameters)),
                };
            case 'getChildNodes': {
                const parent = this.#require(codec, c.command, c.node);
                return {
                    command: 'getChildNodes',
                    nodes: this.#all()
                        .filter((n) => n.parentId === parent.nodeId && (n.sourceId ?? '') === (parent.sourceId ?? ''))
                        .map((n) => present(n, c.parameters)),
                };
            }
            case 'getAncestors': {
                const chain: ConcentratorNode[] = [];
                let current: ConcentratorNode | undefined = this.#require(codec, c.command, c.node);
                while (current && chain.length < 64) {
                    chain.push(present(current, c.parameters));
                    const parentId: string | undefined = current.parentId;
                    current = parentId ? this.#all().find((n) => n.nodeId === parentId) : undefined;
                }
                return { command: 'getAncestors', nodes: chain };
            }
            case 'getNodeParametersForEdit': {
                const node = this.#require(codec, c.command, c.node);
                return {
                    command: 'getNodeParametersForEdit',
                    form: [...(tree.parametersForEdit?.(node) ?? [])],
                    title: node.displayName ?? node.nodeId,
                };
            }
            case 'unsupported':
                throw codec.failure(c.name, 'NotImplemented', `${c.name} is not implemented by this device`);
        }
    }

    #all(): ConcentratorNode[] {
        return this.#o.tree
            .sources()
            .flatMap((s) => this.#o.tree.nodes(s.sourceId).map((n) => ({ ...n, sourceId: n.sourceId ?? s.sourceId })));
    }

    #find(ref: NodeRef): ConcentratorNode | undefined {
        return this.#all().find(
            (n) =>
                n.nodeId === ref.nodeId &&
                (!ref.sourceId || n.sourceId === ref.sourceId) &&
                (!ref.partition || n.partition === ref.partition),
        );
    }

    #require(codec: ConcentratorCodec, command: string, ref: NodeRef): ConcentratorNode {
        const node = this.#find(ref);
        if (!node) throw codec.failure(command, 'NotFound', `Node ${ref.nodeId} not found`);
        return node;
    }

    #source(codec: ConcentratorCodec, command: string, sourceId: string): ConcentratorNode[] {
        if (!this.#o.tree.sources().some((s) => s.sourceId === sourceId))
            throw codec.failure(command, 'NotFound', `Data source ${sourceId} not found`);
        return this.#all().filter((n) => n.sourceId === sourceId);
    }
}

/** A node as answered: its presentation parameters only when they were asked for. */
function present(node: ConcentratorNode, parameters: boolean): ConcentratorNode {
    if (parameters || !node.parameters) return node;
    const { parameters: _omit, ...rest } = node;
    return rest;
}
