import { el, type XmlAttrInput, type XmlElement } from '../../xml';
import { StanzaError, type StanzaErrorType } from '../../xmpp';
import type {
    ConcentratorAnswer,
    ConcentratorCodec,
    ConcentratorCommand,
    ConcentratorNode,
    ConcentratorResult,
    DataSource,
} from '../codec';
import { FORM_NAMESPACES, formTitle, formToParameters, parametersToForm } from '../dataform';
import { GENERATIONS } from '../generations';
import { formatDateTime, parseBoolean, parseDateTime } from '../lexical';
import type { NodeRef, ParameterDescription } from '../model';

/**
 * XEP-0326 concentrators for G0 (v0.1, `urn:xmpp:sn:concentrators`) and G1 (v0.2 to v0.4,
 * `urn:xmpp:iot:concentrators`). Wire facts: docs/design/xmpp-iot-g0-g1.md §5.
 *
 * - Every command is `<cmd xmlns=NS …>` in an IQ get; the answer is `<cmdResponse xmlns=NS result='OK' …>` (§5.1).
 * - Requests reference nodes with `nodeId`, `sourceId` (required in 0326) and `cacheType` in both generations
 *   (XEP-0326 v0.1 examples and XSD `nodeReference`).
 * - Records in answers differ: v0.1 writes `dataSource@id`, `node@id` and `isConfigurable`; v0.2 and later
 *   `sourceId`, `nodeId` and `isControllable` (§5.2, §7). Readers accept both spellings in both generations.
 * - Failures never moved to RFC 6120: `<cmdResponse result='NotFound|…'/>` in an IQ error (sometimes an IQ
 *   result), with no `<error/>` child in the XEPs' examples. This codec sends both the payload and an RFC 6120
 *   condition; clients read `result` first, whatever the IQ type (§5.1).
 *
 * Also exports the helpers g23.ts shares (condition mapping, node-information parameters, the edit form).
 */

/** The command names of the ConcentratorCommand union (XEP-0326 §5.5 minimum, plus the cheap batch forms). */
export const CONCENTRATOR_COMMANDS = [
    'getCapabilities',
    'getAllDataSources',
    'getRootDataSources',
    'getChildDataSources',
    'containsNode',
    'containsNodes',
    'getNode',
    'getNodes',
    'getAllNodes',
    'getRootNodes',
    'getChildNodes',
    'getAncestors',
    'getNodeParametersForEdit',
] as const satisfies ReadonlyArray<Exclude<ConcentratorCommand['command'], 'unsupported'>>;

type Known = (typeof CONCENTRATOR_COMMANDS)[number];
type Failure = Exclude<ConcentratorResult, 'OK'>;

export const FAILURE_RESULTS: readonly Failure[] = [
    'NotFound',
    'InsufficientPrivileges',
    'Locked',
    'NotImplemented',
    'FormError',
    'OtherError',
];

/** XSD `NodeState` (XEP-0326 §Node Information; same in the IEEE/NF schema). */
export const NODE_STATES: ReadonlyArray<ConcentratorNode['state']> = [
    'None',
    'Information',
    'WarningSigned',
    'WarningUnsigned',
    'ErrorSigned',
    'ErrorUnsigned',
];

type NodeParameter = NonNullable<ConcentratorNode['parameters']>[number];

/** Node-information parameter elements (XSD `NodeInformation` choice; no `date` in 0326 or its successors). */
export const NODE_PARAMETER_TYPES: ReadonlyArray<NodeParameter['type']> = [
    'boolean',
    'color',
    'dateTime',
    'double',
    'duration',
    'int',
    'long',
    'string',
    'time',
];

/**
 * Result code ↔ RFC 6120 condition. The XEP-0325 v0.3 table (G0/G1 note §4.3) for the codes it covers;
 * OtherError, which that table folds into bad-request, gets internal-server-error here so that FormError and
 * OtherError stay apart (G2/G3 send only the condition).
 */
const RESULT_CONDITIONS: Readonly<Record<Failure, { condition: string; type: StanzaErrorType }>> = {
    NotFound: { condition: 'item-not-found', type: 'cancel' },
    InsufficientPrivileges: { condition: 'forbidden', type: 'cancel' },
    Locked: { condition: 'conflict', type: 'wait' },
    NotImplemented: { condition: 'feature-not-implemented', type: 'cancel' },
    FormError: { condition: 'bad-request', type: 'modify' },
    OtherError: { condition: 'internal-server-error', type: 'cancel' },
};

