import { XMLParser } from 'fast-xml-parser';
import { XmlElement } from './element';
import { lineContext, positionOf, XmlError, type XmlErrorCode } from './errors';
import { decodeEntities, findInvalidChar } from './escape';

/** Bounds on what one parse may cost. Every protocol passes its own, or takes these defaults. */
export interface XmlLimits {
    /** Largest input, in UTF-8 bytes. */
    maxBytes: number;
    /** Deepest element nesting (the root is depth 1). */
    maxDepth: number;
    /** Most attributes (namespace declarations included) on one element. */
    maxAttributes: number;
    /** Most elements in the whole document. */
    maxElements: number;
}

/** Defaults sized for configuration documents (SCL, DDF, ESPI feeds); stanza payloads use tighter ones. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
    maxBytes: 16 * 1024 * 1024,
    maxDepth: 64,
    maxAttributes: 64,
    maxElements: 1_000_000,
});

export interface XmlParseOptions extends Partial<XmlLimits> {
    /** Keep whitespace-only text between elements (default: dropped when an element has element children). */
    keepWhitespace?: boolean;
    /** Namespace bindings the document inherits from outside ('' = default namespace). */
    scope?: Readonly<Record<string, string>>;
}

const FXP = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: false,
    // No callbacks use the path; skip building its string for every tag and attribute.
    jPath: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: '#cdata',
    commentPropName: false,
    allowBooleanAttributes: false,
    // Depth is enforced again below with our own limit and message; this stops fxp early on hostile input.
    maxNestedTags: 100_000,
});

type FxpNode = Record<string, unknown>;

function fail(code: XmlErrorCode, message: string, text?: string, offset?: number): never {
    if (text === undefined || offset === undefined) throw new XmlError(code, message);
    const { line, column } = positionOf(text, offset);
    throw new XmlError(code, message, { line, column, context: lineContext(text, line, column) });
}

/**
 * One pass over the raw text, before fast-xml-parser sees it, for what it does not check or
 * checks too late: forbidden declarations, characters XML cannot carry, every `&` reference
 * outside comments, CDATA and processing instructions (only the five predefined entities and
 * numeric references; nothing is ever expanded from a DTD), `]]>` in text, text or a second
 * root outside the root element, and the depth and element limits, so that a hostile nesting
 * is refused before any parser builds it.
 */
function prescan(text: string, limits: XmlLimits): void {
    const bad = findInvalidChar(text);
    if (bad !== -1) {
        const code = (text.codePointAt(bad) ?? 0).toString(16).toUpperCase().padStart(4, '0');
        fail('XML_INVALID_CHAR', `Character U+${code} is not allowed in XML 1.0`, text, bad);
    }
    let i = 0;
    let elements = 0;
    let roots = 0;
    /** Names of the open elements, innermost last, and where each was opened. */
    const open: string[] = [];
    const openedAt: number[] = [];
    while (i < text.length) {
        const lt = text.indexOf('<', i);
        const segmentEnd = lt === -1 ? text.length : lt;
        if (segmentEnd > i) checkText(text, i, segmentEnd, open.length);
        if (lt === -1) break;
        if (text.startsWith('<!--', lt)) {
            i = skipTo(text, lt, '-->', 'Unterminated comment');
        } else if (text.startsWith('<![CDATA[', lt)) {
            if (open.length === 0) fail('XML_MALFORMED', 'CDATA section outside the root element', text, lt);
            i = skipTo(text, lt, ']]>', 'Unterminated CDATA section');
        } else if (text.startsWith('<?', lt)) {
            if (lt > 0 && /^<\?xml[\s?]/i.test(text.slice(lt, lt + 6))) {
                fail('XML_MALFORMED', 'The XML declaration is only allowed at the start of the document', text, lt);
            }
            i = skipTo(text, lt, '?>', 'Unterminated processing instruction');
        } else if (text.startsWith('<!', lt)) {
            const word = /^<!([A-Z]+)/.exec(text.slice(lt, lt + 12))?.[1] ?? '';
            fail('XML_FORBIDDEN', `<!${word}> declarations are not accepted (no DTDs, no entity expansion)`, text, lt);
        } else {
            const gt = findTagEnd(text, lt);
            if (gt === -1) fail('XML_MALFORMED', 'Unterminated tag', text, lt);
            checkReferences(text, lt, gt);
            if (text[lt + 1] === '/') {
                closeTag(text, lt, gt, open);
                openedAt.pop();
            } else {
                if (open.length === 0 && ++roots > 1)
                    fail('XML_MALFORMED', 'Document has more than one root element', text, lt);
                if (++elements > limits.maxElements) {
                    fail('XML_LIMIT', `Document has more than ${limits.maxElements} elements`, text, lt);
                }
                const { name, selfClosing } = openTag(text, lt, gt);
                if (open.length + 1 > limits.maxDepth) {
                    fail(
                        'XML_LIMIT',
                        `Element <${name}> is nested ${open.length + 1} deep, more than the limit of ${limits.maxDepth}`,
                        text,
                        lt,
                    );
                }
                if (!selfClosing) {
                    open.push(name);
                    openedAt.push(lt);
                }
            }
            i = gt + 1;
        }
    }
    if (open.length > 0) {
        const name = open[open.length - 1] as string;
        fail('XML_MALFORMED', `Element <${name.slice(0, 40)}> is not closed`, text, openedAt[openedAt.length - 1]);
    }
    if (roots === 0) throw new XmlError('XML_MALFORMED', 'Document has no root element');
}

