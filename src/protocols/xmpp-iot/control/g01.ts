import { el, type XmlElement } from '../../xml';
import { StanzaError, type StanzaErrorType } from '../../xmpp/errors';
import type { ControlCodec } from '../codec';
import { clip, FORM_NAMESPACES, formToParameters, parametersToForm, submittedValues } from '../dataform';
import { GENERATIONS } from '../generations';
import { isParameterText, parseTokens } from '../lexical';
import type {
    ControlFailure,
    ControlFailureReason,
    ControlRequest,
    ControlResult,
    NodeRef,
    ParameterDescription,
    ParameterType,
    ParameterValue,
    Tokens,
} from '../model';

/**
 * XEP-0325 control, G0 (`urn:xmpp:sn:control`, v0.1 2013) and G1 (`urn:xmpp:iot:control`,
 * v0.2-v0.5.1). Wire facts: docs/design/xmpp-iot-g0-g1.md §4 and the slixmpp 1.8.3 captures in
 * /work/shared/design/slixmpp-stanzas.md (the G1 interop target).
 *
 * Choices where the XEP versions differ:
 * - Success is `<setResponse responseCode="OK"/>` in every case: slixmpp and the 2013 examples
 *   need the code; v0.3+ clients ignore the attribute. Applied nodes/parameters are listed as
 *   `<node>`/`<parameter name>` children when the result names them (v0.3+ reduced operation).
 * - Errors carry both models: the RFC 6120 condition (v0.3+) and, before the `<error/>`, a
 *   v0.1/v0.2 `<setResponse responseCode>` with `<node>`, `<parameter name>` and
 *   `<error var>text</error>` (slixmpp's shape; `var=""` when no parameter is at fault, since the
 *   attribute is required). G1 adds `<paramError var>` as the application condition (v0.3+);
 *   G0 does not (v0.1 has no paramError).
 * - getForm is answered with the bare form in G1 (v0.3+; the v0.2 wrapper is gone there) and with
 *   `<getFormResponse result="OK">` around it in G0 (v0.1), whose `xdd:` elements use the v0.1
 *   namespace `http://jabber.org/protocol/xdata-dynamic`. Both shapes are read in both.
 * - Reason to RFC 6120 condition follows the XEP-0325 v0.3 table (note §4.3): not-found →
 *   item-not-found (cancel), forbidden → forbidden (cancel), locked → conflict (wait),
 *   not-implemented → feature-not-implemented (cancel), bad-value and form-error → bad-request
 *   (modify). `other` is a failure of the device, not of the request, so it is sent as
 *   internal-server-error (cancel) rather than the table's bad-request for the obsolete
 *   OtherError; the old code is still OtherError (bad-value is OtherError too, as slixmpp sends
 *   it for a malformed number; form-error is FormError).
 */

// ---- shared with the G2/G3 codec ----

/** XEP-0325 v0.1/v0.2 response codes (XEP-0326 uses the same set). */
export type ResponseCode =
    | 'OK'
    | 'NotFound'
    | 'InsufficientPrivileges'
    | 'Locked'
    | 'NotImplemented'
    | 'FormError'
    | 'OtherError';

/** The RFC 6120 answer for each failure reason (XEP-0325 v0.3 table; `other`: see the file comment). */
export const CONDITION_OF_REASON: Readonly<
    Record<ControlFailureReason, { condition: string; type: StanzaErrorType; code: ResponseCode }>
> = Object.freeze({
    'not-found': { condition: 'item-not-found', type: 'cancel', code: 'NotFound' },
    forbidden: { condition: 'forbidden', type: 'cancel', code: 'InsufficientPrivileges' },
    locked: { condition: 'conflict', type: 'wait', code: 'Locked' },
    'not-implemented': { condition: 'feature-not-implemented', type: 'cancel', code: 'NotImplemented' },
    'bad-value': { condition: 'bad-request', type: 'modify', code: 'OtherError' },
    'form-error': { condition: 'bad-request', type: 'modify', code: 'FormError' },
    other: { condition: 'internal-server-error', type: 'cancel', code: 'OtherError' },
});

const REASON_OF_CODE: Readonly<Record<string, ControlFailureReason>> = Object.freeze({
    NotFound: 'not-found',
    InsufficientPrivileges: 'forbidden',
    Locked: 'locked',
    NotImplemented: 'not-implemented',
    FormError: 'form-error',
    OtherError: 'other',
});