/** The condition (and error type) that stands for a result code. */
export function conditionOfResult(result: Failure): { condition: string; type: StanzaErrorType } {
    return RESULT_CONDITIONS[result];
}

/** The result code closest to an RFC 6120 condition (anything unlisted is OtherError). */
export function resultOfCondition(condition: string): Failure {
    switch (condition) {
        case 'item-not-found':
        case 'gone':
            return 'NotFound';
        case 'forbidden':
        case 'not-authorized':
        case 'not-allowed':
        case 'policy-violation':
        case 'registration-required':
        case 'subscription-required':
            return 'InsufficientPrivileges';
        case 'conflict':
            return 'Locked';
        case 'feature-not-implemented':
        case 'service-unavailable':
            return 'NotImplemented';
        case 'bad-request':
        case 'not-acceptable':
        case 'jid-malformed':
            return 'FormError';
        default:
            return 'OtherError';
    }
}

/** The StanzaError readers throw for input they cannot use. */
export function badRequest(text: string): StanzaError {
    return new StanzaError('bad-request', text);
}

/** A boolean attribute: `fallback` when absent, bad-request when not an xs:boolean. */
export function boolAttr(e: XmlElement, name: string, fallback: boolean): boolean {
    const text = e.attr(name);
    if (text === undefined) return fallback;
    const b = parseBoolean(text);
    if (b === undefined) throw badRequest(`${e.local}: attribute ${name} is not a boolean: '${text}'`);
    return b;
}

/** A non-empty attribute, or bad-request naming it. */
export function requiredAttr(e: XmlElement, name: string, where = e.local): string {
    const v = e.attr(name);
    if (v === undefined || v === '') throw badRequest(`${where}: missing ${name} attribute`);
    return v;
}

/** An xs:dateTime attribute as a Date (undefined when absent). */
export function dateAttr(e: XmlElement, name: string): Date | undefined {
    const text = e.attr(name);
    if (text === undefined || text === '') return undefined;
    const t = parseDateTime(text);
    if (!t) throw badRequest(`${e.local}: attribute ${name} is not an xs:dateTime: '${text}'`);
    return t.date;
}

/** The `state` attribute (required by the XSD; a missing one is read as None). */
export function stateAttr(e: XmlElement): ConcentratorNode['state'] {
    const s = e.attr('state');
    if (s === undefined || s === '') return 'None';
    if (!(NODE_STATES as readonly string[]).includes(s)) throw badRequest(`${e.local}: unknown node state '${s}'`);
    return s as ConcentratorNode['state'];
}

/** Presentation parameters of a node record (`<string id name value/>` …); other children are skipped. */
export function readNodeParameters(e: XmlElement): NodeParameter[] | undefined {
    const out: NodeParameter[] = [];
    for (const c of e.elements()) {
        if (!(NODE_PARAMETER_TYPES as readonly string[]).includes(c.local)) continue;
        out.push({
            id: requiredAttr(c, 'id', `${e.local}/${c.local}`),
            name: c.attr('name') ?? '',
            type: c.local as NodeParameter['type'],
            value: c.attr('value') ?? '',
        });
    }
    return out.length > 0 ? out : undefined;
}

export function nodeParameterElements(node: ConcentratorNode): XmlElement[] {
    return (node.parameters ?? []).map((p) => el(p.type, { id: p.id, name: p.name, value: p.value }));
}

/** An object without its undefined properties (so that read values compare equal to written ones). */
export function defined<T extends object>(o: T): T {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
    return out as T;
}

// ---- XEP-0004 forms for getNodeParametersForEdit (../dataform.ts) ----

export const NS_DATA = FORM_NAMESPACES.data.ns;

/** The edit form of a node: XEP-0336 `xdd` in `dynamicNs` (G0: the v0.1 spelling). */
export function editForm(params: readonly ParameterDescription[], title: string, dynamicNs: string): XmlElement {
    return parametersToForm(params, title, undefined, { dynamicNs });
}

