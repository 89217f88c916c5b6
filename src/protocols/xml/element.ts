import { assertName, escapeAttr, escapeText } from './escape';

/** Namespace of the `xml:` prefix, bound in every document (Namespaces in XML 1.0 §3). */
export const NS_XML = 'http://www.w3.org/XML/1998/namespace';

export type XmlChild = XmlElement | string;

/** What the builder accepts as a child: elements, text, and nothing (skipped), nested in arrays. */
export type XmlChildInput = XmlChild | number | boolean | null | undefined | readonly XmlChildInput[];

/** What the builder accepts as an attribute value; `undefined` and `null` leave the attribute out. */
export type XmlAttrInput = string | number | boolean | null | undefined;

/**
 * One XML element, shared by every protocol core. Namespaces are resolved the XML way:
 * from `xmlns` / `xmlns:p` attributes on the element or its ancestors, then from `scope`
 * on the tree's root (bindings the tree inherits from outside, e.g. the XMPP stream's
 * default `jabber:client`).
 */
export class XmlElement {
    readonly name: string;
    readonly attrs: Record<string, string>;
    readonly children: XmlChild[] = [];
    parent: XmlElement | undefined;
    /** Bindings from outside the tree, consulted after the root's own attributes. '' is the default namespace. */
    scope: Readonly<Record<string, string>> | undefined;

    constructor(name: string, attrs: Record<string, string> = {}, children: readonly XmlChild[] = []) {
        this.name = name;
        this.attrs = attrs;
        for (const c of children) this.#add(c);
    }

    /** The name without its prefix. */
    get local(): string {
        const i = this.name.indexOf(':');
        return i === -1 ? this.name : this.name.slice(i + 1);
    }

    /** The prefix, or '' for an unprefixed name. */
    get prefix(): string {
        const i = this.name.indexOf(':');
        return i === -1 ? '' : this.name.slice(0, i);
    }

    /** The element's namespace URI, '' when none is in scope. */
    get ns(): string {
        return this.lookupNs(this.prefix) ?? '';
    }

    /** The namespace bound to `prefix` ('' = default namespace) at this element. */
    lookupNs(prefix: string): string | undefined {
        if (prefix === 'xml') return NS_XML;
        const key = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
        let node: XmlElement | undefined = this;
        let root: XmlElement = this;
        while (node) {
            if (Object.hasOwn(node.attrs, key)) return node.attrs[key];
            root = node;
            node = node.parent;
        }
        return root.scope && Object.hasOwn(root.scope, prefix) ? root.scope[prefix] : undefined;
    }

    /** True when the local name (and, if given, the namespace) match exactly. */
    is(local: string, ns?: string): boolean {
        return this.local === local && (ns === undefined || this.ns === ns);
    }

    /** Child elements, text left out. */
    elements(): XmlElement[] {
        const out: XmlElement[] = [];
        for (const c of this.children) if (typeof c !== 'string') out.push(c);
        return out;
    }

    /** First child element with that local name (and namespace, if given). */
    child(local: string, ns?: string): XmlElement | undefined {
        for (const c of this.children) if (typeof c !== 'string' && c.is(local, ns)) return c;
        return undefined;
    }

    /** Every child element with that local name (and namespace, if given). */
    childrenNamed(local: string, ns?: string): XmlElement[] {
        const out: XmlElement[] = [];
        for (const c of this.children) if (typeof c !== 'string' && c.is(local, ns)) out.push(c);
        return out;
    }

    /** The element's own character data (text children joined; descendants' text is not included). */
    text(): string {
        let s = '';
        for (const c of this.children) if (typeof c === 'string') s += c;
        return s;
    }

    /** Text of the first matching child, or undefined when there is no such child. */
    childText(local: string, ns?: string): string | undefined {
        return this.child(local, ns)?.text();
    }

    attr(name: string): string | undefined {
        return this.attrs[name];
    }

    /** Appends children (elements, text, numbers, nested arrays; null/undefined/false are skipped). */
    append(...children: XmlChildInput[]): this {
        for (const c of children) this.#addInput(c);
        return this;
    }

    /** Removes a child element; returns whether it was there. */
    remove(child: XmlElement): boolean {
        const i = this.children.indexOf(child);
        if (i === -1) return false;
        this.children.splice(i, 1);
        child.parent = undefined;
        return true;
    }

    /** A deep copy, detached from any parent; namespaces in scope at this element are carried along. */
    clone(): XmlElement {
        const copy = new XmlElement(this.name, { ...this.attrs });
        if (this.parent || this.scope) copy.scope = this.#inScope();
        // Iterative, like serialize: trees from peers can be deep.
        const stack: Array<[XmlElement, XmlElement]> = [[this, copy]];
        while (stack.length > 0) {
            const [from, to] = stack.pop() as [XmlElement, XmlElement];
            for (const c of from.children) {
                if (typeof c === 'string') {
                    to.#add(c);
                } else {
                    const child = new XmlElement(c.name, { ...c.attrs });
                    to.#add(child);
                    stack.push([c, child]);
                }
            }
        }
        return copy;
    }