function isNameStart(c: number): boolean {
    return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0xc0;
}

function isNameChar(c: number): boolean {
    return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0xb7;
}

function isSpace(c: number): boolean {
    return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Index just past the XML Name starting at `from` (XML 1.0 §2.3, BMP approximation), or `from` when none. */
function nameEnd(text: string, from: number, to: number): number {
    if (from >= to || !isNameStart(text.charCodeAt(from))) return from;
    let j = from + 1;
    while (j < to && isNameChar(text.charCodeAt(j))) j++;
    return j;
}

/**
 * A start tag `<name attr="v" …>` or `<name …/>` between `lt` and `gt` (XML 1.0 §3.1): the name,
 * attributes separated by whitespace, each with `=` and a quoted value without `<`, no name twice.
 */
function openTag(text: string, lt: number, gt: number): { name: string; selfClosing: boolean } {
    let j = nameEnd(text, lt + 1, gt);
    if (j === lt + 1) fail('XML_MALFORMED', 'A tag must start with a valid element name', text, lt + 1);
    const name = text.slice(lt + 1, j);
    let seen: Set<string> | undefined;
    for (;;) {
        const before = j;
        while (j < gt && isSpace(text.charCodeAt(j))) j++;
        if (j === gt) return { name, selfClosing: false };
        if (text.charCodeAt(j) === 0x2f && j + 1 === gt) return { name, selfClosing: true };
        if (j === before) fail('XML_MALFORMED', `Unexpected character in the tag of <${name.slice(0, 40)}>`, text, j);
        const end = nameEnd(text, j, gt);
        if (end === j) fail('XML_MALFORMED', `Invalid attribute name in the tag of <${name.slice(0, 40)}>`, text, j);
        const attr = text.slice(j, end);
        j = end;
        while (j < gt && isSpace(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) !== 0x3d) fail('XML_MALFORMED', `Attribute ${attr.slice(0, 40)} has no value`, text, j);
        j++;
        while (j < gt && isSpace(text.charCodeAt(j))) j++;
        const quote = text[j];
        if (quote !== '"' && quote !== "'") {
            fail('XML_MALFORMED', `The value of attribute ${attr.slice(0, 40)} must be quoted`, text, j);
        }
        const close = text.indexOf(quote, j + 1);
        const lt2 = text.indexOf('<', j + 1);
        if (lt2 !== -1 && lt2 < close)
            fail('XML_MALFORMED', `"<" in the value of attribute ${attr.slice(0, 40)}`, text, lt2);
        seen ??= new Set();
        if (seen.has(attr))
            fail('XML_MALFORMED', `Attribute ${attr.slice(0, 40)} is repeated`, text, end - attr.length);
        seen.add(attr);
        j = close + 1;
    }
}

/** An end tag `</name>` between `lt` and `gt`: it must close the innermost open element. */
function closeTag(text: string, lt: number, gt: number, open: string[]): void {
    const end = nameEnd(text, lt + 2, gt);
    let j = end;
    while (j < gt && isSpace(text.charCodeAt(j))) j++;
    if (end === lt + 2 || j !== gt) fail('XML_MALFORMED', 'Malformed closing tag', text, lt);
    const name = text.slice(lt + 2, end);
    const expected = open.pop();
    if (expected === undefined) {
        fail('XML_MALFORMED', `Closing tag </${name.slice(0, 40)}> has no open element`, text, lt);
    }
    if (expected !== name) {
        fail(
            'XML_MALFORMED',
            `Expected closing tag </${expected.slice(0, 40)}>, found </${name.slice(0, 40)}>`,
            text,
            lt,
        );
    }
}

/** Index just past `terminator`, searching from `from`; fails when there is none. */
function skipTo(text: string, from: number, terminator: string, unterminated: string): number {
    const end = text.indexOf(terminator, from + 2);
    if (end === -1) fail('XML_MALFORMED', unterminated, text, from);
    return end + terminator.length;
}

/** Character data between markup: references, `]]>`, and nothing but whitespace outside the root. */
function checkText(text: string, from: number, to: number, depth: number): void {
    if (depth === 0) {
        for (let k = from; k < to; k++) {
            const c = text.charCodeAt(k);
            if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
                fail('XML_MALFORMED', 'Text outside the root element', text, k);
            }
        }
        return;
    }
    const amp = text.indexOf('&', from);
    if (amp !== -1 && amp < to) checkReferences(text, from, to);
    const cdataEnd = text.indexOf(']]>', from);
    if (cdataEnd !== -1 && cdataEnd < to) fail('XML_MALFORMED', '"]]>" is not allowed in text', text, cdataEnd);
}