/** RFC 6120 conditions a peer may answer a set with, read back as a reason (anything else: other). */
const REASON_OF_CONDITION: Readonly<Record<string, ControlFailureReason>> = Object.freeze({
    'item-not-found': 'not-found',
    gone: 'not-found',
    forbidden: 'forbidden',
    'not-authorized': 'forbidden',
    'not-allowed': 'forbidden',
    'policy-violation': 'forbidden',
    conflict: 'locked',
    'feature-not-implemented': 'not-implemented',
    'service-unavailable': 'not-implemented',
    'bad-request': 'bad-value',
    'not-acceptable': 'bad-value',
});

const DEFAULT_MESSAGE: Readonly<Record<ControlFailureReason, string>> = Object.freeze({
    'not-found': 'Not found.',
    forbidden: 'Access denied.',
    locked: 'Locked by another user or process.',
    'not-implemented': 'Not implemented.',
    'bad-value': 'Invalid value.',
    'form-error': 'Invalid form.',
    other: 'The device could not perform the operation.',
});

export function reasonOfCode(code: string | undefined): ControlFailureReason | undefined {
    return code !== undefined && Object.hasOwn(REASON_OF_CODE, code) ? REASON_OF_CODE[code] : undefined;
}

/** The parts of a failure an RFC 6120 error element gives (undefined when the stanza has no `<error/>`). */
export function readRfcFailure(
    stanza: XmlElement,
): { reason: ControlFailureReason; parameter?: string; message?: string; condition: string } | undefined {
    const error = stanza.child('error');
    if (!error) return undefined;
    const se = StanzaError.fromStanza(stanza);
    const reason = Object.hasOwn(REASON_OF_CONDITION, se.condition) ? REASON_OF_CONDITION[se.condition] : 'other';
    const out: { reason: ControlFailureReason; parameter?: string; message?: string; condition: string } = {
        reason: reason ?? 'other',
        condition: se.condition,
    };
    // XSD: attribute `var`; Waher writes `n` (xmpp-iot-g2-g3.md §13 #7). Both are read.
    const paramError = error.elements().find((c) => c.local === 'paramError');
    if (paramError) {
        const name = nonEmpty(paramError.attr('var')) ?? nonEmpty(paramError.attr('n'));
        if (name !== undefined) out.parameter = name;
        const text = nonEmpty(paramError.text().trim());
        if (text !== undefined) out.message = text;
    }
    const text = nonEmpty(se.text?.trim());
    if (out.message === undefined && text !== undefined) out.message = text;
    return out;
}

export function defaultMessage(reason: ControlFailureReason): string {
    return DEFAULT_MESSAGE[reason];
}

export function nonEmpty(s: string | undefined): string | undefined {
    return s === undefined || s === '' ? undefined : s;
}

/** Attribute names of a node reference and of the three tokens in one generation. */
export interface Dialect {
    node: { element: string; id: string; source: string; partition: string };
    tokens: { service: string; device: string; user: string };
}

export function nodeElement(d: Dialect, n: NodeRef): XmlElement {
    return el(d.node.element, {
        [d.node.id]: n.nodeId,
        [d.node.source]: n.sourceId,
        [d.node.partition]: n.partition,
    });
}

/**
 * Reads a node reference; undefined when it has no id (callers on the device side turn that into
 * bad-request). Empty source and partition are left out (XEP-0326: an empty cacheType is ignored).
 */
export function readNode(d: Dialect, e: XmlElement): NodeRef | undefined {
    const nodeId = nonEmpty(e.attr(d.node.id));
    if (nodeId === undefined) return undefined;
    const n: NodeRef = { nodeId };
    const sourceId = nonEmpty(e.attr(d.node.source));
    const partition = nonEmpty(e.attr(d.node.partition));
    if (sourceId !== undefined) n.sourceId = sourceId;
    if (partition !== undefined) n.partition = partition;
    return n;
}

export function tokenAttributes(d: Dialect, tokens: Tokens | undefined): Record<string, string | undefined> {
    const join = (list: string[] | undefined) => (list && list.length > 0 ? list.join(' ') : undefined);
    return {
        [d.tokens.service]: join(tokens?.service),
        [d.tokens.device]: join(tokens?.device),
        [d.tokens.user]: join(tokens?.user),
    };
}

export function readTokens(d: Dialect, e: XmlElement): Tokens | undefined {
    const t: Tokens = {};
    const service = parseTokens(e.attr(d.tokens.service));
    const device = parseTokens(e.attr(d.tokens.device));
    const user = parseTokens(e.attr(d.tokens.user));
    if (service) t.service = service;
    if (device) t.device = device;
    if (user) t.user = user;
    return service || device || user ? t : undefined;
}

