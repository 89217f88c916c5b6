import { parseXml, type XmlElement, XmlError } from '../xml';
import { Lwm2mError } from './errors';
import type { ResourceType } from './tlv';

/**
 * Object definitions (OMA DDF XML, schema LWM2M-v1_1.xsd): the built-in table (objects.ts) and a
 * loader for further DDF files a user adds. Only what the protocol needs is kept: IDs, names,
 * operations, multiplicity, mandatory, type, range and units.
 */

export type Operations = '' | 'R' | 'W' | 'RW' | 'E';

export interface ResourceDefinition {
    id: number;
    name: string;
    operations: Operations;
    multiple: boolean;
    mandatory: boolean;
    type: ResourceType;
    /** RangeEnumeration text, when the definition gives one. */
    range?: string;
    units?: string;
}

export interface ObjectDefinition {
    id: number;
    name: string;
    urn: string;
    /** ObjectVersion (1.0 when absent). */
    version: string;
    lwm2mVersion: string;
    multiple: boolean;
    mandatory: boolean;
    resources: ResourceDefinition[];
}

/** DDF <Type> texts (LWM2M-v1_1.xsd typeType) and the codec type each maps to; empty = Execute. */
export const DDF_TYPES: Readonly<Record<string, ResourceType>> = Object.freeze({
    String: 'string',
    Integer: 'integer',
    'Unsigned Integer': 'unsigned',
    Float: 'float',
    Boolean: 'boolean',
    Opaque: 'opaque',
    Time: 'time',
    Objlnk: 'objlnk',
    Corelnk: 'corelnk',
    '': 'none',
});

const OPERATIONS = new Set<Operations>(['', 'R', 'W', 'RW', 'E']);

function text(parent: XmlElement, name: string, where: string, required = true): string {
    const e = parent.child(name);
    if (!e) {
        if (required) throw new Lwm2mError('malformed', `${where}: <${name}> is missing`);
        return '';
    }
    return e.text().trim();
}

function id(value: string, where: string): number {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(value) || Number(value) > 65534)
        throw new Lwm2mError('malformed', `${where}: '${value}' is not an ID of 0..65534`);
    return Number(value);
}

function multiplicity(value: string, where: string): boolean {
    if (value === 'Multiple') return true;
    if (value === 'Single') return false;
    throw new Lwm2mError('malformed', `${where}: MultipleInstances '${value}' is not Single or Multiple`);
}

function mandatory(value: string, where: string): boolean {
    if (value === 'Mandatory') return true;
    if (value === 'Optional') return false;
    throw new Lwm2mError('malformed', `${where}: Mandatory '${value}' is not Mandatory or Optional`);
}

/** Reads one DDF XML document (one object), refusing what does not follow the schema's shape. */
export function parseDdf(xml: string | Uint8Array): ObjectDefinition {
    let root: XmlElement;
    try {
        root = parseXml(xml, { maxBytes: 2 * 1024 * 1024, maxDepth: 16 });
    } catch (err) {
        if (err instanceof XmlError) throw new Lwm2mError('malformed', `DDF is not well-formed XML: ${err.message}`);
        throw err;
    }
    if (root.local !== 'LWM2M')
        throw new Lwm2mError('malformed', `a DDF file has <LWM2M> at its root, not <${root.local}>`);
    const objects = root.childrenNamed('Object');
    if (objects.length !== 1)
        throw new Lwm2mError('malformed', `a DDF file defines one <Object>, not ${objects.length}`);
    const o = objects[0] as XmlElement;
    const objectId = id(text(o, 'ObjectID', 'Object'), 'ObjectID');
    const where = `object ${objectId}`;
    const resourcesEl = o.child('Resources');
    if (!resourcesEl) throw new Lwm2mError('malformed', `${where}: <Resources> is missing`);
    const seen = new Set<number>();
    const resources = resourcesEl.childrenNamed('Item').map((item) => {
        const rid = id(item.attr('ID') ?? '', `${where} Item ID`);
        const w = `${where} resource ${rid}`;
        if (seen.has(rid)) throw new Lwm2mError('malformed', `${w} is defined twice`);
        seen.add(rid);
        const ops = text(item, 'Operations', w) as Operations;
        if (!OPERATIONS.has(ops))
            throw new Lwm2mError('malformed', `${w}: Operations '${ops}' is not R, W, RW, E or empty`);
        const typeText = text(item, 'Type', w);
        const type = DDF_TYPES[typeText];
        if (type === undefined) throw new Lwm2mError('malformed', `${w}: Type '${typeText}' is unknown`);
        const r: ResourceDefinition = {
            id: rid,
            name: text(item, 'Name', w),
            operations: ops,
            multiple: multiplicity(text(item, 'MultipleInstances', w), w),
            mandatory: mandatory(text(item, 'Mandatory', w), w),
            type,
        };
        const range = text(item, 'RangeEnumeration', w, false);
        if (range) r.range = range;
        const units = text(item, 'Units', w, false);
        if (units) r.units = units;
        return r;
    });
    return {
        id: objectId,
        name: text(o, 'Name', where),
        urn: text(o, 'ObjectURN', where),
        version: text(o, 'ObjectVersion', where, false) || '1.0',
        lwm2mVersion: text(o, 'LWM2MVersion', where, false) || '1.0',
        multiple: multiplicity(text(o, 'MultipleInstances', where), where),
        mandatory: mandatory(text(o, 'Mandatory', where), where),
        resources,
    };
}
