import { el, type XmlElement } from '../../xml';
import { StanzaError } from '../../xmpp/errors';
import type { ControlCodec } from '../codec';
import { clip, FORM_NAMESPACES, formToParameters, parametersToForm, submittedValues } from '../dataform';
import { GENERATIONS } from '../generations';
import type {
    ControlFailure,
    ControlRequest,
    ControlResult,
    NodeRef,
    ParameterDescription,
    ParameterType,
    ParameterValue,
    Tokens,
} from '../model';
import {
    CONDITION_OF_REASON,
    checkedText,
    type Dialect,
    defaultMessage,
    inMessage,
    invalidValueMessage,
    nodeElement,
    nonEmpty,
    readGetFormBody,
    readNode,
    readRfcFailure,
    readTokens,
    tokenAttributes,
    unknownSetElement,
} from './g01';

/**
 * Control in the IEEE P1451.99 (G2, `urn:ieee:iot:ctr:1.0`) and Neuro-Foundation (G3,
 * `urn:nf:iot:ctr:1.0`; the NF documents since 2025-08 spell it `urn:nfi:iot:ctr:1.0`)
 * generations. Wire facts: docs/design/xmpp-iot-g2-g3.md §7 and §13 (Waher's IoTGateway is the
 * reference peer).
 *
 * Choices:
 * - `paramError` carries the parameter name in **both** `var` (the Control.xsd attribute) and `n`
 *   (what Waher writes, and so what Waher-derived readers look for); readers take `var`, then `n`
 *   (§13 #7).
 * - Error types follow Waher's device (§7.4): a parameter that is not found is item-not-found of
 *   type modify, a node that is not found item-not-found of type cancel; other reasons as in
 *   G0/G1 (`other` = internal-server-error).
 * - Success is always `<resp/>` (Waher always sends it), with `<nd>`/`<p n>` children when the
 *   result names what was applied.
 * - An `enum` parameter is `<e n v t>`; without an enumType it goes out as `<s>` (the XSD requires
 *   `t`, and Waher accepts `s` for string parameters only). On reading, `t` is optional (a device
 *   accepts any enumeration type name: §12 device rule 6).
 * - The codec replies in its namespace; `controlCodecFor` builds one per spelling (`urn:nfi:`
 *   included) so that a device answers in the namespace of the request, as Waher does. A G3 codec
 *   reads requests in both G3 spellings.
 * - There is no message form of set (supportsMessageSet = false); `readSet` still marks a set
 *   found in a `<message>` as unacknowledged so that the engine can drop it.
 */

const G23_DIALECT: Dialect = {
    node: { element: 'nd', id: 'id', source: 'src', partition: 'pt' },
    tokens: { service: 'st', device: 'dt', user: 'ut' },
};

/** Parameter type to element name (Control.xsd). Double is `db` here, not sensor data's `q`. */
const ELEMENT_OF_TYPE: Readonly<Record<ParameterType, string>> = Object.freeze({
    boolean: 'b',
    color: 'cl',
    date: 'd',
    dateTime: 'dt',
    double: 'db',
    duration: 'dr',
    enum: 'e',
    int: 'i',
    long: 'l',
    string: 's',
    time: 't',
});

const TYPE_OF_ELEMENT: Readonly<Record<string, ParameterType>> = Object.freeze(
    Object.fromEntries(Object.entries(ELEMENT_OF_TYPE).map(([type, name]) => [name, type as ParameterType])),
);

export class G23ControlCodec implements ControlCodec {
    readonly generation: 'G2' | 'G3';
    readonly ns: string;
    readonly supportsMessageSet = false;
    /** Namespaces whose requests this codec reads. */
    readonly #accepted: ReadonlySet<string>;

    /** `ns` picks one of the generation's spellings to write (default: its main namespace). */
    constructor(generation: 'G2' | 'G3', ns?: string) {
        const g = GENERATIONS[generation];
        const spellings = [g.control, ...g.aliases.control];
        if (ns !== undefined && !spellings.includes(ns)) {
            throw new RangeError(`${ns} is not a ${generation} control namespace`);
        }
        this.generation = generation;
        this.ns = ns ?? g.control;
        this.#accepted = new Set(spellings);
    }

    // ---- client side ----

    set(req: ControlRequest): XmlElement {
        return el(
            'set',
            { xmlns: this.ns, ...tokenAttributes(G23_DIALECT, req.tokens) },
            req.nodes.map((n) => nodeElement(G23_DIALECT, n)),
            req.parameters.map((p) =>
                p.type === 'enum' && p.enumType !== undefined
                    ? el('e', { n: p.name, v: p.text, t: p.enumType })
                    : el(p.type === 'enum' ? 's' : ELEMENT_OF_TYPE[p.type], { n: p.name, v: p.text }),
            ),
        );
    }

