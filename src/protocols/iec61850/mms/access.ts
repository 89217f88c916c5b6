import { el, type XmlElement } from '../../xml';
import { DECODER } from './constants';
import { type Data, type DataCodecOptions, decodeDataItem, encodeData, onlyChild } from './data';
import { DATA_ACCESS_ERRORS, MmsError, shown } from './errors';
import {
    booleanElement,
    decodeBoolean,
    decodeInt,
    decodeNamedNumber,
    decodeVisible,
    encodeNamedNumber,
    expectEmpty,
    INTEGER32,
    intElement,
    items,
    required,
    sequence,
    UNSIGNED32_MAX,
    visible,
} from './xer';

/**
 * The MMS types that name and address variables, carry results and describe types (ISO 9506-2
 * ObjectName, VariableAccessSpecification, AlternateAccess, AccessResult, TypeSpecification;
 * wire note §4.2, §5.1-§5.5, §6.1), in XER.
 */

/** Longest MMS Identifier 61850 uses (8-1: item names ≤ 64 characters; wire note §6.1). */
export const MAX_IDENTIFIER = 64;

/** ObjectName (ISO 9506-2 §7.5.1 / note §4.2): one of three scopes. */
export type ObjectName =
    | { scope: 'vmd-specific'; name: string }
    | { scope: 'domain-specific'; domainId: string; itemId: string }
    | { scope: 'aa-specific'; name: string };

/**
 * One step of an alternate access, flattened: 8-1 only nests single selections
 * (selectAlternateAccess → … → selectAccess), so a chain is a list, outermost first.
 */
export type Selector =
    | { component: string }
    | { index: number }
    | { indexRange: { lowIndex: number; numberOfElements: number } }
    | { allElements: true };

/** A listOfVariable item: the variable's name and an optional alternate access. */
export interface VariableSpec {
    name: ObjectName;
    alternateAccess?: Selector[];
}

export type VariableAccessSpecification = { listOfVariable: VariableSpec[] } | { variableListName: ObjectName };

/** AccessResult: the value, or a DataAccessError code (errors.ts DATA_ACCESS_ERRORS). */
export type AccessResult = { success: Data } | { failure: number };

/** TypeSpecification / TypeDescription (ISO 9506-2 §14.1; GetVariableAccessAttributes, note §5.5). */
export type TypeSpecification =
    | { kind: 'structure'; packed?: boolean; components: Array<{ name?: string; type: TypeSpecification }> }
    | { kind: 'array'; packed?: boolean; numberOfElements: number; elementType: TypeSpecification }
    | { kind: 'boolean' }
    /** Bits; negative = variable length up to -size (note §5.5). */
    | { kind: 'bit-string'; size: number }
    | { kind: 'integer'; width: number }
    | { kind: 'unsigned'; width: number }
    | { kind: 'floating-point'; formatWidth: number; exponentWidth: number }
    | { kind: 'octet-string'; size: number }
    | { kind: 'visible-string'; size: number }
    | { kind: 'mMSString'; size: number }
    /** true: 6 octets with date; false: 4 octets. */
    | { kind: 'binary-time'; withDate: boolean }
    | { kind: 'utc-time' };

// ---------------------------------------------------------------------------------------------
// ObjectName

/** The alternative element of an ObjectName (`<domain-specific>…`), to put inside its holder. */
export function encodeObjectName(name: ObjectName): XmlElement {
    if (typeof name !== 'object' || name === null) throw new MmsError('wrong-type', 'ObjectName must be an object');
    switch (name.scope) {
        case 'domain-specific':
            return el(
                'domain-specific',
                {},
                el('domainId', {}, visible('domainId', name.domainId, MAX_IDENTIFIER)),
                el('itemId', {}, visible('itemId', name.itemId, MAX_IDENTIFIER)),
            );
        case 'vmd-specific':
        case 'aa-specific':
            return el(name.scope, {}, visible(name.scope, name.name, MAX_IDENTIFIER));
        default:
            throw new MmsError('wrong-type', `Unknown ObjectName scope ${shown(String((name as ObjectName).scope))}`);
    }
}