/** The nodes and tokens of a getForm request, in either dialect. */
export function readGetFormBody(d: Dialect, element: XmlElement): { nodes: NodeRef[]; tokens?: Tokens } {
    const out: { nodes: NodeRef[]; tokens?: Tokens } = { nodes: [] };
    for (const c of element.childrenNamed(d.node.element, element.ns)) {
        const n = readNode(d, c);
        if (!n) throw new StanzaError('bad-request', `<${d.node.element}> without ${d.node.id}`);
        out.nodes.push(n);
    }
    const tokens = readTokens(d, element);
    if (tokens) out.tokens = tokens;
    return out;
}

/** The refusal of an element a set may not contain, naming the parameter when it has a name. */
export function unknownSetElement(local: string, name: string | undefined): ControlFailure {
    const what = name === undefined ? '' : ` for parameter "${clip(name)}"`;
    return {
        reason: 'bad-value',
        ...(name === undefined ? {} : { parameter: name }),
        message: `Unknown element <${clip(local)}>${what}.`,
    };
}

/**
 * The lexical value of a parameter as kept in the model: strings as sent, other types without
 * surrounding whitespace (XSD whitespace collapse). Undefined when it is not of the type.
 */
export function checkedText(type: ParameterType, value: string): string | undefined {
    const text = type === 'string' || type === 'enum' ? value : value.trim();
    return isParameterText(type, text) ? text : undefined;
}

export function invalidValueMessage(name: string, type: ParameterType, value: string): string {
    return `Parameter "${clip(name)}": "${clip(value)}" is not a valid ${type} value.`;
}

/** A set arrived in a message when its parent is one (G0/G1 set without acknowledgement). */
export function inMessage(element: XmlElement): boolean {
    return element.parent?.local === 'message';
}

// ---- G0/G1 ----

const G01_DIALECT: Dialect = {
    node: { element: 'node', id: 'nodeId', source: 'sourceId', partition: 'cacheType' },
    tokens: { service: 'serviceToken', device: 'deviceToken', user: 'userToken' },
};

/** The typed parameter elements of XEP-0325 (element name = type; no `enum` and no `numeric`). */
const G01_TYPES: ReadonlySet<string> = new Set([
    'boolean',
    'color',
    'string',
    'date',
    'dateTime',
    'double',
    'duration',
    'int',
    'long',
    'time',
]);

export class G01ControlCodec implements ControlCodec {
    readonly generation: 'G0' | 'G1';
    readonly ns: string;
    readonly supportsMessageSet = true;

    constructor(generation: 'G0' | 'G1') {
        this.generation = generation;
        this.ns = GENERATIONS[generation].control;
    }

    // ---- client side ----

    /** `enum` parameters go out as `<string>` (XEP-0325 has no enum element). Values are not checked here. */
    set(req: ControlRequest): XmlElement {
        return el(
            'set',
            { xmlns: this.ns, ...tokenAttributes(G01_DIALECT, req.tokens) },
            req.nodes.map((n) => nodeElement(G01_DIALECT, n)),
            req.parameters.map((p) => el(p.type === 'enum' ? 'string' : p.type, { name: p.name, value: p.text })),
        );
    }

    /**
     * An empty result, a `setResponse` without code or with OK (`responseCode`, or `result` as the
     * v0.1/v0.2 XSD spells it) and anything else in a result are success. A `setResponse` with an
     * error code in an IQ result (one v0.1/v0.2 example does that) throws the StanzaError of that
     * failure, with the `setResponse` as its `payload`: `readSetError(el('iq', {type: 'error'},
     * err.payload))` gives the ControlFailure.
     */
    readSetResult(payload: XmlElement | undefined): ControlResult {
        const result: ControlResult = { nodes: [], parameters: [] };
        if (payload?.local !== 'setResponse') return result;
        const code = payload.attr('responseCode') ?? payload.attr('result');
        if (code !== undefined && code !== 'OK') {
            const failure = this.#failureFromSetResponse(payload, reasonOfCode(code) ?? 'other');
            const c = CONDITION_OF_REASON[failure.reason];
            throw new StanzaError(c.condition, failure.message, { type: c.type, payload });
        }
        for (const c of payload.elements()) {
            if (c.local === 'node') {
                const n = readNode(G01_DIALECT, c);
                if (n) result.nodes.push(n);
            } else if (c.local === 'parameter') {
                const name = nonEmpty(c.attr('name'));
                if (name !== undefined) result.parameters.push(name);
            }
        }
        return result;
    }

