import { el, type XmlAttrInput, type XmlElement } from '../../xml';
import { StanzaError } from '../../xmpp';
import type {
    ConcentratorAnswer,
    ConcentratorCodec,
    ConcentratorCommand,
    ConcentratorNode,
    ConcentratorResult,
    DataSource,
} from '../codec';
import { FORM_NAMESPACES } from '../dataform';
import { GENERATIONS } from '../generations';
import { formatDateTime } from '../lexical';
import type { NodeRef } from '../model';
import {
    badRequest,
    boolAttr,
    boolText,
    conditionOfResult,
    dateAttr,
    defined,
    editForm,
    nodeParameterElements,
    readEditForm,
    readNodeParameters,
    requiredAttr,
    resultOfCondition,
    stateAttr,
    stringAttrs,
} from './g01';

/**
 * The concentrator of G2 (`urn:ieee:iot:concentrator:1.0`) and G3 (`urn:nf:iot:concentrator:1.0`; the
 * Neuro-Foundation documents spell it `urn:nfi:` since 2025-08). Wire facts: docs/design/xmpp-iot-g2-g3.md §8,
 * checked against the NF Concentrator.xsd.
 *
 * The requests keep the XEP-0326 element names; everything else changed:
 * - node references are `id` (required), `src` and `pt` (partition); data-source references are `src`;
 *   lists of nodes are `<nd>` children;
 * - answers are generic elements, not `…Response`: `strings` (getCapabilities), `dataSources`, `bool`,
 *   `bools`, `nodeInfo`, `nodeInfos`, and the bare `jabber:x:data` form for getNodeParametersForEdit;
 * - there are no result codes: failures are RFC 6120 IQ errors.
 *
 * Every command of the ConcentratorCommand union has a G2/G3 equivalent.
 */

type Failure = Exclude<ConcentratorResult, 'OK'>;

/** The answer element each command expects (NF Concentrator.xsd "Expected response element"). */
const ANSWER_ELEMENTS: Readonly<Record<Exclude<ConcentratorCommand['command'], 'unsupported'>, string>> = {
    getCapabilities: 'strings',
    getAllDataSources: 'dataSources',
    getRootDataSources: 'dataSources',
    getChildDataSources: 'dataSources',
    containsNode: 'bool',
    containsNodes: 'bools',
    getNode: 'nodeInfo',
    getNodes: 'nodeInfos',
    getAllNodes: 'nodeInfos',
    getRootNodes: 'nodeInfos',
    getChildNodes: 'nodeInfos',
    getAncestors: 'nodeInfos',
    getNodeParametersForEdit: 'x',
};

class G23ConcentratorCodec implements ConcentratorCodec {
    readonly generation: 'G2' | 'G3';
    readonly ns: string;
    /** Namespaces read as this generation (G3: `urn:nf:` and `urn:nfi:`). */
    readonly #accepted: ReadonlySet<string>;

