import type { ObjectName, VariableSpec } from '../mms/access';
import { badInput } from './errors';
import { type Fc, parseFc } from './fc';

/**
 * Object references (IEC 61850-7-2 `LD/LN.DO.DA[FC]`) and their 8-1 MMS names, which 8-2 reuses
 * (../shared/design/iec61850-8-2-wire.md §6.1): domainId = LD name, itemId = `LN$FC$DO$DA…`,
 * at most 64 characters; array elements are selected with MMS alternateAccess, never inside
 * the itemId (`$` and parentheses are not MMS identifier characters).
 */

/** MMS Identifier length used by 61850 for domain and item names (8-1, wire note §6.1). */
export const MAX_NAME = 64;
/** Largest array index accepted (MMS Unsigned32 as 8-1 restricts it: 0..2^31-1). */
export const MAX_INDEX = 2 ** 31 - 1;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const LN_NAME = /^(?:LLN0|([A-Za-z][A-Za-z0-9_]*)?([A-Z]{4})([0-9]{1,12}))$/;

/** One step below the LN: a DO, SDO, DA or BDA name, with an array index when it selects an element. */
export interface PathElement {
    name: string;
    index?: number;
}

export interface ObjectReference {
    ld: string;
    ln: string;
    /** DO [SDO…] [DA [BDA…]], possibly empty (the LN itself). */
    path: PathElement[];
    fc?: Fc;
}

/** One alternateAccess selector (ISO 9506 AlternateAccessSelection, as 8-1 uses it). */
export type AccessSelector = { index: number } | { component: string };

/** A domain-specific MMS variable name with optional alternate access. */
export interface MmsAddress {
    domainId: string;
    itemId: string;
    alternateAccess?: AccessSelector[];
}

export interface LnName {
    prefix: string;
    lnClass: string;
    inst: string;
}

/** Checks an LD name (MMS domain): 1-64 characters, a letter first, then letters, digits, `_`. */
export function checkLdName(name: string): string {
    if (name === '') throw badInput('empty', 'empty logical device name');
    if (name.length > MAX_NAME) throw badInput('too-long', `logical device name longer than ${MAX_NAME}`, name);
    if (!LD_NAME.test(name)) throw badInput('bad-char', 'logical device name must match [A-Za-z][A-Za-z0-9_]*', name);
    return name;
}

/** Splits an LN name into prefix + class (4 capitals) + instance (digits); LLN0 has no prefix or instance. */
export function parseLnName(name: string): LnName {
    if (name === '') throw badInput('empty', 'empty logical node name');
    if (name.length > MAX_NAME) throw badInput('too-long', `logical node name longer than ${MAX_NAME}`, name);
    const m = LN_NAME.exec(name);
    if (!m) throw badInput('syntax', 'logical node name must be prefix + 4-letter class + instance, or LLN0', name);
    if (name === 'LLN0') return { prefix: '', lnClass: 'LLN0', inst: '' };
    return { prefix: m[1] ?? '', lnClass: m[2] as string, inst: m[3] as string };
}

export function formatLnName(parts: LnName): string {
    const name = `${parts.prefix}${parts.lnClass}${parts.inst}`;
    parseLnName(name);
    return name;
}

function checkIdent(name: string, what: string, input: string): void {
    if (name === '') throw badInput('empty', `empty ${what} name in`, input);
    if (!IDENT.test(name)) throw badInput('bad-char', `${what} name must match [A-Za-z_][A-Za-z0-9_]*`, input);
}

function parseIndex(digits: string, input: string): number {
    if (!/^(0|[1-9][0-9]*)$/.test(digits)) throw badInput('syntax', 'array index must be a decimal number', input);
    const n = Number(digits);
    if (n > MAX_INDEX) throw badInput('out-of-range', `array index above ${MAX_INDEX}`, input);
    return n;
}

function parsePathElement(text: string, input: string): PathElement {
    const open = text.indexOf('(');
    if (open < 0) {
        checkIdent(text, 'data', input);
        return { name: text };
    }
    if (!text.endsWith(')')) throw badInput('syntax', 'unterminated array index', input);
    const name = text.slice(0, open);
    checkIdent(name, 'data', input);
    return { name, index: parseIndex(text.slice(open + 1, -1), input) };
}

/**
 * Parses `LD/LN[.DO[.SDO…][.DA[.BDA…]]][FC]`, with array elements written `DA(3)` and the FC in
 * brackets (a space before the bracket is accepted, as 7-2 examples write it).
 */