/** Reads the ObjectName held by `holder` (`<name>`, `<variableListName>`, `<ObjectName>`…). */
export function decodeObjectNameIn(holder: XmlElement, path: string): ObjectName {
    const alt = onlyChild(holder, path);
    return decodeObjectName(alt, `${path}/${alt.local}`);
}

/** Reads an ObjectName alternative element. */
export function decodeObjectName(alt: XmlElement, path: string): ObjectName {
    switch (alt.local) {
        case 'domain-specific': {
            const parts = sequence(alt, path, [...DECODER.domainIdElements, ...DECODER.itemIdElements]);
            return {
                scope: 'domain-specific',
                domainId: decodeVisible(
                    required(parts, DECODER.domainIdElements, path),
                    `${path}/domainId`,
                    MAX_IDENTIFIER,
                ),
                itemId: decodeVisible(required(parts, DECODER.itemIdElements, path), `${path}/itemId`, MAX_IDENTIFIER),
            };
        }
        case 'vmd-specific':
        case 'aa-specific':
            return { scope: alt.local, name: decodeVisible(alt, path, MAX_IDENTIFIER) };
        default:
            throw new MmsError('unknown-element', `<${alt.local}> is not an ObjectName alternative`, path);
    }
}

// ---------------------------------------------------------------------------------------------
// AlternateAccess (note §6.1: `<alternateAccess><CHOICE><unnamed><selectAccess><index>7</index>…`)

function selection(s: Selector): XmlElement {
    if ('component' in s) return el('component', {}, visible('component', s.component, MAX_IDENTIFIER));
    if ('index' in s) return intElement('index', s.index, 0, UNSIGNED32_MAX);
    if ('indexRange' in s) {
        return el(
            'indexRange',
            {},
            intElement('lowIndex', s.indexRange.lowIndex, 0, UNSIGNED32_MAX),
            intElement('numberOfElements', s.indexRange.numberOfElements, 0, UNSIGNED32_MAX),
        );
    }
    if ('allElements' in s) return el('allElements');
    throw new MmsError('wrong-type', 'Unknown alternate access selector');
}

export function encodeAlternateAccess(chain: readonly Selector[]): XmlElement {
    if (chain.length === 0) throw new MmsError('wrong-type', 'An alternate access needs at least one selector');
    const [first, ...rest] = chain as [Selector, ...Selector[]];
    const inner =
        rest.length === 0
            ? el('selectAccess', {}, selection(first))
            : el('selectAlternateAccess', {}, el('accessSelection', {}, selection(first)), encodeAlternateAccess(rest));
    return el('alternateAccess', {}, el('CHOICE', {}, el('unnamed', {}, inner)));
}

function decodeSelection(alt: XmlElement, path: string): Selector {
    switch (alt.local) {
        case 'component':
            if (alt.text().includes('$')) {
                throw new MmsError('bad-lexical', '$ is not allowed in an alternate access component', path);
            }
            return { component: decodeVisible(alt, path, MAX_IDENTIFIER) };
        case 'index':
            return { index: decodeInt(alt, path, 0, UNSIGNED32_MAX) };
        case 'indexRange': {
            const parts = sequence(alt, path, ['lowIndex', 'numberOfElements']);
            return {
                indexRange: {
                    lowIndex: decodeInt(required(parts, 'lowIndex', path), `${path}/lowIndex`, 0, UNSIGNED32_MAX),
                    numberOfElements: decodeInt(
                        required(parts, 'numberOfElements', path),
                        `${path}/numberOfElements`,
                        0,
                        UNSIGNED32_MAX,
                    ),
                },
            };
        }
        case 'allElements':
            expectEmpty(alt, path);
            return { allElements: true };
        default:
            throw new MmsError('unknown-element', `<${alt.local}> is not an access selection`, path);
    }
}