/** Reads an edit form back (bad-request when `x` is not a jabber:x:data form). */
export function readEditForm(x: XmlElement): { title: string; form: ParameterDescription[] } {
    return { form: formToParameters(x), title: formTitle(x) ?? '' };
}

// ---- the codec ----

const NODE_LIST_COMMANDS: ReadonlySet<string> = new Set([
    'getNodes',
    'getAllNodes',
    'getRootNodes',
    'getChildNodes',
    'getAncestors',
]);
const SOURCE_LIST_COMMANDS: ReadonlySet<string> = new Set([
    'getAllDataSources',
    'getRootDataSources',
    'getChildDataSources',
]);

class G01ConcentratorCodec implements ConcentratorCodec {
    readonly generation: 'G0' | 'G1';
    readonly ns: string;
    /** v0.1 record attribute names (`id`, `isConfigurable`). */
    readonly #v01: boolean;

    constructor(generation: 'G0' | 'G1') {
        this.generation = generation;
        this.ns = GENERATIONS[generation].concentrator;
        this.#v01 = generation === 'G0';
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
                return { command: name, sourceId: requiredAttr(element, 'sourceId') };
            case 'containsNode':
            case 'getNodeParametersForEdit':
                return { command: name, node: this.#readRef(element, name) };
            case 'containsNodes':
                return { command: name, nodes: this.#readRefs(element) };
            case 'getNode':
            case 'getChildNodes':
            case 'getAncestors':
                return { command: name, node: this.#readRef(element, name), ...pm(element) };
            case 'getNodes':
                return { command: name, nodes: this.#readRefs(element), ...pm(element) };
            case 'getAllNodes':
            case 'getRootNodes':
                return { command: name, sourceId: requiredAttr(element, 'sourceId'), ...pm(element) };
            default:
                return { command: 'unsupported', name };
        }
    }

    answer(answer: ConcentratorAnswer): XmlElement {
        const response = el(`${answer.command}Response`, { xmlns: this.ns, result: 'OK' });
        switch (answer.command) {
            case 'getCapabilities':
                return response.append(answer.commands.map((c) => el('value', {}, c)));
            case 'getAllDataSources':
            case 'getRootDataSources':
            case 'getChildDataSources':
                return response.append(answer.sources.map((s) => this.#sourceElement(s)));
            case 'containsNode':
                return response.append(String(answer.contains));
            case 'containsNodes':
                return response.append(answer.contains.map((b) => el('value', {}, String(b))));
            case 'getNode':
                // Node information sits on the response element itself (XSD: getNodeResponse extends NodeInformation).
                Object.assign(response.attrs, stringAttrs(this.#nodeAttrs(answer.node)));
                return response.append(nodeParameterElements(answer.node));
            case 'getNodes':
            case 'getAllNodes':
            case 'getRootNodes':
            case 'getChildNodes':
            case 'getAncestors':
                return response.append(
                    answer.nodes.map((n) => el('node', this.#nodeAttrs(n), nodeParameterElements(n))),
                );
            case 'getNodeParametersForEdit':
                return response.append(
                    editForm(
                        answer.form,
                        answer.title,
                        this.#v01 ? FORM_NAMESPACES.dynamicV01.ns : FORM_NAMESPACES.dynamic.ns,
                    ),
                );
        }
    }

    failure(commandName: string, result: Failure, message?: string): StanzaError {
        const local = commandName.slice(commandName.indexOf(':') + 1);
        const { condition, type } = conditionOfResult(result);
        return new StanzaError(condition, message, {
            type,
            payload: el(`${local}Response`, { xmlns: this.ns, result }),
        });
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
                e.attrs.sourceId = command.sourceId;
                return e;
            case 'containsNode':
            case 'getNodeParametersForEdit':
                Object.assign(e.attrs, refAttrs(command.node));
                return e;
            case 'containsNodes':
                return e.append(command.nodes.map((n) => el('node', refAttrs(n))));
            case 'getNode':
            case 'getChildNodes':
            case 'getAncestors':
                Object.assign(e.attrs, refAttrs(command.node), pmAttrs(command));
                return e;
            case 'getNodes':
                Object.assign(e.attrs, pmAttrs(command));
                return e.append(command.nodes.map((n) => el('node', refAttrs(n))));
            case 'getAllNodes':
            case 'getRootNodes':
                Object.assign(e.attrs, { sourceId: command.sourceId }, pmAttrs(command));
                return e;
        }
    }

    readAnswer(command: ConcentratorCommand['command'], payload: XmlElement | undefined): ConcentratorAnswer {
        if (command === 'unsupported') throw badRequest('an unsupported command has no answer to read');
        const expected = `${command}Response`;
        if (!payload) throw badRequest(`${command}: empty result, expected <${expected}>`);
        this.#checkNs(payload);
        if (payload.local !== expected) throw badRequest(`${command}: expected <${expected}>, got <${payload.local}>`);
        // Some responses lack `result` in the XSD (§5.3 schema gaps): absent means OK.
        const result = payload.attr('result') ?? 'OK';
        if (result !== 'OK') {
            const code = (FAILURE_RESULTS as readonly string[]).includes(result) ? (result as Failure) : 'OtherError';
            const { condition, type } = conditionOfResult(code);
            throw new StanzaError(condition, `${command}: the concentrator answered ${result}`, { type, payload });
        }
        if (SOURCE_LIST_COMMANDS.has(command)) {
            return {
                command: command as 'getAllDataSources',
                sources: payload.childrenNamed('dataSource').map((s) => this.#readSource(s)),
            };
        }
        if (NODE_LIST_COMMANDS.has(command)) {
            return {
                command: command as 'getNodes',
                nodes: payload.childrenNamed('node').map((n) => this.#readNode(n)),
            };
        }
        switch (command as Known) {
            case 'getCapabilities':
                return {
                    command: 'getCapabilities',
                    commands: payload.childrenNamed('value').map((v) => v.text().trim()),
                };
            case 'containsNode':
                return { command: 'containsNode', contains: boolText(payload.text(), expected) };
            case 'containsNodes':
                return {
                    command: 'containsNodes',
                    contains: payload.childrenNamed('value').map((v) => boolText(v.text(), expected)),
                };
            case 'getNode':
                return { command: 'getNode', node: this.#readNode(payload) };
            default: {
                const x = payload.child('x', NS_DATA);
                if (!x) throw badRequest(`${expected}: no jabber:x:data form`);
                const { title, form } = readEditForm(x);
                return { command: 'getNodeParametersForEdit', form, title };
            }
        }
    }

    readFailure(stanza: XmlElement): { result: Failure; message?: string } {
        const payload = stanza
            .elements()
            .find((c) => c.ns === this.ns && c.local.endsWith('Response') && c.attr('result') !== undefined);
        const error = stanza.child('error') ? StanzaError.fromStanza(stanza) : undefined;
        const details = payload
            ?.childrenNamed('error')
            .map((e) => (e.attr('var') ? `${e.attr('var')}: ${e.text()}` : e.text()))
            .join('; ');
        const message = error?.text ?? (details ? details : undefined);
        const result = payload?.attr('result');
        if (result !== undefined && result !== 'OK') {
            if ((FAILURE_RESULTS as readonly string[]).includes(result)) {
                return defined({ result: result as Failure, message });
            }
            return { result: 'OtherError', message: message ?? `unknown result code '${result}'` };
        }
        if (error) return defined({ result: resultOfCondition(error.condition), message });
        return { result: 'OtherError', message: 'error reply without a result code or an <error/> element' };
    }

    // ---- helpers ----

    #checkNs(e: XmlElement): void {
        if (e.ns !== this.ns) throw badRequest(`<${e.local}> is in namespace '${e.ns}', expected '${this.ns}'`);
    }

    #readRef(e: XmlElement, where: string): NodeRef {
        const nodeId = requiredAttr(e, 'nodeId', where);
        const sourceId = requiredAttr(e, 'sourceId', where);
        const cacheType = e.attr('cacheType');
        // An empty cacheType is ignored (XEP-0326 §Node Information, note ***).
        return cacheType ? { nodeId, sourceId, partition: cacheType } : { nodeId, sourceId };
    }

    #readRefs(e: XmlElement): NodeRef[] {
        const nodes = e.childrenNamed('node');
        // The XSD types getNodes as a single-node request; accept that form too (§5.3 schema gaps).
        if (nodes.length === 0 && e.attr('nodeId') !== undefined) return [this.#readRef(e, e.local)];
        return nodes.map((n) => this.#readRef(n, `${e.local}/node`));
    }

    #sourceElement(s: DataSource): XmlElement {
        return el('dataSource', {
            [this.#v01 ? 'id' : 'sourceId']: s.sourceId,
            name: s.name,
            hasChildren: s.hasChildren,
            lastChanged: s.lastChanged && formatDateTime(s.lastChanged),
        });
    }

    #readSource(e: XmlElement): DataSource {
        const [first, second] = this.#v01 ? ['id', 'sourceId'] : ['sourceId', 'id'];
        const sourceId = e.attr(first) || e.attr(second);
        if (!sourceId) throw badRequest(`dataSource: missing ${first} attribute`);
        return defined({
            sourceId,
            name: e.attr('name') ?? sourceId,
            hasChildren: boolAttr(e, 'hasChildren', false),
            lastChanged: dateAttr(e, 'lastChanged'),
        });
    }

    /** Node information attributes (XSD `NodeInformation`; no `sourceId`, which only events carry). */
    #nodeAttrs(n: ConcentratorNode): Record<string, XmlAttrInput> {
        return {
            [this.#v01 ? 'id' : 'nodeId']: n.nodeId,
            displayName: n.displayName,
            nodeType: n.nodeType,
            localId: n.localId,
            logId: n.logId,
            cacheType: n.partition,
            state: n.state,
            hasChildren: n.hasChildren,
            isReadable: n.isReadable,
            [this.#v01 ? 'isConfigurable' : 'isControllable']: n.isControllable,
            hasCommands: n.hasCommands,
            parentId: n.parentId,
            lastChanged: n.lastChanged && formatDateTime(n.lastChanged),
        };
    }

    #readNode(e: XmlElement): ConcentratorNode {
        const [idFirst, idSecond] = this.#v01 ? ['id', 'nodeId'] : ['nodeId', 'id'];
        const nodeId = e.attr(idFirst) || e.attr(idSecond);
        if (!nodeId) throw badRequest(`${e.local}: missing ${idFirst} attribute`);
        const [ctlFirst, ctlSecond] = this.#v01
            ? ['isConfigurable', 'isControllable']
            : ['isControllable', 'isConfigurable'];
        const controllable = e.attr(ctlFirst) !== undefined ? ctlFirst : ctlSecond;
        return defined({
            nodeId,
            sourceId: e.attr('sourceId') || undefined,
            partition: e.attr('cacheType') || undefined,
            displayName: e.attr('displayName'),
            nodeType: e.attr('nodeType'),
            localId: e.attr('localId'),
            logId: e.attr('logId'),
            state: stateAttr(e),
            hasChildren: boolAttr(e, 'hasChildren', false),
            isReadable: boolAttr(e, 'isReadable', false),
            isControllable: boolAttr(e, controllable, false),
            hasCommands: boolAttr(e, 'hasCommands', false),
            parentId: e.attr('parentId'),
            lastChanged: dateAttr(e, 'lastChanged'),
            parameters: readNodeParameters(e),
        });
    }
}

/** The `parameters` and `messages` flags (default false). */
function pm(e: XmlElement): { parameters: boolean; messages: boolean } {
    return { parameters: boolAttr(e, 'parameters', false), messages: boolAttr(e, 'messages', false) };
}

function pmAttrs(c: { parameters: boolean; messages: boolean }): Record<string, string> {
    return stringAttrs({ parameters: c.parameters || undefined, messages: c.messages || undefined });
}

function refAttrs(n: NodeRef): Record<string, string> {
    return stringAttrs({ nodeId: n.nodeId, sourceId: n.sourceId, cacheType: n.partition || undefined });
}

/** Attribute values as strings, null and undefined left out. */
export function stringAttrs(attrs: Record<string, XmlAttrInput>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) out[k] = String(v);
    return out;
}

/** Boolean text content, or bad-request. */
export function boolText(text: string, where: string): boolean {
    const b = parseBoolean(text);
    if (b === undefined) throw badRequest(`${where}: not a boolean: '${text.trim()}'`);
    return b;
}

export const G0_CONCENTRATOR: ConcentratorCodec = new G01ConcentratorCodec('G0');
export const G1_CONCENTRATOR: ConcentratorCodec = new G01ConcentratorCodec('G1');
