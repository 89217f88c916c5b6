import { el, type XmlElement } from '../xml';
import { StanzaError } from '../xmpp/errors';
import { formatNumeric } from './lexical';
import type { ParameterDescription, ParameterType } from './model';

/**
 * XEP-0004 data forms for XMPP IoT control parameters: the getForm answer of XEP-0325 (G0/G1) and
 * its IEEE/NF successors (G2/G3), and the submitted form a client may put in a `set`.
 * Wire rules: docs/design/xmpp-iot-g0-g1.md §4.5 and xmpp-iot-g2-g3.md §7.5.
 *
 * Parameter type to field:
 * | type | field type | validation |
 * |---|---|---|
 * | boolean | boolean | xs:boolean |
 * | int, long, double | text-single (list-single with options) | xs:int / xs:long / xs:double, `range` from min/max |
 * | date, dateTime, time, duration | text-single | xs:date / xs:dateTime / xs:time / xs:duration |
 * | string | text-single | xs:string, `regex` from pattern |
 * | enum | list-single with the options | xs:string |
 * | color | text-single | XEP-0331 xdc:Color (xdc:ColorAlpha for an RRGGBBAA value), regex fallback |
 *
 * Every field carries `xdd:notSame` (XEP-0325: an unedited form must not write anything) and
 * read-only parameters carry `xdd:readOnly` (XEP-0336). One XEP-0141 page lists the fields in order.
 * XEP-0122 allows one method per field: numeric types with min/max get `range`, else a pattern
 * gives `regex`; no method means `basic`.
 *
 * A form cannot tell an enum from a string parameter with options (both are a list-single of
 * strings; XEP-0325 says the options of an enumeration appear only in the form): reading gives
 * `enum` for both. The enum type name (G2/G3 `t`) is not carried in forms.
 */

/** The namespaces a control form uses, with the XEP that defines each. */
export const FORM_NAMESPACES = Object.freeze({
    data: { ns: 'jabber:x:data', xep: 'XEP-0004', prefix: '' },
    validate: { ns: 'http://jabber.org/protocol/xdata-validate', xep: 'XEP-0122', prefix: 'xdv' },
    layout: { ns: 'http://jabber.org/protocol/xdata-layout', xep: 'XEP-0141', prefix: 'xdl' },
    dynamic: { ns: 'urn:xmpp:xdata:dynamic', xep: 'XEP-0336', prefix: 'xdd' },
    /** XEP-0336 as the XEP-0325 v0.1 (2013, G0) examples spell it. */
    dynamicV01: {
        ns: 'http://jabber.org/protocol/xdata-dynamic',
        xep: 'XEP-0336 (XEP-0325 v0.1 examples)',
        prefix: 'xdd',
    },
    color: { ns: 'urn:xmpp:xdata:color', xep: 'XEP-0331', prefix: 'xdc' },
    /** Not a form extension: the namespace XEP-0122 datatypes such as `xs:int` come from. */
    xmlSchema: { ns: 'http://www.w3.org/2001/XMLSchema', xep: 'XEP-0122 §3.2 (XML Schema Part 2)', prefix: 'xs' },
} as const);

const NS_DATA = FORM_NAMESPACES.data.ns;
const NS_VALIDATE = FORM_NAMESPACES.validate.ns;
const NS_LAYOUT = FORM_NAMESPACES.layout.ns;
const NS_COLOR = FORM_NAMESPACES.color.ns;
const DYNAMIC_NAMESPACES: readonly string[] = [FORM_NAMESPACES.dynamic.ns, FORM_NAMESPACES.dynamicV01.ns];

/** Fields that describe the form, not a parameter (XEP-0068 FORM_TYPE, XEP-0336 session). */
const META_FIELDS: ReadonlySet<string> = new Set(['FORM_TYPE', 'xdd session']);

const COLOR_REGEX = '^[0-9a-fA-F]{6}$';
const COLOR_ALPHA_REGEX = '^[0-9a-fA-F]{8}$';

const DATATYPE_OF: Readonly<Record<Exclude<ParameterType, 'color'>, string>> = Object.freeze({
    boolean: 'xs:boolean',
    string: 'xs:string',
    enum: 'xs:string',
    date: 'xs:date',
    dateTime: 'xs:dateTime',
    double: 'xs:double',
    duration: 'xs:duration',
    int: 'xs:int',
    long: 'xs:long',
    time: 'xs:time',
});

/** XML Schema datatypes (local names) read back as a parameter type; others are strings. */
const TYPE_OF_XS: Readonly<Record<string, ParameterType>> = Object.freeze({
    boolean: 'boolean',
    int: 'int',
    short: 'int',
    byte: 'int',
    unsignedShort: 'int',
    unsignedByte: 'int',
    long: 'long',
    integer: 'long',
    unsignedInt: 'long',
    nonNegativeInteger: 'long',
    positiveInteger: 'long',
    nonPositiveInteger: 'long',
    negativeInteger: 'long',
    double: 'double',
    float: 'double',
    decimal: 'double',
    date: 'date',
    dateTime: 'dateTime',
    time: 'time',
    duration: 'duration',
    string: 'string',
});