    constructor(generation: 'G2' | 'G3', ns?: string) {
        const g = GENERATIONS[generation];
        this.generation = generation;
        this.#accepted = new Set([g.concentrator, ...g.aliases.concentrator]);
        this.ns = ns ?? g.concentrator;
        if (!this.#accepted.has(this.ns))
            throw new TypeError(`'${this.ns}' is not a ${generation} concentrator namespace`);
    }

    // ---- device side ----

    readCommand(element: XmlElement): ConcentratorCommand {
        this.#checkNs(element);
        const name = element.local;
        switch (name) {
            case 'getCapabilities':
            case 'getAllDataSources':
            case 'getRootDataSources':
                return { command: name };
            case 'getChildDataSources':
                return { command: name, sourceId: requiredAttr(element, 'src') };
            case 'containsNode':
            case 'getNodeParametersForEdit':
                return { command: name, node: readRef(element, name) };
            case 'containsNodes':
                return { command: name, nodes: readRefs(element) };
            case 'getNode':
            case 'getChildNodes':
            case 'getAncestors':
                return { command: name, node: readRef(element, name), ...pm(element) };
            case 'getNodes':
                return { command: name, nodes: readRefs(element), ...pm(element) };
            case 'getAllNodes':
            case 'getRootNodes':
                return { command: name, sourceId: requiredAttr(element, 'src'), ...pm(element) };
            default:
                return { command: 'unsupported', name };
        }
    }

    answer(answer: ConcentratorAnswer): XmlElement {
        const xmlns = this.ns;
        switch (answer.command) {
            case 'getCapabilities':
                return el(
                    'strings',
                    { xmlns },
                    answer.commands.map((c) => el('value', {}, c)),
                );
            case 'getAllDataSources':
            case 'getRootDataSources':
            case 'getChildDataSources':
                return el(
                    'dataSources',
                    { xmlns },
                    answer.sources.map((s) => sourceElement(s)),
                );
            case 'containsNode':
                return el('bool', { xmlns }, String(answer.contains));
            case 'containsNodes':
                return el(
                    'bools',
                    { xmlns },
                    answer.contains.map((b) => el('bool', {}, String(b))),
                );
            case 'getNode':
                return el('nodeInfo', { xmlns, ...nodeAttrs(answer.node) }, nodeParameterElements(answer.node));
            case 'getNodes':
            case 'getAllNodes':
            case 'getRootNodes':
            case 'getChildNodes':
            case 'getAncestors':
                return el(
                    'nodeInfos',
                    { xmlns },
                    answer.nodes.map((n) => el('nodeInfo', nodeAttrs(n), nodeParameterElements(n))),
                );
            case 'getNodeParametersForEdit':
                return editForm(answer.form, answer.title, FORM_NAMESPACES.dynamic.ns);
        }
    }

    failure(_commandName: string, result: Failure, message?: string): StanzaError {
        const { condition, type } = conditionOfResult(result);
        return new StanzaError(condition, message, { type });
    }

    // ---- client side ----

    command(command: Exclude<ConcentratorCommand, { command: 'unsupported' }>): XmlElement {
        const e = el(command.command, { xmlns: this.ns });
        switch (command.command) {
            case 'getCapabilities':
            case 'getAllDataSources':
            case 'getRootDataSources':
                return e;
            case 'getChildDataSources':
                e.attrs.src = command.sourceId;
                return e;
            case 'containsNode':
            case 'getNodeParametersForEdit':
                Object.assign(e.attrs, refAttrs(command.node));
                return e;
            case 'containsNodes':
                return e.append(command.nodes.map((n) => el('nd', refAttrs(n))));
            case 'getNode':
            case 'getChildNodes':
            case 'getAncestors':
                Object.assign(e.attrs, refAttrs(command.node), pmAttrs(command));
                return e;
            case 'getNodes':
                Object.assign(e.attrs, pmAttrs(command));
                return e.append(command.nodes.map((n) => el('nd', refAttrs(n))));
            case 'getAllNodes':
            case 'getRootNodes':
                Object.assign(e.attrs, { src: command.sourceId }, pmAttrs(command));
                return e;
        }
    }

    readAnswer(command: ConcentratorCommand['command'], payload: XmlElement | undefined): ConcentratorAnswer {
        if (command === 'unsupported') throw badRequest('an unsupported command has no answer to read');
        const expected = ANSWER_ELEMENTS[command];
        if (!payload) throw badRequest(`${command}: empty result, expected <${expected}>`);
        if (command === 'getNodeParametersForEdit') {
            const { title, form } = readEditForm(payload);
            return { command, form, title };
        }
        this.#checkNs(payload);
        if (payload.local !== expected) throw badRequest(`${command}: expected <${expected}>, got <${payload.local}>`);
        switch (command) {
            case 'getCapabilities':
                return { command, commands: payload.childrenNamed('value').map((v) => v.text().trim()) };
            case 'getAllDataSources':
            case 'getRootDataSources':
            case 'getChildDataSources':
                return { command, sources: payload.childrenNamed('dataSource').map(readSource) };
            case 'containsNode':
                return { command, contains: boolText(payload.text(), expected) };
            case 'containsNodes':
                return { command, contains: payload.childrenNamed('bool').map((b) => boolText(b.text(), expected)) };
            case 'getNode':
                return { command, node: readNode(payload) };
            default:
                return { command, nodes: payload.childrenNamed('nodeInfo').map(readNode) };
        }
    }

    readFailure(stanza: XmlElement): { result: Failure; message?: string } {
        const error = StanzaError.fromStanza(stanza);
        return defined({ result: resultOfCondition(error.condition), message: error.text });
    }

    #checkNs(e: XmlElement): void {
        if (!this.#accepted.has(e.ns)) {
            throw badRequest(`<${e.local}> is in namespace '${e.ns}', expected '${this.ns}'`);
        }
    }
}