export function parseReference(text: string): ObjectReference {
    if (text.length > 4 * MAX_NAME + 8) throw badInput('too-long', 'object reference too long', text);
    let body = text;
    let fc: Fc | undefined;
    const bracket = text.indexOf('[');
    if (bracket >= 0) {
        if (!text.endsWith(']')) throw badInput('syntax', 'functional constraint must end the reference', text);
        const fcText = text.slice(bracket + 1, -1);
        if (fcText === '') throw badInput('missing-fc', 'empty functional constraint in', text);
        fc = parseFc(fcText);
        body = text.slice(0, bracket).replace(/ $/, '');
    }
    const slash = body.indexOf('/');
    if (slash < 0) throw badInput('syntax', "object reference needs 'LD/LN'", text);
    const ld = checkLdName(body.slice(0, slash));
    const parts = body.slice(slash + 1).split('.');
    const ln = parts.shift() as string;
    parseLnName(ln);
    const path = parts.map((p) => parsePathElement(p, text));
    return fc === undefined ? { ld, ln, path } : { ld, ln, path, fc };
}

export function formatReference(ref: ObjectReference): string {
    checkLdName(ref.ld);
    parseLnName(ref.ln);
    let out = `${ref.ld}/${ref.ln}`;
    for (const p of ref.path) {
        checkIdent(p.name, 'data', p.name);
        out += p.index === undefined ? `.${p.name}` : `.${p.name}(${checkIndex(p.index)})`;
    }
    return ref.fc === undefined ? out : `${out}[${ref.fc}]`;
}

function checkIndex(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > MAX_INDEX)
        throw badInput('out-of-range', 'array index must be an integer 0..2^31-1', String(n));
    return n;
}

function checkItem(itemId: string): string {
    if (itemId.length > MAX_NAME)
        throw badInput('too-long', `MMS itemId is ${itemId.length} characters, the limit is ${MAX_NAME}`, itemId);
    return itemId;
}

/**
 * The MMS name of a reference: itemId up to and including the first array, the rest as
 * alternateAccess (index, then component names and further indices). Needs the FC unless the
 * reference is the LN itself.
 */
export function toMms(ref: ObjectReference): MmsAddress {
    checkLdName(ref.ld);
    parseLnName(ref.ln);
    if (ref.fc === undefined) {
        if (ref.path.length > 0)
            throw badInput('missing-fc', 'a reference below the LN needs an FC', formatReference(ref));
        return { domainId: ref.ld, itemId: ref.ln };
    }
    const item = [ref.ln, ref.fc];
    const access: AccessSelector[] = [];
    for (const p of ref.path) {
        checkIdent(p.name, 'data', p.name);
        if (access.length === 0) item.push(p.name);
        else access.push({ component: p.name });
        if (p.index !== undefined) access.push({ index: checkIndex(p.index) });
    }
    const itemId = checkItem(item.join('$'));
    return access.length === 0 ? { domainId: ref.ld, itemId } : { domainId: ref.ld, itemId, alternateAccess: access };
}

/** The reference an MMS name denotes; the inverse of toMms. */
export function fromMms(address: MmsAddress): ObjectReference {
    const ld = checkLdName(address.domainId);
    const itemId = checkItem(address.itemId);
    const parts = itemId.split('$');
    const ln = parts[0] as string;
    parseLnName(ln);
    if (parts.length === 1) {
        if (address.alternateAccess?.length) throw badInput('syntax', 'alternate access on a whole LN', itemId);
        return { ld, ln, path: [] };
    }
    const fc = parseFc(parts[1] as string);
    const path: PathElement[] = parts.slice(2).map((name) => {
        checkIdent(name, 'data', itemId);
        return { name };
    });
    const access = address.alternateAccess ?? [];
    if (access.length > 0) {
        if (path.length === 0) throw badInput('syntax', 'alternate access needs a data name in the itemId', itemId);
        if (!('index' in access[0]!))
            throw badInput('syntax', 'alternate access must start with an array index', itemId);
    }
    for (const sel of access) {
        if ('index' in sel) {
            const last = path[path.length - 1] as PathElement;
            if (last.index !== undefined) throw badInput('syntax', 'two indices in a row (arrays of arrays)', itemId);
            last.index = checkIndex(sel.index);
        } else {
            checkIdent(sel.component, 'component', sel.component);
            path.push({ name: sel.component });
        }
    }
    return { ld, ln, path, fc };
}

