import { el, type XmlElement } from '../../xml';
import { DECODER, ENCODER } from './constants';
import { leafText, onlyChild } from './data';
import { MmsError, type NamedNumbers, nameOf, shown } from './errors';

/**
 * The XER building blocks the MMS PDUs share (ITU-T X.693 BASIC-XER as 8-2 uses it; wire note
 * §4.1): SEQUENCE components by name, simple components as attribute or child (open question 3),
 * INTEGERs with named numbers (open question 4), BOOLEAN, SEQUENCE OF items, strings.
 */

export const UNSIGNED32_MAX = 0xffffffff;
export const INTEGER32 = Object.freeze({ min: -0x80000000, max: 0x7fffffff });

/** The child elements; text other than whitespace between them is refused. */
export function childElements(element: XmlElement, path: string): XmlElement[] {
    const out: XmlElement[] = [];
    for (const c of element.children) {
        if (typeof c !== 'string') out.push(c);
        else if (!isBlank(c)) throw new MmsError('unexpected-content', `Text ${shown(c)} in <${element.local}>`, path);
    }
    return out;
}

/** Components of a SEQUENCE by local name; unknown ones refused, each at most once. Attributes are not looked at. */
export function sequence(element: XmlElement, path: string, allowed: readonly string[]): Map<string, XmlElement> {
    const out = new Map<string, XmlElement>();
    for (const c of childElements(element, path)) {
        if (!allowed.includes(c.local)) {
            throw new MmsError(
                'unknown-element',
                `<${c.local}> is not a component of <${element.local}>`,
                `${path}/${c.local}`,
            );
        }
        if (out.has(c.local)) throw new MmsError('missing-element', `<${c.local}> appears twice`, `${path}/${c.local}`);
        out.set(c.local, c);
    }
    return out;
}

/** The first of `names` present in `parts` (a component with several accepted spellings). */
export function either(parts: Map<string, XmlElement>, names: readonly string[]): XmlElement | undefined {
    for (const n of names) {
        const e = parts.get(n);
        if (e) return e;
    }
    return undefined;
}

export function required(parts: Map<string, XmlElement>, name: string | readonly string[], path: string): XmlElement {
    const names = typeof name === 'string' ? [name] : name;
    const e = either(parts, names);
    if (!e) throw new MmsError('missing-element', `<${names[0]}> is missing`, path);
    return e;
}

/** Items of a SEQUENCE OF: child elements named `item` (X.693: the type reference, or SEQUENCE/CHOICE). */
export function items(element: XmlElement, path: string, item: string | readonly string[]): XmlElement[] {
    const names = typeof item === 'string' ? [item] : item;
    const out: XmlElement[] = [];
    for (const c of childElements(element, path)) {
        if (!names.includes(c.local)) {
            throw new MmsError(
                'unknown-element',
                `<${c.local}> in <${element.local}>; expected <${names[0]}>`,
                `${path}/${c.local}[${out.length}]`,
            );
        }
        out.push(c);
    }
    return out;
}

/** A required INTEGER component of a SEQUENCE, within [min, max]. */
export function intPart(parts: Map<string, XmlElement>, name: string, path: string, min: number, max: number): number {
    return decodeInt(required(parts, name, path), `${path}/${name}`, min, max);
}

/** A required SEQUENCE OF component: each `item` child decoded with its own path. */
export function listPart<T>(
    parts: Map<string, XmlElement>,
    name: string,
    path: string,
    item: string,
    decode: (element: XmlElement, path: string) => T,
): T[] {
    const listPath = `${path}/${name}`;
    return items(required(parts, name, path), listPath, item).map((e, i) => decode(e, `${listPath}/${item}[${i}]`));
}

export function isBlank(s: string): boolean {
    return /^[ \t\r\n]*$/.test(s);
}

/** A decimal INTEGER leaf within [min, max]. */
export function decodeInt(element: XmlElement, path: string, min: number, max: number): number {
    if (element.elements().length > 0) {
        throw new MmsError('unexpected-content', `<${element.local}> must hold a number`, path);
    }
    return intText(element.text(), path, min, max);
}

function intText(text: string, path: string, min: number, max: number): number {
    const t = text.trim();
    if (!/^-?[0-9]{1,12}$/.test(t)) throw new MmsError('bad-lexical', `${shown(t)} is not an integer`, path);
    const v = Number(t);
    if (v < min || v > max) throw new MmsError('out-of-range', `${t} is outside ${min}..${max}`, path);
    return v;
}

/** `<name>n</name>` for a plain INTEGER component. */
export function intElement(name: string, value: number, min: number, max: number): XmlElement {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new MmsError('out-of-range', `${name} ${String(value)} is outside ${min}..${max}`, name);
    }
    return el(name, {}, String(value));
}

/** A VisibleString/Identifier leaf (U+0020-U+007E only). */
export function decodeVisible(element: XmlElement, path: string, maxLength = Number.POSITIVE_INFINITY): string {
    const text = leafText(element, path);
    const bad = /[^\x20-\x7e]/.exec(text);
    if (bad) throw new MmsError('bad-lexical', `<${element.local}> holds a character outside VisibleString`, path);
    if (text.length > maxLength) {
        throw new MmsError('out-of-range', `<${element.local}> is longer than ${maxLength} characters`, path);
    }
    return text;
}

/** Checks a string for the encoder: VisibleString characters only, within maxLength. */
export function visible(name: string, value: unknown, maxLength = Number.POSITIVE_INFINITY): string {
    if (typeof value !== 'string') throw new MmsError('wrong-type', `${name} must be a string`, name);
    if (/[^\x20-\x7e]/.test(value)) throw new MmsError('out-of-range', `${name} holds a non-VisibleString character`);
    if (value.length > maxLength) throw new MmsError('out-of-range', `${name} is longer than ${maxLength} characters`);
    return value;
}