function readRef(e: XmlElement, where: string): NodeRef {
    const nodeId = requiredAttr(e, 'id', where);
    return defined({ nodeId, sourceId: e.attr('src') || undefined, partition: e.attr('pt') || undefined });
}

function readRefs(e: XmlElement): NodeRef[] {
    return e.childrenNamed('nd').map((n) => readRef(n, `${e.local}/nd`));
}

function refAttrs(n: NodeRef): Record<string, string> {
    return stringAttrs({ id: n.nodeId, src: n.sourceId || undefined, pt: n.partition || undefined });
}

function pm(e: XmlElement): { parameters: boolean; messages: boolean } {
    return { parameters: boolAttr(e, 'parameters', false), messages: boolAttr(e, 'messages', false) };
}

function pmAttrs(c: { parameters: boolean; messages: boolean }): Record<string, string> {
    return stringAttrs({ parameters: c.parameters || undefined, messages: c.messages || undefined });
}

function sourceElement(s: DataSource): XmlElement {
    return el('dataSource', {
        src: s.sourceId,
        name: s.name,
        hasChildren: s.hasChildren,
        lastChanged: s.lastChanged && formatDateTime(s.lastChanged),
    });
}

function readSource(e: XmlElement): DataSource {
    const sourceId = requiredAttr(e, 'src', 'dataSource');
    return defined({
        sourceId,
        name: e.attr('name') ?? sourceId,
        hasChildren: boolAttr(e, 'hasChildren', false),
        lastChanged: dateAttr(e, 'lastChanged'),
    });
}

/**
 * NodeInformation attributes. The optional booleans are written only when true, as the deployed
 * implementation does (XSD default false).
 */
function nodeAttrs(n: ConcentratorNode): Record<string, XmlAttrInput> {
    return {
        id: n.nodeId,
        src: n.sourceId || undefined,
        pt: n.partition || undefined,
        nodeType: n.nodeType,
        displayName: n.displayName,
        state: n.state,
        localId: n.localId,
        logId: n.logId,
        hasChildren: n.hasChildren,
        isReadable: n.isReadable || undefined,
        isControllable: n.isControllable || undefined,
        hasCommands: n.hasCommands || undefined,
        parentId: n.parentId,
        lastChanged: n.lastChanged && formatDateTime(n.lastChanged),
    };
}

function readNode(e: XmlElement): ConcentratorNode {
    return defined({
        nodeId: requiredAttr(e, 'id', e.local),
        sourceId: e.attr('src') || undefined,
        partition: e.attr('pt') || undefined,
        displayName: e.attr('displayName'),
        nodeType: e.attr('nodeType'),
        localId: e.attr('localId'),
        logId: e.attr('logId'),
        state: stateAttr(e),
        hasChildren: boolAttr(e, 'hasChildren', false),
        isReadable: boolAttr(e, 'isReadable', false),
        isControllable: boolAttr(e, 'isControllable', false),
        hasCommands: boolAttr(e, 'hasCommands', false),
        parentId: e.attr('parentId'),
        lastChanged: dateAttr(e, 'lastChanged'),
        parameters: readNodeParameters(e),
    });
}

/** A G2 or G3 concentrator codec; `ns` picks the spelling written (G3: `urn:nf:` by default, or `urn:nfi:`). */
export function g23Concentrator(generation: 'G2' | 'G3', ns?: string): ConcentratorCodec {
    return new G23ConcentratorCodec(generation, ns);
}