/**
 * The textual MMS form used in reports and logs (DataRef, wire note §6.1): `LD/LN$FC$DO$DA`.
 * Array elements have no text form here (8-1 addresses them with alternateAccess).
 */
export function formatMmsReference(address: MmsAddress): string {
    if (address.alternateAccess?.length)
        throw badInput('syntax', 'an MMS reference with alternate access has no text form', address.itemId);
    return `${checkLdName(address.domainId)}/${checkItem(address.itemId)}`;
}

export function parseMmsReference(text: string): MmsAddress {
    const slash = text.indexOf('/');
    if (slash < 0) throw badInput('syntax', "MMS reference needs 'LD/item'", text);
    const address = { domainId: text.slice(0, slash), itemId: text.slice(slash + 1) };
    fromMms(address);
    return address;
}

// ---------------------------------------------------------------------------------------------
// Data sets, control blocks, journals (wire note §6.1)

export type DataSetRef =
    | { persistent: true; ld: string; ln: string; name: string }
    | { persistent: false; name: string };

/** Parses `LD/LN$DSName` (also `LD/LN.DSName`, the 7-2 form) or a non-persistent `@name`. */
export function parseDataSetRef(text: string): DataSetRef {
    if (text.startsWith('@')) {
        const name = text.slice(1);
        checkIdent(name, 'data set', text);
        if (text.length > MAX_NAME) throw badInput('too-long', `data set name longer than ${MAX_NAME}`, text);
        return { persistent: false, name };
    }
    const slash = text.indexOf('/');
    if (slash < 0) throw badInput('syntax', "data set reference needs 'LD/LN$name' or '@name'", text);
    const ld = checkLdName(text.slice(0, slash));
    const rest = text.slice(slash + 1);
    const sep = rest.search(/[$.]/);
    if (sep < 0) throw badInput('syntax', "data set reference needs 'LN$name'", text);
    const ln = rest.slice(0, sep);
    parseLnName(ln);
    const name = rest.slice(sep + 1);
    checkIdent(name, 'data set', text);
    checkItem(`${ln}$${name}`);
    return { persistent: true, ld, ln, name };
}

/** The 8-1 text form: `LD/LN$name` or `@name` (DatSet values in RCBs and reports). */
export function formatDataSetRef(ref: DataSetRef): string {
    if (!ref.persistent) return `@${ref.name}`;
    return formatMmsReference(dataSetToMms(ref) as MmsAddress);
}

/** The MMS named variable list name: domain-specific for persistent sets, aa-specific `@name` otherwise. */
export function dataSetToMms(ref: DataSetRef): MmsAddress | { aaSpecific: string } {
    if (!ref.persistent) {
        checkIdent(ref.name, 'data set', ref.name);
        return { aaSpecific: checkItem(`@${ref.name}`) };
    }
    checkLdName(ref.ld);
    parseLnName(ref.ln);
    checkIdent(ref.name, 'data set', ref.name);
    return { domainId: ref.ld, itemId: checkItem(`${ref.ln}$${ref.name}`) };
}

/** Control block classes and the FC that names them in MMS (7-2 classes, 8-1 mapping). */
export const CONTROL_BLOCKS = Object.freeze({
    BRCB: 'BR',
    URCB: 'RP',
    LCB: 'LG',
    GoCB: 'GO',
    MSVCB: 'MS',
    USVCB: 'US',
    SGCB: 'SP',
} as const satisfies Record<string, Fc>);
export type ControlBlockClass = keyof typeof CONTROL_BLOCKS;

export interface ControlBlockRef {
    ld: string;
    ln: string;
    cbClass: ControlBlockClass;
    name: string;
}

/** `LLN0$BR$brcbHP01`, `LLN0$RP$urcbHP01`, `LLN0$LG$lcb01`, `LLN0$SP$SGCB` (SGCB: always LLN0, name SGCB). */
export function controlBlockToMms(cb: ControlBlockRef): MmsAddress {
    checkLdName(cb.ld);
    parseLnName(cb.ln);
    if (!Object.hasOwn(CONTROL_BLOCKS, cb.cbClass))
        throw badInput('syntax', 'unknown control block class', String(cb.cbClass));
    checkIdent(cb.name, 'control block', cb.name);
    if (cb.cbClass === 'SGCB' && (cb.ln !== 'LLN0' || cb.name !== 'SGCB'))
        throw badInput('syntax', 'the setting group control block is LLN0$SP$SGCB', `${cb.ln}$SP$${cb.name}`);
    return { domainId: cb.ld, itemId: checkItem(`${cb.ln}$${CONTROL_BLOCKS[cb.cbClass]}$${cb.name}`) };
}

