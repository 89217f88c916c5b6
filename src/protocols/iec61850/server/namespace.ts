import type { TypeSpecification } from '../mms/access';
import type { Data } from '../mms/data';
import { type Fc, sortFcs } from '../model/fc';
import type { DataAttribute, DataObject, LogicalDevice, LogicalNode, Server, Value } from '../model/types';
import { carries, defaultValue, typeSpecOf, valueToData } from '../model/values';

/**
 * The MMS name space of one IED model as 8-1 builds it and 8-2 reuses (wire note §6.1): each LD
 * a domain; each LN one named variable whose components are its FCs in 8-1 order; below them
 * `LN$FC$DO[$SDO]$DA[$BDA]`. The index is built once per model and shared by every server that
 * hosts the model (the fleet case): values live outside it, in each server's ValueStore.
 */

/** A resolved MMS variable: an LN, an LN's FC component, or a DO/SDO/DA/BDA under an FC. */
export interface Target {
    ld: LogicalDevice;
    ln: LogicalNode;
    fc?: Fc;
    /** DO, SDOs, DA, BDAs from the LN down; empty for the LN and the FC component. */
    path: Array<DataObject | DataAttribute>;
    itemId: string;
    /** The ACSI reference with FC (`LD/LN.DO.DA[FC]`), or `LD/LN` for the LN. */
    reference: string;
    type: TypeSpecification;
}

export interface DomainIndex {
    ld: LogicalDevice;
    /** Every named variable of the domain, in model order (GetNameList namedVariable). */
    names: string[];
    targets: Map<string, Target>;
    /** Position of each name in `names` (continueAfter). */
    position: Map<string, number>;
}

export interface ModelIndex {
    domains: Map<string, DomainIndex>;
    /** Domain names in model order. */
    domainNames: string[];
}

const cache = new WeakMap<Server, ModelIndex>();

function fcsOf(node: DataObject | DataAttribute, into = new Set<Fc>()): Set<Fc> {
    if (node.kind === 'DA') into.add(node.fc);
    else for (const c of node.children) fcsOf(c, into);
    return into;
}

/** The FCs an LN carries, in 8-1 order. */
export function lnFcs(ln: LogicalNode): Fc[] {
    const all = new Set<Fc>();
    for (const d of ln.dataObjects) fcsOf(d, all);
    return sortFcs(all);
}

function fcType(ln: LogicalNode, fc: Fc): TypeSpecification {
    return {
        kind: 'structure',
        components: ln.dataObjects
            .filter((d) => carries(d, fc))
            .map((d) => ({ name: d.name, type: typeSpecOf(d, fc) })),
    };
}

/** Builds (once per model) the name index of every domain. */
export function indexModel(server: Server): ModelIndex {
    const known = cache.get(server);
    if (known) return known;
    const domains = new Map<string, DomainIndex>();
    for (const ld of server.logicalDevices) {
        const names: string[] = [];
        const targets = new Map<string, Target>();
        const add = (t: Target) => {
            names.push(t.itemId);
            targets.set(t.itemId, t);
        };
        for (const ln of ld.logicalNodes) {
            const fcs = lnFcs(ln);
            const fcTypes = fcs.map((fc) => ({ fc, type: fcType(ln, fc) }));
            add({
                ld,
                ln,
                path: [],
                itemId: ln.name,
                reference: `${ld.name}/${ln.name}`,
                type: { kind: 'structure', components: fcTypes.map((f) => ({ name: f.fc, type: f.type })) },
            });
            for (const { fc, type } of fcTypes) {
                const fcItem = `${ln.name}$${fc}`;
                add({ ld, ln, fc, path: [], itemId: fcItem, reference: `${ld.name}/${ln.name}[${fc}]`, type });
                const walk = (node: DataObject | DataAttribute, parents: Array<DataObject | DataAttribute>) => {
                    if (!carries(node, fc)) return;
                    const path = [...parents, node];
                    const itemId = `${fcItem}$${path.map((p) => p.name).join('$')}`;
                    const reference = `${ld.name}/${ln.name}.${path.map((p) => p.name).join('.')}[${fc}]`;
                    add({ ld, ln, fc, path, itemId, reference, type: typeSpecOf(node, fc) });
                    // Below an array, elements are reached by alternate access, not by name.
                    if (node.count !== undefined) return;
                    const kids = node.kind === 'DO' ? node.children : (node.children ?? []);
                    for (const k of kids) walk(k, path);
                };
                for (const d of ln.dataObjects) walk(d, []);
            }
        }
        domains.set(ld.name, { ld, names, targets, position: new Map(names.map((n, i) => [n, i])) });
    }
    const index = { domains, domainNames: server.logicalDevices.map((l) => l.name) };
    cache.set(server, index);
    return index;
}