    /** Serialises the element. Throws XmlError (XML_INVALID_CHAR) for content XML 1.0 cannot carry. */
    toString(): string {
        return serialize(this);
    }

    #inScope(): Record<string, string> {
        const bindings: Record<string, string> = {};
        const chain: XmlElement[] = [];
        for (let n: XmlElement | undefined = this; n; n = n.parent) chain.push(n);
        const root = chain[chain.length - 1];
        if (root?.scope) Object.assign(bindings, root.scope);
        for (let i = chain.length - 1; i >= 1; i--) {
            for (const [k, v] of Object.entries(chain[i]?.attrs ?? {})) {
                if (k === 'xmlns') bindings[''] = v;
                else if (k.startsWith('xmlns:')) bindings[k.slice(6)] = v;
            }
        }
        return bindings;
    }

    #add(c: XmlChild): void {
        if (typeof c !== 'string') c.parent = this;
        this.children.push(c);
    }

    #addInput(c: XmlChildInput): void {
        if (c === null || c === undefined || c === false) return;
        if (Array.isArray(c)) {
            for (const x of c) this.#addInput(x);
        } else if (c instanceof XmlElement) {
            this.#add(c);
        } else {
            this.#add(String(c));
        }
    }
}

/**
 * Builds an element: `el('iq', { type: 'get', to }, el('ping', { xmlns: NS_PING }))`.
 * Attributes whose value is undefined or null are left out; numbers and booleans become strings.
 */
export function el(
    name: string,
    attrs?: Readonly<Record<string, XmlAttrInput>>,
    ...children: XmlChildInput[]
): XmlElement {
    const a: Record<string, string> = {};
    if (attrs) {
        for (const [k, v] of Object.entries(attrs)) {
            if (v !== undefined && v !== null) a[k] = String(v);
        }
    }
    return new XmlElement(name, a).append(...children);
}

/** Names already found valid: payloads repeat the same few names, so each is checked once. */
const validNames = new Set<string>();
const MAX_REMEMBERED_NAMES = 4096;

function checkName(name: string, what: string): void {
    if (validNames.has(name)) return;
    assertName(name, what);
    if (validNames.size < MAX_REMEMBERED_NAMES) validNames.add(name);
}

/** Serialises an element and its descendants without recursion depth limits of the call stack. */
export function serialize(root: XmlElement): string {
    const parts: string[] = [];
    const stack: Array<XmlChild | { close: string }> = [root];
    while (stack.length > 0) {
        const item = stack.pop() as XmlChild | { close: string };
        if (typeof item === 'string') {
            parts.push(escapeText(item));
            continue;
        }
        if (!(item instanceof XmlElement)) {
            parts.push(item.close);
            continue;
        }
        checkName(item.name, 'Element name');
        let open = `<${item.name}`;
        for (const [k, v] of Object.entries(item.attrs)) {
            checkName(k, 'Attribute name');
            open += ` ${k}="${escapeAttr(v)}"`;
        }
        if (item.children.length === 0) {
            parts.push(`${open}/>`);
            continue;
        }
        parts.push(`${open}>`);
        stack.push({ close: `</${item.name}>` });
        for (let i = item.children.length - 1; i >= 0; i--) stack.push(item.children[i] as XmlChild);
    }
    return parts.join('');
}

const TEXT_EXTRA: Readonly<Record<string, number>> = { '&': 4, '<': 3, '>': 3, '\r': 4 };
const ATTR_EXTRA: Readonly<Record<string, number>> = {
    '&': 4,
    '<': 3,
    '>': 3,
    '"': 5,
    "'": 5,
    '\t': 3,
    '\n': 4,
    '\r': 4,
};

/** UTF-8 octets of `text` once escaped with `extra` (what each special character adds). */
function escapedBytes(text: string, special: RegExp, extra: Readonly<Record<string, number>>): number {
    let n = Buffer.byteLength(text);
    if (special.test(text)) for (const c of text) n += extra[c] ?? 0;
    return n;
}

/**
 * The UTF-8 size of `serialize(root)` without building the text: protocols that enforce a
 * negotiated PDU size measure with this and serialise only once, when sending. Names and
 * characters are not checked here (serialize does that).
 */
export function serializedSize(root: XmlElement): number {
    let n = 0;
    const stack: XmlChild[] = [root];
    while (stack.length > 0) {
        const item = stack.pop() as XmlChild;
        if (typeof item === 'string') {
            n += escapedBytes(item, /[&<>\r]/, TEXT_EXTRA);
            continue;
        }
        const name = Buffer.byteLength(item.name);
        n += 1 + name; // <name
        for (const [k, v] of Object.entries(item.attrs))
            n += 4 + Buffer.byteLength(k) + escapedBytes(v, /[&<>"'\t\n\r]/, ATTR_EXTRA);
        if (item.children.length === 0) {
            n += 2; // />
            continue;
        }
        n += 1 + 3 + name; // > and </name>
        for (let i = item.children.length - 1; i >= 0; i--) stack.push(item.children[i] as XmlChild);
    }
    return n;
}