/** Reads a control block name back; `SP` names only the SGCB (other SP items are data). */
export function controlBlockFromMms(address: MmsAddress): ControlBlockRef {
    const ld = checkLdName(address.domainId);
    const parts = checkItem(address.itemId).split('$');
    if (parts.length !== 3) throw badInput('syntax', 'a control block name is LN$FC$name', address.itemId);
    const [ln, fc, name] = parts as [string, string, string];
    parseLnName(ln);
    checkIdent(name, 'control block', address.itemId);
    const cbClass = (Object.keys(CONTROL_BLOCKS) as ControlBlockClass[]).find((k) => CONTROL_BLOCKS[k] === fc);
    if (!cbClass || (cbClass === 'SGCB' && (ln !== 'LLN0' || name !== 'SGCB')))
        throw badInput('syntax', 'not a control block name', address.itemId);
    return { ld, ln, cbClass, name };
}

/** Indexed RCB instance names (`brcbHP` + 1 → `brcbHP01`), instances 01..99. */
export function rcbInstanceName(base: string, index: number): string {
    if (!Number.isInteger(index) || index < 1 || index > 99)
        throw badInput('out-of-range', 'RCB instance index must be 1..99', String(index));
    return `${base}${String(index).padStart(2, '0')}`;
}

/** Journal (log) name: domain-specific `LN$LogName` in the LD domain (wire note §5, §6.1). */
export function journalToMms(ld: string, ln: string, logName: string): MmsAddress {
    checkLdName(ld);
    parseLnName(ln);
    checkIdent(logName, 'log', logName);
    return { domainId: ld, itemId: checkItem(`${ln}$${logName}`) };
}

// ---------------------------------------------------------------------------------------------
// MMS names as ACSI text (what the flow sees of a data set and its members)

/** ACSI reference of a named variable list: `LD/LN.Name`, or `@Name` for the aa-specific scope. */
export function dataSetReference(name: ObjectName): string {
    if (name.scope === 'domain-specific') {
        const [ln, ...rest] = name.itemId.split('$');
        return `${name.domainId}/${ln}.${rest.join('$')}`;
    }
    return name.name.startsWith('@') ? name.name : `@${name.name}`;
}

/** The MMS name of a data set reference (`LD/LN.Name`, `LD/LN$Name` or `@Name`). */
export function dataSetObjectName(text: string): ObjectName {
    const ref = parseDataSetRef(text);
    const m = dataSetToMms(ref);
    return 'aaSpecific' in m
        ? { scope: 'aa-specific', name: m.aaSpecific }
        : { scope: 'domain-specific', domainId: m.domainId, itemId: m.itemId };
}

/** `LD/LN.DO.DA[FC]` of a domain-specific variable with its alternate access (index as `(n)`). */
export function memberReference(spec: VariableSpec): string {
    const n = spec.name;
    if (n.scope !== 'domain-specific') return n.name;
    const [ln, fc, ...path] = n.itemId.split('$');
    let text = `${n.domainId}/${ln}${path.map((p) => `.${p}`).join('')}`;
    for (const s of spec.alternateAccess ?? []) {
        if ('component' in s) text += `.${s.component}`;
        else if ('index' in s) text += `(${s.index})`;
    }
    return fc === undefined ? text : `${text}[${fc}]`;
}

/** The MMS variable of an ACSI reference with FC (`LD/LN.DO.DA[FC]`, `LD/LN` or `LD/LN[FC]`). */
export function variableSpecOf(text: string): VariableSpec {
    const ref = parseReference(text);
    const a: MmsAddress =
        ref.fc !== undefined && ref.path.length === 0
            ? { domainId: ref.ld, itemId: `${ref.ln}$${ref.fc}` }
            : toMms(ref);
    const spec: VariableSpec = { name: { scope: 'domain-specific', domainId: a.domainId, itemId: a.itemId } };
    if (a.alternateAccess?.length) spec.alternateAccess = a.alternateAccess;
    return spec;
}