    /**
     * Reads both error models: a `setResponse` with a code (sibling of `<error/>`, or inside it)
     * and/or an RFC 6120 condition with `paramError`. The condition decides the reason, refined by
     * the code (bad-request + FormError = form-error); without an `<error/>` child (slixmpp, G0)
     * the code alone decides. The parameter comes from `paramError`, then `<parameter name>`, then
     * `<error var>` (slixmpp hard-codes var="Output" for NotFound and names the real parameter in
     * `<parameter>`).
     */
    readSetError(stanza: XmlElement): ControlFailure {
        const rfc = readRfcFailure(stanza);
        const setResponse = stanza.child('setResponse') ?? stanza.child('error')?.child('setResponse');
        const code = setResponse ? (setResponse.attr('responseCode') ?? setResponse.attr('result')) : undefined;
        const codeReason = reasonOfCode(code);
        let reason: ControlFailureReason;
        if (rfc) {
            reason = rfc.reason;
            if (reason === 'bad-value' && codeReason === 'form-error') reason = 'form-error';
            if (reason === 'other' && rfc.condition === 'undefined-condition' && codeReason) reason = codeReason;
        } else {
            reason = codeReason ?? 'other';
        }
        const fromPayload = setResponse ? this.#failureFromSetResponse(setResponse, reason) : undefined;
        const failure: ControlFailure = {
            reason,
            message: rfc?.message ?? fromPayload?.message ?? DEFAULT_MESSAGE[reason],
        };
        const parameter = rfc?.parameter ?? fromPayload?.parameter;
        if (parameter !== undefined) failure.parameter = parameter;
        if (fromPayload?.node) failure.node = fromPayload.node;
        return failure;
    }

    getForm(nodes: readonly NodeRef[], tokens?: Tokens): XmlElement {
        return el(
            'getForm',
            { xmlns: this.ns, ...tokenAttributes(G01_DIALECT, tokens) },
            nodes.map((n) => nodeElement(G01_DIALECT, n)),
        );
    }

    /**
     * Reads a bare form (v0.3+) or a `getFormResponse` wrapper (v0.1/v0.2; any namespace, since
     * the v0.1 examples put it in the concentrators one). A wrapper with an error code throws the
     * StanzaError of that code.
     */
    readForm(payload: XmlElement): ParameterDescription[] {
        if (payload.local !== 'getFormResponse') return formToParameters(payload);
        const code = payload.attr('result') ?? payload.attr('responseCode');
        if (code !== undefined && code !== 'OK') {
            const reason = reasonOfCode(code) ?? 'other';
            const c = CONDITION_OF_REASON[reason];
            const text = nonEmpty(payload.childText('error')?.trim()) ?? `getForm answered ${clip(code)}`;
            throw new StanzaError(c.condition, text, { type: c.type, payload });
        }
        const x = payload.child('x', FORM_NAMESPACES.data.ns);
        if (!x) throw new StanzaError('bad-request', 'getFormResponse without a data form');
        return formToParameters(x);
    }

    // ---- device side ----