export function decodeAlternateAccess(element: XmlElement, path: string, depth = 0): Selector[] {
    if (depth > 16) throw new MmsError('too-deep', 'Alternate access is nested deeper than 16 levels', path);
    const choices = items(element, path, 'CHOICE');
    if (choices.length !== 1) {
        throw new MmsError('unsupported', `Alternate access with ${choices.length} selections is not supported`, path);
    }
    const choicePath = `${path}/CHOICE`;
    const alt = onlyChild(choices[0] as XmlElement, choicePath);
    if (alt.local === 'named') throw new MmsError('unsupported', 'Named alternate access is not used by 61850', path);
    if (alt.local !== 'unnamed') throw new MmsError('unknown-element', `<${alt.local}> in alternate access`, path);
    const unnamedPath = `${choicePath}/unnamed`;
    const sel = onlyChild(alt, unnamedPath);
    const selPath = `${unnamedPath}/${sel.local}`;
    if (sel.local === 'selectAccess') {
        const s = onlyChild(sel, selPath);
        return [decodeSelection(s, `${selPath}/${s.local}`)];
    }
    if (sel.local === 'selectAlternateAccess') {
        const parts = sequence(sel, selPath, ['accessSelection', 'alternateAccess']);
        const asel = onlyChild(required(parts, 'accessSelection', selPath), `${selPath}/accessSelection`);
        return [
            decodeSelection(asel, `${selPath}/accessSelection/${asel.local}`),
            ...decodeAlternateAccess(
                required(parts, 'alternateAccess', selPath),
                `${selPath}/alternateAccess`,
                depth + 1,
            ),
        ];
    }
    throw new MmsError('unknown-element', `<${sel.local}> is not an AlternateAccessSelection`, selPath);
}

// ---------------------------------------------------------------------------------------------
// listOfVariable items and VariableAccessSpecification

export function encodeVariableSpec(spec: VariableSpec): XmlElement {
    return el(
        'SEQUENCE',
        {},
        el('variableSpecification', {}, el('name', {}, encodeObjectName(spec.name))),
        spec.alternateAccess?.length ? encodeAlternateAccess(spec.alternateAccess) : null,
    );
}

export function decodeVariableSpec(element: XmlElement, path: string): VariableSpec {
    const parts = sequence(element, path, ['variableSpecification', 'alternateAccess']);
    const vsPath = `${path}/variableSpecification`;
    const vs = onlyChild(required(parts, 'variableSpecification', path), vsPath);
    if (vs.local !== 'name') {
        const known = ['address', 'variableDescription', 'scatteredAccessDescription', 'invalidated'];
        throw new MmsError(
            known.includes(vs.local) ? 'unsupported' : 'unknown-element',
            `variableSpecification <${vs.local}> is not supported; 61850 uses <name>`,
            `${vsPath}/${vs.local}`,
        );
    }
    const out: VariableSpec = { name: decodeObjectNameIn(vs, `${vsPath}/name`) };
    const aa = parts.get('alternateAccess');
    if (aa) out.alternateAccess = decodeAlternateAccess(aa, `${path}/alternateAccess`);
    return out;
}

export function encodeListOfVariable(list: readonly VariableSpec[]): XmlElement {
    if (!Array.isArray(list)) throw new MmsError('wrong-type', 'listOfVariable must be an array');
    return el('listOfVariable', {}, list.map(encodeVariableSpec));
}

export function decodeListOfVariable(element: XmlElement, path: string): VariableSpec[] {
    return items(element, path, 'SEQUENCE').map((s, i) => decodeVariableSpec(s, `${path}/SEQUENCE[${i}]`));
}

/** `<variableAccessSpecification>` with its alternative. */
export function encodeVas(vas: VariableAccessSpecification): XmlElement {
    if (typeof vas !== 'object' || vas === null) {
        throw new MmsError('wrong-type', 'variableAccessSpecification must be an object');
    }
    const inner =
        'listOfVariable' in vas
            ? encodeListOfVariable(vas.listOfVariable)
            : el('variableListName', {}, encodeObjectName(vas.variableListName));
    return el('variableAccessSpecification', {}, inner);
}