const NUMERIC: ReadonlySet<ParameterType> = new Set(['int', 'long', 'double']);

export interface FormOptions {
    /** The XEP-0336 namespace for `xdd:` elements (default `urn:xmpp:xdata:dynamic`; G0 peers: the v0.1 spelling). */
    dynamicNs?: string;
}

/**
 * Builds `<x xmlns='jabber:x:data' type='form'>` describing `params` in order. `formType`, when
 * given, becomes a hidden XEP-0068 FORM_TYPE field (the control codecs send none, as the XEP
 * examples and Waher do).
 */
export function parametersToForm(
    params: readonly ParameterDescription[],
    title: string,
    formType?: string,
    options: FormOptions = {},
): XmlElement {
    const x = el('x', {
        xmlns: NS_DATA,
        type: 'form',
        'xmlns:xdv': NS_VALIDATE,
        'xmlns:xdl': params.length > 0 ? NS_LAYOUT : undefined,
        'xmlns:xdd': options.dynamicNs ?? FORM_NAMESPACES.dynamic.ns,
    });
    if (title !== '') x.append(el('title', {}, title));
    if (params.length > 0) {
        x.append(
            el(
                'xdl:page',
                { label: title === '' ? undefined : title },
                params.map((p) => el('xdl:fieldref', { var: p.name })),
            ),
        );
    }
    if (formType !== undefined) {
        x.append(el('field', { var: 'FORM_TYPE', type: 'hidden' }, el('value', {}, formType)));
    }
    for (const p of params) x.append(fieldOf(p));
    return x;
}

function fieldOf(p: ParameterDescription): XmlElement {
    const hasOptions = p.options !== undefined && p.options.length > 0;
    const fieldType =
        p.type === 'boolean' ? 'boolean' : p.type === 'enum' || hasOptions ? 'list-single' : 'text-single';
    const field = el('field', { var: p.name, type: fieldType, label: p.label });
    if (p.description !== undefined) field.append(el('desc', {}, p.description));
    field.append(validationOf(p));
    if (p.value !== undefined) field.append(el('value', {}, p.value));
    for (const o of p.options ?? []) field.append(el('option', { label: o.label }, el('value', {}, o.value)));
    if (p.readOnly) field.append(el('xdd:readOnly'));
    field.append(el('xdd:notSame'));
    return field;
}

function validationOf(p: ParameterDescription): XmlElement {
    if (p.type === 'color') {
        const alpha = p.value !== undefined && /^[0-9a-fA-F]{8}$/.test(p.value.trim());
        return el(
            'xdv:validate',
            { 'xmlns:xdc': NS_COLOR, datatype: alpha ? 'xdc:ColorAlpha' : 'xdc:Color' },
            el('xdv:regex', {}, p.pattern ?? (alpha ? COLOR_ALPHA_REGEX : COLOR_REGEX)),
        );
    }
    const validate = el('xdv:validate', { datatype: DATATYPE_OF[p.type] });
    if (NUMERIC.has(p.type) && (p.min !== undefined || p.max !== undefined)) {
        validate.append(
            el('xdv:range', {
                min: p.min === undefined ? undefined : formatNumeric(p.min),
                max: p.max === undefined ? undefined : formatNumeric(p.max),
            }),
        );
    } else if (p.pattern !== undefined) {
        validate.append(el('xdv:regex', {}, p.pattern));
    }
    return validate;
}

function requireForm(x: XmlElement): void {
    if (!x.is('x', NS_DATA)) {
        throw new StanzaError('bad-request', `expected a jabber:x:data form, got <${x.local}> in "${x.ns}"`);
    }
}

/** The form's `<title>`, if any. */
export function formTitle(x: XmlElement): string | undefined {
    requireForm(x);
    return x.childText('title', NS_DATA);
}

/**
 * Reads a form (type form or result) back into parameter descriptions, in field order. Tolerant:
 * a field without validation is a string, unknown field types and datatypes are strings,
 * hidden and fixed fields (FORM_TYPE, the XEP-0336 session) are skipped, a repeated var keeps its
 * first field, ranges that are not numbers are ignored. Throws bad-request only when `x` is not a form.
 */
export function formToParameters(x: XmlElement): ParameterDescription[] {
    requireForm(x);
    const out: ParameterDescription[] = [];
    const seen = new Set<string>();
    for (const field of x.childrenNamed('field', NS_DATA)) {
        const name = field.attr('var');
        const fieldType = field.attr('type') ?? 'text-single';
        if (name === undefined || name === '' || fieldType === 'hidden' || fieldType === 'fixed') continue;
        if (META_FIELDS.has(name) || seen.has(name)) continue;
        seen.add(name);
        const validate = field.child('validate', NS_VALIDATE);
        const options = readOptions(field);
        const type = typeOfField(field, validate, true);
        const p: ParameterDescription = { name, type };
        const label = field.attr('label');
        if (label !== undefined) p.label = label;
        const desc = field.childText('desc', NS_DATA);
        if (desc !== undefined) p.description = desc;
        const value = fieldValue(field);
        if (value !== undefined) p.value = value;
        if (validate) readValidation(validate, type, p);
        if (options.length > 0) p.options = options;
        if (field.elements().some((c) => c.local === 'readOnly' && DYNAMIC_NAMESPACES.includes(c.ns))) {
            p.readOnly = true;
        }
        out.push(p);
    }
    return out;
}