/**
 * The values of one server: a value set by the flow or a client overrides the model's
 * (configured Val or default). The model itself is never changed, so many servers can share it.
 */
export class ValueStore {
    readonly #values = new Map<DataAttribute, Value>();

    /** A structure (not an array of them) keeps its value in its members, so each member can change alone. */
    #composite(da: DataAttribute): boolean {
        return da.type === 'Struct' && da.count === undefined;
    }

    get(da: DataAttribute): Value {
        if (this.#composite(da)) return Object.fromEntries((da.children ?? []).map((c) => [c.name, this.get(c)]));
        return this.#values.get(da) ?? da.value ?? defaultValue(da);
    }

    set(da: DataAttribute, value: Value): void {
        if (this.#composite(da)) {
            const members = value as Record<string, Value>;
            for (const c of da.children ?? []) if (members[c.name] !== undefined) this.set(c, members[c.name] as Value);
            return;
        }
        this.#values.set(da, value);
    }

    /** MMS Data of a DA. */
    daData(da: DataAttribute): Data {
        if (this.#composite(da))
            return { kind: 'structure', components: (da.children ?? []).map((c) => this.daData(c)) };
        return valueToData(da, this.get(da));
    }

    /** MMS Data of a DO/SDO restricted to `fc` (its FCD). */
    fcdData(node: DataObject, fc: Fc): Data {
        const one = (): Data => ({
            kind: 'structure',
            components: node.children
                .filter((c) => carries(c, fc))
                .map((c) => (c.kind === 'DO' ? this.fcdData(c, fc) : this.daData(c))),
        });
        return node.count === undefined ? one() : { kind: 'array', elements: Array.from({ length: node.count }, one) };
    }

    /** MMS Data of a resolved variable. */
    data(t: Target): Data {
        const last = t.path[t.path.length - 1];
        if (last) return last.kind === 'DA' ? this.daData(last) : this.fcdData(last, t.fc as Fc);
        if (t.fc) {
            const fc = t.fc;
            return {
                kind: 'structure',
                components: t.ln.dataObjects.filter((d) => carries(d, fc)).map((d) => this.fcdData(d, fc)),
            };
        }
        return {
            kind: 'structure',
            components: lnFcs(t.ln).map((fc) => ({
                kind: 'structure',
                components: t.ln.dataObjects.filter((d) => carries(d, fc)).map((d) => this.fcdData(d, fc)),
            })),
        };
    }
}

/**
 * The DAs (with the part of `data` each gets) that writing `data` to `node` under `fc` touches,
 * in model order; throws `type` when the Data does not have the variable's shape.
 */
export function leavesOf(
    node: DataObject | DataAttribute,
    fc: Fc,
    data: Data,
    out: Array<{ da: DataAttribute; data: Data }> = [],
): Array<{ da: DataAttribute; data: Data }> {
    if (node.kind === 'DA') {
        out.push({ da: node, data });
        return out;
    }
    if (node.count !== undefined) throw new ShapeError(`${node.name} is an array of data objects`);
    const kids = node.children.filter((c) => carries(c, fc));
    if (data.kind !== 'structure' || data.components.length !== kids.length)
        throw new ShapeError(`${node.name} needs a structure of ${kids.length} components`);
    kids.forEach((k, i) => {
        leavesOf(k, fc, data.components[i] as Data, out);
    });
    return out;
}

/** Leaves of a whole FC component or LN. */
export function targetLeaves(t: Target, data: Data): Array<{ da: DataAttribute; data: Data }> {
    const last = t.path[t.path.length - 1];
    if (last) return leavesOf(last, t.fc as Fc, data);
    const fcs = t.fc ? [t.fc] : lnFcs(t.ln);
    const perFc = t.fc ? [data] : data.kind === 'structure' ? data.components : [];
    if (perFc.length !== fcs.length) throw new ShapeError(`${t.ln.name} needs one structure per FC`);
    const out: Array<{ da: DataAttribute; data: Data }> = [];
    fcs.forEach((fc, i) => {
        const d = perFc[i] as Data;
        const dos = t.ln.dataObjects.filter((o) => carries(o, fc));
        if (d.kind !== 'structure' || d.components.length !== dos.length)
            throw new ShapeError(`${t.ln.name}$${fc} needs a structure of ${dos.length} data objects`);
        dos.forEach((o, j) => {
            leavesOf(o, fc, d.components[j] as Data, out);
        });
    });
    return out;
}

/** Data that does not have the shape of the variable written (DataAccessError type-inconsistent). */
export class ShapeError extends Error {}
