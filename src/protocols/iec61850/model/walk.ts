import type { Fc } from './fc';
import type { ObjectReference, PathElement } from './reference';
import type { DataAttribute, DataObject, Server } from './types';

/**
 * Every addressable node of a model as an object reference: each LN, each functionally
 * constrained DO/SDO (FCD, one per FC its attributes carry), each DA and BDA (FCDA), and each
 * element of an array DA (with its members below). Used to prove the MMS round trip.
 */
export function allReferences(server: Server): ObjectReference[] {
    const out: ObjectReference[] = [];
    for (const ld of server.logicalDevices) {
        for (const ln of ld.logicalNodes) {
            out.push({ ld: ld.name, ln: ln.name, path: [] });
            for (const dobj of ln.dataObjects)
                walkDo(dobj, [], (path, fc) => out.push({ ld: ld.name, ln: ln.name, path, fc }));
        }
    }
    return out;
}

type Emit = (path: PathElement[], fc: Fc) => void;

function fcsOf(node: DataObject | DataAttribute, into = new Set<Fc>()): Set<Fc> {
    if (node.kind === 'DA') into.add(node.fc);
    else for (const c of node.children) fcsOf(c, into);
    return into;
}

function walkDo(dobj: DataObject, parent: PathElement[], emit: Emit): void {
    const path = [...parent, { name: dobj.name }];
    for (const fc of fcsOf(dobj)) emit(path, fc);
    for (const child of dobj.children) {
        if (child.kind === 'DO') walkDo(child, path, emit);
        else walkDa(child, path, emit);
    }
}

function walkDa(da: DataAttribute, parent: PathElement[], emit: Emit): void {
    const path = [...parent, { name: da.name }];
    emit(path, da.fc);
    if (da.count === undefined) {
        for (const c of da.children ?? []) walkDa(c, path, emit);
        return;
    }
    for (let i = 0; i < da.count; i++) {
        const element = [...parent, { name: da.name, index: i }];
        emit(element, da.fc);
        for (const c of da.children ?? []) walkDa(c, element, emit);
    }
}