export function decodeVas(holder: XmlElement, path: string): VariableAccessSpecification {
    const alt = onlyChild(holder, path);
    const altPath = `${path}/${alt.local}`;
    if (alt.local === 'listOfVariable') return { listOfVariable: decodeListOfVariable(alt, altPath) };
    if (alt.local === 'variableListName') return { variableListName: decodeObjectNameIn(alt, altPath) };
    throw new MmsError('unknown-element', `<${alt.local}> is not a VariableAccessSpecification`, altPath);
}

// ---------------------------------------------------------------------------------------------
// AccessResult

export function encodeAccessResult(result: AccessResult, options?: DataCodecOptions): XmlElement {
    if (typeof result !== 'object' || result === null)
        throw new MmsError('wrong-type', 'AccessResult must be an object');
    if ('failure' in result) {
        return el('AccessResult', {}, encodeNamedNumber('failure', DATA_ACCESS_ERRORS, result.failure));
    }
    return el('AccessResult', {}, el('success', {}, encodeData(result.success, options)));
}

export function decodeAccessResult(element: XmlElement, path: string, options?: DataCodecOptions): AccessResult {
    const alt = onlyChild(element, path);
    const altPath = `${path}/${alt.local}`;
    if (alt.local === 'success') return { success: decodeDataItem(alt, options, altPath) };
    if (alt.local === 'failure') return { failure: decodeNamedNumber(alt, DATA_ACCESS_ERRORS, altPath) };
    throw new MmsError('unknown-element', `<${alt.local}> is not an AccessResult alternative`, altPath);
}

export function encodeListOfAccessResult(list: readonly AccessResult[], options?: DataCodecOptions): XmlElement {
    if (!Array.isArray(list)) throw new MmsError('wrong-type', 'listOfAccessResult must be an array');
    return el(
        'listOfAccessResult',
        {},
        list.map((r) => encodeAccessResult(r, options)),
    );
}

export function decodeListOfAccessResult(
    element: XmlElement,
    path: string,
    options?: DataCodecOptions,
): AccessResult[] {
    return items(element, path, 'AccessResult').map((r, i) =>
        decodeAccessResult(r, `${path}/AccessResult[${i}]`, options),
    );
}

// ---------------------------------------------------------------------------------------------
// TypeSpecification (note §5.5)

const MAX_TYPE_DEPTH = 32;

/** The alternative element of a TypeSpecification, to put inside `typeSpecification`/`componentType`. */
export function encodeTypeSpec(t: TypeSpecification, depth = 1): XmlElement {
    if (depth > MAX_TYPE_DEPTH) throw new MmsError('too-deep', `Type nested deeper than ${MAX_TYPE_DEPTH} levels`);
    switch (t.kind) {
        case 'structure':
            return el(
                'structure',
                {},
                t.packed === undefined ? null : booleanElement('packed', t.packed),
                el(
                    'components',
                    {},
                    t.components.map((c) =>
                        el(
                            'SEQUENCE',
                            {},
                            c.name === undefined
                                ? null
                                : el('componentName', {}, visible('componentName', c.name, MAX_IDENTIFIER)),
                            el('componentType', {}, encodeTypeSpec(c.type, depth + 1)),
                        ),
                    ),
                ),
            );
        case 'array':
            return el(
                'array',
                {},
                t.packed === undefined ? null : booleanElement('packed', t.packed),
                intElement('numberOfElements', t.numberOfElements, 0, UNSIGNED32_MAX),
                el('elementType', {}, encodeTypeSpec(t.elementType, depth + 1)),
            );
        case 'boolean':
        case 'utc-time':
            return el(t.kind);
        case 'bit-string':
        case 'octet-string':
        case 'visible-string':
        case 'mMSString':
            return intElement(t.kind, t.size, INTEGER32.min, INTEGER32.max);
        case 'integer':
        case 'unsigned':
            return intElement(t.kind, t.width, 0, 255);
        case 'floating-point':
            return el(
                'floating-point',
                {},
                intElement('format-width', t.formatWidth, 0, 255),
                intElement('exponent-width', t.exponentWidth, 0, 255),
            );
        case 'binary-time':
            return booleanElement('binary-time', t.withDate);
        default:
            throw new MmsError('wrong-type', `Unknown type kind ${shown(String((t as { kind: unknown }).kind))}`);
    }
}