    /** Any IQ result is success (§12 client rule 9); `<resp>` may list `<nd>` and `<p n>`. */
    readSetResult(payload: XmlElement | undefined): ControlResult {
        const result: ControlResult = { nodes: [], parameters: [] };
        if (payload?.local !== 'resp') return result;
        for (const c of payload.elements()) {
            if (c.local === 'nd') {
                const n = readNode(G23_DIALECT, c);
                if (n) result.nodes.push(n);
            } else if (c.local === 'p') {
                const name = nonEmpty(c.attr('n'));
                if (name !== undefined) result.parameters.push(name);
            }
        }
        return result;
    }

    /** RFC 6120 condition plus `paramError` (`var` or `n`); an error without `<error/>` is `other`. */
    readSetError(stanza: XmlElement): ControlFailure {
        const rfc = readRfcFailure(stanza);
        const reason = rfc?.reason ?? 'other';
        const failure: ControlFailure = { reason, message: rfc?.message ?? defaultMessage(reason) };
        if (rfc?.parameter !== undefined) failure.parameter = rfc.parameter;
        return failure;
    }

    getForm(nodes: readonly NodeRef[], tokens?: Tokens): XmlElement {
        return el(
            'getForm',
            { xmlns: this.ns, ...tokenAttributes(G23_DIALECT, tokens) },
            nodes.map((n) => nodeElement(G23_DIALECT, n)),
        );
    }

    /** The bare form (a G0/G1-style `getFormResponse` wrapper is unwrapped too). */
    readForm(payload: XmlElement): ParameterDescription[] {
        if (payload.local === 'getFormResponse') {
            const x = payload.child('x', FORM_NAMESPACES.data.ns);
            if (!x) throw new StanzaError('bad-request', 'getFormResponse without a data form');
            return formToParameters(x);
        }
        return formToParameters(payload);
    }

    // ---- device side ----

    /**
     * Reads a set: `<nd>`, parameter elements and submitted forms in document order (the XSD's
     * "parameters or one form" is not enforced). Each form field becomes a `string` parameter
     * unless the submitted field states its type. Errors as in G0/G1: bad-request naming the
     * parameter, with a `paramError`.
     */
    readSet(element: XmlElement): ControlRequest {
        this.#expect(element, 'set');
        const req: ControlRequest = { nodes: [], parameters: [] };
        for (const c of element.elements()) {
            if (c.is('x', FORM_NAMESPACES.data.ns)) {
                req.parameters.push(...this.#fromForm(c));
            } else if (c.ns === element.ns && c.local === 'nd') {
                const n = readNode(G23_DIALECT, c);
                if (!n) throw this.setError({ reason: 'bad-value', message: '<nd> without id.' });
                req.nodes.push(n);
            } else if (c.ns === element.ns && Object.hasOwn(TYPE_OF_ELEMENT, c.local)) {
                req.parameters.push(this.#readParameter(c, TYPE_OF_ELEMENT[c.local] as ParameterType));
            } else {
                throw this.setError(unknownSetElement(c.local, nonEmpty(c.attr('n'))));
            }
        }
        const tokens = readTokens(G23_DIALECT, element);
        if (tokens) req.tokens = tokens;
        if (inMessage(element)) req.unacknowledged = true;
        return req;
    }

    readGetForm(element: XmlElement): { nodes: NodeRef[]; tokens?: Tokens } {
        this.#expect(element, 'getForm');
        return readGetFormBody(G23_DIALECT, element);
    }

    setResult(result: ControlResult): XmlElement {
        return el(
            'resp',
            { xmlns: this.ns },
            result.nodes.map((n) => nodeElement(G23_DIALECT, n)),
            result.parameters.map((n) => el('p', { n })),
        );
    }

    setError(failure: ControlFailure): StanzaError {
        const c = CONDITION_OF_REASON[failure.reason];
        const type = failure.reason === 'not-found' && failure.parameter !== undefined ? 'modify' : c.type;
        const application =
            failure.parameter !== undefined
                ? el('paramError', { xmlns: this.ns, var: failure.parameter, n: failure.parameter }, failure.message)
                : undefined;
        return new StanzaError(c.condition, failure.message, { type, ...(application ? { application } : {}) });
    }

    form(parameters: readonly ParameterDescription[], title: string): XmlElement {
        return parametersToForm(parameters, title);
    }

    // ---- internals ----

    #expect(element: XmlElement, local: string): void {
        if (element.local !== local || !this.#accepted.has(element.ns)) {
            throw new StanzaError('bad-request', `expected <${local}> in ${this.ns}, got <${clip(element.local)}>`);
        }
    }

    #readParameter(c: XmlElement, type: ParameterType): ParameterValue {
        const name = nonEmpty(c.attr('n'));
        if (name === undefined) throw this.setError({ reason: 'bad-value', message: `<${c.local}> without n.` });
        const value = c.attr('v');
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
        const p: ParameterValue = { name, type, text };
        const enumType = type === 'enum' ? nonEmpty(c.attr('t')) : undefined;
        if (enumType !== undefined) p.enumType = enumType;
        return p;
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
}