/** Index of the '>' closing the tag opened at `lt`, skipping quoted attribute values. */
function findTagEnd(text: string, lt: number): number {
    let quote = '';
    for (let j = lt + 1; j < text.length; j++) {
        const c = text[j];
        if (quote) {
            if (c === quote) quote = '';
        } else if (c === '"' || c === "'") {
            quote = c;
        } else if (c === '>') {
            return j;
        }
    }
    return -1;
}

function checkReferences(text: string, from: number, to: number): void {
    decodeEntities(text.slice(from, to), (offset, message) => fail('XML_MALFORMED', message, text, from + offset));
}

/** Attribute-value normalisation (XML 1.0 §3.3.3) for CDATA attributes, then reference decoding. */
function attrValue(raw: string): string {
    return decodeEntities(raw.replace(/[\t\n\r]/g, ' '), (_o, m) => {
        throw new XmlError('XML_MALFORMED', m);
    });
}

function textValue(raw: string): string {
    return decodeEntities(raw, (_o, m) => {
        throw new XmlError('XML_MALFORMED', m);
    });
}

/**
 * Parses one XML document into an XmlElement tree, through fast-xml-parser, with limits
 * on size, depth, attribute count and element count, and with DTDs refused outright.
 * Errors are XmlError with a code, and a line, column and context when the input has one.
 */
