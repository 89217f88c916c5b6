import type { ObjectName, Selector, VariableSpec } from '../mms/access';

export { dataSetReference, memberReference };

import { dataSetReference, memberReference, toMms } from '../model/reference';
import type { Server } from '../model/types';

/**
 * The data sets of a server (7-2 §13; 8-1 named variable lists, wire note §6.1): persistent ones
 * (domain-specific `LN$Name`, from the SCL or created by clients) and non-persistent ones
 * (aa-specific `@Name`, one set per association, gone with it).
 */

export interface DataSetMember {
    spec: VariableSpec;
    /** The member as an ACSI reference with FC. */
    reference: string;
}

export interface DataSetEntry {
    /** `LD/LN.Name` or `@Name`. */
    reference: string;
    name: ObjectName;
    members: DataSetMember[];
    /** SCL data sets are not; client-created ones are (mmsDeletable). */
    deletable: boolean;
}

/** The key of an ObjectName in the registry (`domain/item` or the aa name). */
export function nameKey(name: ObjectName): string {
    return name.scope === 'domain-specific' ? `${name.domainId}/${name.itemId}` : name.name;
}

const configured = new WeakMap<Server, readonly DataSetEntry[]>();

/** The persistent data sets the model configures (SCL DataSet elements); built once per model, never changed. */
export function configuredDataSets(server: Server): readonly DataSetEntry[] {
    const known = configured.get(server);
    if (known) return known;
    const out: DataSetEntry[] = [];
    for (const ld of server.logicalDevices) {
        for (const ln of ld.logicalNodes) {
            for (const ds of ln.dataSets ?? []) {
                const name: ObjectName = {
                    scope: 'domain-specific',
                    domainId: ld.name,
                    itemId: `${ln.name}$${ds.name}`,
                };
                out.push({
                    reference: dataSetReference(name),
                    name,
                    deletable: false,
                    members: ds.members.map((m) => {
                        const a = toMms(m);
                        const spec: VariableSpec = {
                            name: { scope: 'domain-specific', domainId: a.domainId, itemId: a.itemId },
                        };
                        if (a.alternateAccess?.length) spec.alternateAccess = a.alternateAccess as Selector[];
                        return { spec, reference: memberReference(spec) };
                    }),
                });
            }
        }
    }
    configured.set(server, Object.freeze(out));
    return out;
}