/** One value of a submitted form; `type` is set only when the form states one. */
export interface SubmittedValue {
    name: string;
    text: string;
    type?: ParameterType;
}

/**
 * Reads a `type='submit'` form (a form-based set) into name/value pairs in field order. Several
 * `<value>`s (text-multi) are joined with newlines; FORM_TYPE, the XEP-0336 session field and
 * hidden fields are left out. Throws bad-request for anything else than a submitted form, a
 * field without var or a var given twice.
 */
export function submittedValues(x: XmlElement): SubmittedValue[] {
    requireForm(x);
    if (x.attr('type') !== 'submit') {
        throw new StanzaError('bad-request', `data form of type "${x.attr('type') ?? ''}" where "submit" is required`);
    }
    const out: SubmittedValue[] = [];
    const seen = new Set<string>();
    for (const field of x.childrenNamed('field', NS_DATA)) {
        const name = field.attr('var');
        if (name === undefined || name === '') throw new StanzaError('bad-request', 'submitted field without var');
        if (META_FIELDS.has(name) || field.attr('type') === 'hidden') continue;
        if (seen.has(name)) throw new StanzaError('bad-request', `field "${clip(name)}" submitted twice`);
        seen.add(name);
        const v: SubmittedValue = { name, text: fieldValue(field) ?? '' };
        const validate = field.child('validate', NS_VALIDATE);
        if (field.attr('type') !== undefined || validate) {
            const type = typeOfField(field, validate, false);
            if (type !== 'string') v.type = type;
        }
        out.push(v);
    }
    return out;
}

/** Type from the field: boolean fields, then the XEP-0122 datatype, then (forms) list-single = enum. */
function typeOfField(field: XmlElement, validate: XmlElement | undefined, listIsEnum: boolean): ParameterType {
    if (field.attr('type') === 'boolean') return 'boolean';
    const fromDatatype = validate ? typeOfDatatype(validate) : undefined;
    if (fromDatatype !== undefined && fromDatatype !== 'string') return fromDatatype;
    if (listIsEnum && field.attr('type') === 'list-single') return 'enum';
    return 'string';
}

function typeOfDatatype(validate: XmlElement): ParameterType | undefined {
    const datatype = (validate.attr('datatype') ?? 'xs:string').trim();
    const colon = datatype.indexOf(':');
    if (colon === -1) return undefined;
    const prefix = datatype.slice(0, colon);
    const local = datatype.slice(colon + 1);
    // XEP-0122 prefixes are registered names ('xs', XEP-0331 'xdc'), not always bound in the document.
    const bound = validate.lookupNs(prefix);
    if (bound === FORM_NAMESPACES.xmlSchema.ns || (bound === undefined && prefix === 'xs')) {
        return Object.hasOwn(TYPE_OF_XS, local) ? TYPE_OF_XS[local] : undefined;
    }
    if (bound === NS_COLOR || (bound === undefined && prefix === 'xdc')) {
        const l = local.toLowerCase();
        return l === 'color' || l === 'coloralpha' ? 'color' : undefined;
    }
    return undefined;
}

function readValidation(validate: XmlElement, type: ParameterType, p: ParameterDescription): void {
    const range = validate.child('range', NS_VALIDATE);
    if (range) {
        const min = numberOf(range.attr('min'));
        const max = numberOf(range.attr('max'));
        if (min !== undefined) p.min = min;
        if (max !== undefined) p.max = max;
    }
    const regex = validate.childText('regex', NS_VALIDATE);
    if (regex !== undefined && regex !== '') {
        // The XEP-0331 fallback regex says nothing the colour type does not.
        const implied = type === 'color' && (regex === COLOR_REGEX || regex === COLOR_ALPHA_REGEX);
        if (!implied) p.pattern = regex;
    }
}

function numberOf(text: string | undefined): number | undefined {
    if (text === undefined || text.trim() === '') return undefined;
    const n = Number(text.trim());
    return Number.isFinite(n) ? n : undefined;
}

function readOptions(field: XmlElement): Array<{ value: string; label?: string }> {
    const out: Array<{ value: string; label?: string }> = [];
    for (const o of field.childrenNamed('option', NS_DATA)) {
        const value = o.childText('value', NS_DATA);
        if (value === undefined) continue;
        const label = o.attr('label');
        out.push(label === undefined ? { value } : { value, label });
    }
    return out;
}

/** The field's values joined with newlines, or undefined when it has none. */
function fieldValue(field: XmlElement): string | undefined {
    const values = field.childrenNamed('value', NS_DATA);
    return values.length === 0 ? undefined : values.map((v) => v.text()).join('\n');
}

/** Peer text quoted in an error message, cut to a readable length. */
export function clip(text: string, max = 64): string {
    return text.length <= max ? text : `${text.slice(0, max)}…`;
}
