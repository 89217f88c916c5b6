import type { XmlElement } from '../../xml';

/**
 * Source positions for a parsed tree. XmlElement carries none, so the text is scanned once for
 * start tags in document order, skipping comments, CDATA sections, processing instructions, the
 * prolog's declarations and end tags; the k-th start tag is then the k-th element of a pre-order
 * walk of the tree (the parser keeps every element, in order). Each pairing is checked against
 * the element's name; from the first mismatch on, elements get no position rather than a wrong one.
 */

/** Offsets of the start tags in document order. */
export function startTagOffsets(text: string): number[] {
    const out: number[] = [];
    let i = 0;
    for (;;) {
        const lt = text.indexOf('<', i);
        if (lt === -1) return out;
        if (text.startsWith('<!--', lt)) i = past(text, lt + 4, '-->');
        else if (text.startsWith('<![CDATA[', lt)) i = past(text, lt + 9, ']]>');
        else if (text.startsWith('<?', lt)) i = past(text, lt + 2, '?>');
        else if (text[lt + 1] === '!' || text[lt + 1] === '/') i = lt + 2;
        else {
            out.push(lt);
            i = lt + 1;
        }
    }
}

function past(text: string, from: number, terminator: string): number {
    const e = text.indexOf(terminator, from);
    return e === -1 ? text.length : e + terminator.length;
}

/** Offset of each element's start tag in `text`, the source of the tree `root`. */
export function elementOffsets(root: XmlElement, text: string): Map<XmlElement, number> {
    const offsets = startTagOffsets(text);
    const map = new Map<XmlElement, number>();
    const stack: XmlElement[] = [root];
    let k = 0;
    while (stack.length > 0) {
        const e = stack.pop() as XmlElement;
        const at = offsets[k++];
        if (at === undefined || !tagAt(text, at, e.name)) break;
        map.set(e, at);
        const kids = e.elements();
        for (let j = kids.length - 1; j >= 0; j--) stack.push(kids[j] as XmlElement);
    }
    return map;
}

function tagAt(text: string, at: number, name: string): boolean {
    if (!text.startsWith(name, at + 1)) return false;
    const after = text.charCodeAt(at + 1 + name.length);
    // whitespace, '/' or '>' ends the name
    return after === 0x20 || after === 0x09 || after === 0x0a || after === 0x0d || after === 0x2f || after === 0x3e;
}