export function parseXml(input: string | Uint8Array, options: XmlParseOptions = {}): XmlElement {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
        throw new TypeError(`parseXml needs a string or a Uint8Array, not ${input === null ? 'null' : typeof input}`);
    }
    const limits: XmlLimits = { ...DEFAULT_XML_LIMITS, ...definedOnly(options) };
    for (const [name, value] of Object.entries(limits)) {
        if (!Number.isInteger(value) || value < 1) {
            throw new RangeError(`XML limit ${name} must be a positive integer (got ${String(value)})`);
        }
    }
    const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
    if (bytes > limits.maxBytes) {
        throw new XmlError('XML_LIMIT', `Document is ${bytes} bytes, more than the limit of ${limits.maxBytes}`);
    }
    let text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
    // A byte order mark before the document (XML 1.0 §4.3.3) is not content.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    prescan(text, limits);

    let tree: FxpNode[];
    try {
        tree = FXP.parse(text) as FxpNode[];
    } catch (err) {
        throw new XmlError('XML_MALFORMED', (err as Error).message);
    }

    const roots = tree.filter((n) => elementName(n) !== undefined);
    if (roots.length !== 1) throw new XmlError('XML_MALFORMED', 'Document must have exactly one root element');
    const root = convert(roots[0] as FxpNode, limits, options.keepWhitespace === true);
    if (options.scope) root.scope = options.scope;
    return root;
}

function definedOnly(o: XmlParseOptions): Partial<XmlLimits> {
    const out: Partial<XmlLimits> = {};
    for (const k of ['maxBytes', 'maxDepth', 'maxAttributes', 'maxElements'] as const) {
        const v = o[k];
        if (v !== undefined) out[k] = v;
    }
    return out;
}

function elementName(node: FxpNode): string | undefined {
    for (const k of Object.keys(node)) {
        if (k !== ':@' && k !== '#text' && k !== '#cdata') return k;
    }
    return undefined;
}

/** Converts fast-xml-parser's ordered output iteratively, enforcing the limits on the way. */
function convert(rootNode: FxpNode, limits: XmlLimits, keepWhitespace: boolean): XmlElement {
    let count = 0;
    const make = (node: FxpNode, depth: number): { element: XmlElement; kids: FxpNode[] } => {
        const name = elementName(node) as string;
        if (++count > limits.maxElements) {
            throw new XmlError('XML_LIMIT', `Document has more than ${limits.maxElements} elements`);
        }
        if (depth > limits.maxDepth) {
            throw new XmlError(
                'XML_LIMIT',
                `Element <${name}> is nested ${depth} deep, more than the limit of ${limits.maxDepth}`,
            );
        }
        const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
        const keys = Object.keys(rawAttrs);
        if (keys.length > limits.maxAttributes) {
            throw new XmlError(
                'XML_LIMIT',
                `Element <${name}> has ${keys.length} attributes, more than the limit of ${limits.maxAttributes}`,
            );
        }
        const attrs: Record<string, string> = {};
        for (const k of keys) attrs[k] = attrValue(String(rawAttrs[k]));
        return { element: new XmlElement(name, attrs), kids: (node[name] ?? []) as FxpNode[] };
    };

    const first = make(rootNode, 1);
    const stack: Array<{ element: XmlElement; kids: FxpNode[]; depth: number }> = [{ ...first, depth: 1 }];
    while (stack.length > 0) {
        const { element, kids, depth } = stack.pop() as { element: XmlElement; kids: FxpNode[]; depth: number };
        const children: Array<string | { pending: FxpNode }> = [];
        let hasElements = false;
        for (const kid of kids) {
            if (typeof kid['#text'] === 'string' || typeof kid['#text'] === 'number') {
                children.push(textValue(String(kid['#text'])));
            } else if (Array.isArray(kid['#cdata'])) {
                const parts = kid['#cdata'] as FxpNode[];
                children.push(parts.map((p) => String(p['#text'] ?? '')).join(''));
            } else if (elementName(kid) !== undefined) {
                hasElements = true;
                children.push({ pending: kid });
            }
        }
        for (const c of children) {
            if (typeof c === 'string') {
                if (keepWhitespace || !hasElements || c.trim() !== '') {
                    mergeText(element, c);
                }
            } else {
                const made = make(c.pending, depth + 1);
                element.append(made.element);
                stack.push({ ...made, depth: depth + 1 });
            }
        }
    }
    return first.element;
}

function mergeText(element: XmlElement, text: string): void {
    if (text === '') return;
    const last = element.children.length - 1;
    if (last >= 0 && typeof element.children[last] === 'string') {
        element.children[last] = (element.children[last] as string) + text;
    } else {
        element.append(text);
    }
}
