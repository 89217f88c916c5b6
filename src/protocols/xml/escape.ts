import { XmlError } from './errors';

/**
 * Characters XML 1.0 forbids (XML 1.0 fifth edition §2.2 production [2] Char):
 * C0 controls other than TAB, LF and CR, lone surrogates, and U+FFFE/U+FFFF.
 */
const INVALID_CHAR =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding the control characters XML forbids is the point
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Offset of the first character XML 1.0 cannot carry, or -1. */
export function findInvalidChar(text: string): number {
    const m = INVALID_CHAR.exec(text);
    return m ? m.index : -1;
}

function describeChar(text: string, at: number): string {
    return `U+${(text.codePointAt(at) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function assertChars(text: string, what: string): void {
    const at = findInvalidChar(text);
    if (at !== -1) {
        throw new XmlError(
            'XML_INVALID_CHAR',
            `${what} contains ${describeChar(text, at)}, which XML 1.0 cannot carry`,
        );
    }
}

// CR is written as a reference: a raw one would be turned into LF by the reader (XML 1.0 §2.11).
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_ESCAPES: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&apos;',
    '\t': '&#9;',
    '\n': '&#10;',
    '\r': '&#13;',
};

/** Escapes character data; throws XML_INVALID_CHAR for characters XML cannot carry. */
export function escapeText(text: string): string {
    assertChars(text, 'Text');
    return TEXT_SPECIAL.test(text) ? text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c) : text;
}

/** Escapes an attribute value (quotes and whitespace included, so values survive normalisation). */
export function escapeAttr(value: string): string {
    assertChars(value, 'Attribute value');
    return value.replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

/** XML Name production, restricted to what protocols use (no colon handling beyond one prefix). */
const NAME =
    /^[A-Za-z_\u00C0-\uFFFD][\w.\-\u00B7\u00C0-\uFFFD]*(?::[A-Za-z_\u00C0-\uFFFD][\w.\-\u00B7\u00C0-\uFFFD]*)?$/;

export function assertName(name: string, what = 'Element name'): void {
    if (!NAME.test(name) || findInvalidChar(name) !== -1) {
        throw new XmlError('XML_INVALID_CHAR', `${what} "${name.slice(0, 40)}" is not a valid XML name`);
    }
}

const MAX_REFERENCE = 64;

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the five predefined entities and numeric character references. Anything else
 * (a bare `&`, an undeclared entity, a reference to a forbidden character) is an error:
 * the hardened layer never expands declared entities.
 * Returns the offset of the bad reference through `onError` so the caller can report a line.
 */
export function decodeEntities(text: string, onError: (offset: number, message: string) => never): string {
    if (text.indexOf('&') === -1) return text;
    let out = '';
    let last = 0;
    for (let amp = text.indexOf('&'); amp !== -1; amp = text.indexOf('&', last)) {
        out += text.slice(last, amp);
        const semi = text.indexOf(';', amp + 1);
        // Long enough for numeric references with leading zeros; the value itself is checked below.
        const ref = semi === -1 || semi - amp > MAX_REFERENCE ? '' : text.slice(amp + 1, semi);
        if (ref === '') onError(amp, 'Bare "&" or unterminated reference');
        let decoded: string | undefined;
        if (ref.startsWith('#')) {
            const hex = ref[1] === 'x';
            const digits = ref.slice(hex ? 2 : 1);
            const ok = hex ? /^[0-9a-fA-F]+$/.test(digits) : /^[0-9]+$/.test(digits);
            const code = ok ? Number.parseInt(digits, hex ? 16 : 10) : Number.NaN;
            const valid =
                code === 0x9 ||
                code === 0xa ||
                code === 0xd ||
                (code >= 0x20 && code <= 0xd7ff) ||
                (code >= 0xe000 && code <= 0xfffd) ||
                (code >= 0x10000 && code <= 0x10ffff);
            if (!valid) onError(amp, `Character reference &${ref}; names a character XML 1.0 forbids`);
            decoded = String.fromCodePoint(code);
        } else {
            decoded = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
            if (decoded === undefined) onError(amp, `Undeclared entity &${ref};`);
        }
        out += decoded;
        last = semi + 1;
    }
    return out + text.slice(last);
}