/** A GraphicString/UTF8 leaf (file names, annotations): any text, no elements. */
export function decodeText(element: XmlElement, path: string): string {
    return leafText(element, path);
}

// ---------------------------------------------------------------------------------------------
// Named numbers (open question 4): `<object-non-existent/>` or `10`

/** `<parent><name/></parent>` or `<parent>n</parent>` per ENCODER.namedNumbers. */
export function encodeNamedNumber(parent: string, table: NamedNumbers, value: number): XmlElement {
    const name = ENCODER.namedNumbers === 'identifier' ? nameOf(table, value) : undefined;
    return name === undefined ? el(parent, {}, String(value)) : el(parent, {}, el(name));
}

/** Reads an INTEGER with named numbers in either form. */
export function decodeNamedNumber(element: XmlElement, table: NamedNumbers, path: string): number {
    if (element.elements().length === 0) return decodeInt(element, path, INTEGER32.min, INTEGER32.max);
    const id = onlyChild(element, path);
    if (id.children.length > 0) {
        throw new MmsError('unexpected-content', `<${id.local}> must be empty`, `${path}/${id.local}`);
    }
    if (!Object.hasOwn(table, id.local)) {
        throw new MmsError('unknown-element', `<${id.local}> is not a named number here`, `${path}/${id.local}`);
    }
    return table[id.local] as number;
}

// ---------------------------------------------------------------------------------------------
// Simple components written as attributes (open question 3)

/** True when the encoder writes component `name` as an attribute of its SEQUENCE. */
export function asAttribute(name: string): boolean {
    return ENCODER.attributeComponents.has(name);
}

/** A BOOLEAN component, as attribute or `<name><true/></name>` per ENCODER; `undefined` leaves it out. */
export function booleanComponent(name: string, value: boolean | undefined): { attr?: string; child?: XmlElement } {
    if (value === undefined) return {};
    if (asAttribute(name)) return { attr: value ? ENCODER.attributeTrue : ENCODER.attributeFalse };
    return { child: el(name, {}, el(value ? 'true' : 'false')) };
}

/**
 * Reads a BOOLEAN component given as attribute or child element (`<x><true/></x>` or `<x>true</x>`).
 * Returns `fallback` (the ASN.1 DEFAULT) when neither is present; both present is refused.
 */
export function decodeBooleanComponent(
    element: XmlElement,
    parts: Map<string, XmlElement>,
    name: string,
    path: string,
    fallback: boolean | undefined,
): boolean | undefined {
    const attr = element.attrs[name];
    const child = parts.get(name);
    if (attr !== undefined && child) {
        throw new MmsError('unexpected-content', `${name} is given both as attribute and element`, path);
    }
    if (attr !== undefined) {
        if (DECODER.attributeTrue.includes(attr)) return true;
        if (DECODER.attributeFalse.includes(attr)) return false;
        throw new MmsError('bad-lexical', `${name}=${shown(attr)} is not a boolean`, `${path}/@${name}`);
    }
    if (!child) return fallback;
    return decodeBoolean(child, `${path}/${name}`);
}

/** A BOOLEAN element: `<true/>`/`<false/>` inside, or the text true/false. */
export function decodeBoolean(element: XmlElement, path: string): boolean {
    if (element.elements().length === 0) {
        const t = element.text().trim();
        if (t === 'true' || t === 'false') return t === 'true';
        throw new MmsError('bad-lexical', `<${element.local}> holds ${shown(t)}; expected <true/> or <false/>`, path);
    }
    const v = onlyChild(element, path);
    if (v.children.length > 0 || (v.local !== 'true' && v.local !== 'false')) {
        throw new MmsError('unknown-element', `<${v.local}> in a BOOLEAN; expected <true/> or <false/>`, path);
    }
    return v.local === 'true';
}

export function booleanElement(name: string, value: boolean): XmlElement {
    return el(name, {}, el(value ? 'true' : 'false'));
}

/**
 * An INTEGER-with-named-numbers component that the encoder may write as an attribute
 * (scopeOfDelete): attribute text is the identifier or the decimal; a child element is read
 * as a named number.
 */
export function decodeNamedComponent(
    element: XmlElement,
    parts: Map<string, XmlElement>,
    name: string,
    table: NamedNumbers,
    path: string,
): number | undefined {
    const attr = element.attrs[name];
    const child = parts.get(name);
    if (attr !== undefined && child) {
        throw new MmsError('unexpected-content', `${name} is given both as attribute and element`, path);
    }
    if (attr !== undefined) {
        if (Object.hasOwn(table, attr)) return table[attr] as number;
        return intText(attr, `${path}/@${name}`, INTEGER32.min, INTEGER32.max);
    }
    return child ? decodeNamedNumber(child, table, `${path}/${name}`) : undefined;
}

export function namedComponent(
    name: string,
    table: NamedNumbers,
    value: number | undefined,
): { attr?: string; child?: XmlElement } {
    if (value === undefined) return {};
    if (asAttribute(name)) return { attr: nameOf(table, value) ?? String(value) };
    return { child: encodeNamedNumber(name, table, value) };
}

/** A NULL alternative (`<success/>`): must be empty. */
export function expectEmpty(element: XmlElement, path: string): void {
    for (const c of element.children) {
        if (typeof c !== 'string' || !isBlank(c)) {
            throw new MmsError('unexpected-content', `<${element.local}> must be empty`, path);
        }
    }
}