    /**
     * Reads a set. Children in document order: `<node>`, typed parameters, a submitted form
     * (`<x type='submit'>` directly, or in the v0.1 XSD's `<form>` wrapper). Unknown elements, a
     * parameter without name or value, and a value that is not of its element's type are refused
     * with the StanzaError `setError` gives for bad-value (bad-request, naming the parameter);
     * form problems give form-error. A set inside a `<message>` is marked unacknowledged.
     */
    readSet(element: XmlElement): ControlRequest {
        this.#expect(element, 'set');
        const req: ControlRequest = { nodes: [], parameters: [] };
        for (const c of element.elements()) {
            if (c.is('x', FORM_NAMESPACES.data.ns)) {
                req.parameters.push(...this.#fromForm(c));
            } else if (c.ns === element.ns && c.local === 'form') {
                const x = c.child('x', FORM_NAMESPACES.data.ns);
                if (!x) throw this.setError({ reason: 'form-error', message: '<form> without a data form.' });
                req.parameters.push(...this.#fromForm(x));
            } else if (c.ns === element.ns && c.local === 'node') {
                const n = readNode(G01_DIALECT, c);
                if (!n) throw this.setError({ reason: 'bad-value', message: '<node> without nodeId.' });
                req.nodes.push(n);
            } else if (c.ns === element.ns && G01_TYPES.has(c.local)) {
                req.parameters.push(this.#readParameter(c, c.local as ParameterType));
            } else {
                throw this.setError(unknownSetElement(c.local, nonEmpty(c.attr('name'))));
            }
        }
        const tokens = readTokens(G01_DIALECT, element);
        if (tokens) req.tokens = tokens;
        if (inMessage(element)) req.unacknowledged = true;
        return req;
    }

    readGetForm(element: XmlElement): { nodes: NodeRef[]; tokens?: Tokens } {
        this.#expect(element, 'getForm');
        return readGetFormBody(G01_DIALECT, element);
    }

    setResult(result: ControlResult): XmlElement {
        return el(
            'setResponse',
            { xmlns: this.ns, responseCode: 'OK' },
            result.nodes.map((n) => nodeElement(G01_DIALECT, n)),
            result.parameters.map((name) => el('parameter', { name })),
        );
    }

    setError(failure: ControlFailure): StanzaError {
        const c = CONDITION_OF_REASON[failure.reason];
        const payload = el(
            'setResponse',
            { xmlns: this.ns, responseCode: c.code },
            failure.node && nodeElement(G01_DIALECT, failure.node),
            failure.parameter !== undefined && el('parameter', { name: failure.parameter }),
            el('error', { var: failure.parameter ?? '' }, failure.message),
        );
        const application =
            this.generation === 'G1' && failure.parameter !== undefined
                ? el('paramError', { xmlns: this.ns, var: failure.parameter }, failure.message)
                : undefined;
        return new StanzaError(c.condition, failure.message, {
            type: c.type,
            payload,
            ...(application ? { application } : {}),
        });
    }

    form(parameters: readonly ParameterDescription[], title: string): XmlElement {
        if (this.generation === 'G1') return parametersToForm(parameters, title);
        return el(
            'getFormResponse',
            { xmlns: this.ns, result: 'OK' },
            parametersToForm(parameters, title, undefined, { dynamicNs: FORM_NAMESPACES.dynamicV01.ns }),
        );
    }

    // ---- internals ----

    #expect(element: XmlElement, local: string): void {
        if (element.local !== local || element.ns !== this.ns) {
            throw new StanzaError('bad-request', `expected <${local}> in ${this.ns}, got <${clip(element.local)}>`);
        }
    }

    #readParameter(c: XmlElement, type: ParameterType): ParameterValue {
        const name = nonEmpty(c.attr('name'));
        if (name === undefined) throw this.setError({ reason: 'bad-value', message: `<${c.local}> without a name.` });
        const value = c.attr('value');
        if (value === undefined) {
            throw this.setError({
                reason: 'bad-value',
                parameter: name,
                message: `Parameter "${clip(name)}" has no value.`,
            });
        }
        const text = checkedText(type, value);
        if (text === undefined) {
            throw this.setError({
                reason: 'bad-value',
                parameter: name,
                message: invalidValueMessage(name, type, value),
            });
        }
        return { name, type, text };
    }

    #fromForm(x: XmlElement): ParameterValue[] {
        let values: ReturnType<typeof submittedValues>;
        try {
            values = submittedValues(x);
        } catch (err) {
            if (err instanceof StanzaError)
                throw this.setError({ reason: 'form-error', message: err.text ?? err.message });
            throw err;
        }
        return values.map((v) => {
            const type = v.type ?? 'string';
            const text = checkedText(type, v.text);
            if (text === undefined) {
                throw this.setError({
                    reason: 'form-error',
                    parameter: v.name,
                    message: invalidValueMessage(v.name, type, v.text),
                });
            }
            return { name: v.name, type, text };
        });
    }

    /** Reason, parameter, message and node of a v0.1/v0.2 `setResponse` failure. */
    #failureFromSetResponse(setResponse: XmlElement, reason: ControlFailureReason): ControlFailure {
        const failure: ControlFailure = { reason, message: DEFAULT_MESSAGE[reason] };
        let parameter: string | undefined;
        let errorVar: string | undefined;
        let message: string | undefined;
        for (const c of setResponse.elements()) {
            if (c.local === 'node' && !failure.node) {
                const n = readNode(G01_DIALECT, c);
                if (n) failure.node = n;
            } else if (c.local === 'parameter') {
                parameter ??= nonEmpty(c.attr('name'));
            } else if (c.local === 'error') {
                errorVar ??= nonEmpty(c.attr('var'));
                message ??= nonEmpty(c.text().trim());
            }
        }
        const name = parameter ?? errorVar;
        if (name !== undefined) failure.parameter = name;
        if (message !== undefined) failure.message = message;
        return failure;
    }
}