/** Reads the TypeSpecification held by `holder`; a nested `<typeDescription>` (9506-2:2003) is looked through. */
export function decodeTypeSpecIn(holder: XmlElement, path: string, depth = 1): TypeSpecification {
    let alt = onlyChild(holder, path);
    let altPath = `${path}/${alt.local}`;
    if (alt.local === 'typeDescription') {
        alt = onlyChild(alt, altPath);
        altPath = `${altPath}/${alt.local}`;
    }
    return decodeTypeSpec(alt, altPath, depth);
}

function decodeTypeSpec(alt: XmlElement, path: string, depth: number): TypeSpecification {
    if (depth > MAX_TYPE_DEPTH)
        throw new MmsError('too-deep', `Type nested deeper than ${MAX_TYPE_DEPTH} levels`, path);
    switch (alt.local) {
        case 'structure': {
            const parts = sequence(alt, path, ['packed', 'components']);
            const cPath = `${path}/components`;
            const components = items(required(parts, 'components', path), cPath, 'SEQUENCE').map((s, i) => {
                const sPath = `${cPath}/SEQUENCE[${i}]`;
                const sp = sequence(s, sPath, ['componentName', 'componentType']);
                const name = sp.get('componentName');
                const type = decodeTypeSpecIn(
                    required(sp, 'componentType', sPath),
                    `${sPath}/componentType`,
                    depth + 1,
                );
                return name ? { name: decodeVisible(name, `${sPath}/componentName`, MAX_IDENTIFIER), type } : { type };
            });
            const packed = parts.get('packed');
            return packed
                ? { kind: 'structure', packed: decodeBoolean(packed, `${path}/packed`), components }
                : { kind: 'structure', components };
        }
        case 'array': {
            const parts = sequence(alt, path, ['packed', 'numberOfElements', 'elementType']);
            const out: TypeSpecification = {
                kind: 'array',
                numberOfElements: decodeInt(
                    required(parts, 'numberOfElements', path),
                    `${path}/numberOfElements`,
                    0,
                    UNSIGNED32_MAX,
                ),
                elementType: decodeTypeSpecIn(required(parts, 'elementType', path), `${path}/elementType`, depth + 1),
            };
            const packed = parts.get('packed');
            if (packed) out.packed = decodeBoolean(packed, `${path}/packed`);
            return out;
        }
        case 'boolean':
        case 'utc-time':
            expectEmpty(alt, path);
            return { kind: alt.local };
        case 'bit-string':
        case 'octet-string':
        case 'visible-string':
        case 'mMSString':
            return { kind: alt.local, size: decodeInt(alt, path, INTEGER32.min, INTEGER32.max) };
        case 'integer':
        case 'unsigned':
            return { kind: alt.local, width: decodeInt(alt, path, 0, 255) };
        case 'floating-point': {
            const parts = sequence(alt, path, ['format-width', 'exponent-width']);
            return {
                kind: 'floating-point',
                formatWidth: decodeInt(required(parts, 'format-width', path), `${path}/format-width`, 0, 255),
                exponentWidth: decodeInt(required(parts, 'exponent-width', path), `${path}/exponent-width`, 0, 255),
            };
        }
        case 'binary-time':
            return { kind: 'binary-time', withDate: decodeBoolean(alt, path) };
        case 'typeName':
        case 'generalized-time':
        case 'bcd':
        case 'objId':
            throw new MmsError('unsupported', `Type <${alt.local}> is not used by IEC 61850`, path);
        default:
            throw new MmsError('unknown-element', `<${alt.local}> is not a TypeSpecification alternative`, path);
    }
}
