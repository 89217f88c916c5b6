import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
    OBJECTS,
    type ObjectDefinition,
    parseDdf,
    SPMP_OBJECT_IDS,
    type SpmpObjectIds,
    spmpObjects,
} from '../protocols/lwm2m';
import { NodeError } from './errors';
import { listField, numberField } from './xmpp-config';

/** Editor fields every LwM2M node shares for object definitions. */
export interface DefinitionFields {
    /** First ID of the five SPMP objects (default 42769, the OMA test range). */
    spmpBase?: string | number;
    /** OMA DDF XML files or folders of them, one per line. */
    ddf?: string;
}

/** The SPMP object IDs starting at `base`, in the order of the constants table. */
export function spmpIdsFrom(base: number): SpmpObjectIds {
    const keys = Object.keys(SPMP_OBJECT_IDS) as Array<keyof SpmpObjectIds>;
    const first = Math.min(...Object.values(SPMP_OBJECT_IDS));
    return Object.fromEntries(keys.map((k) => [k, base + (SPMP_OBJECT_IDS[k] - first)])) as SpmpObjectIds;
}

/**
 * The object definitions a node works with: the built-in OMA objects, the SPMP objects at their
 * configured IDs, and any DDF XML files the user named (later ones win over earlier ones).
 */
export function definitionsFrom(fields: DefinitionFields): {
    definitions: Map<number, ObjectDefinition>;
    spmp: SpmpObjectIds;
    files: string[];
} {
    const base = numberField(fields.spmpBase, 42769, 10241, 65530, 'SPMP object IDs from', true);
    const spmp = spmpIdsFrom(base);
    const definitions = new Map<number, ObjectDefinition>([...OBJECTS, ...spmpObjects(spmp)]);
    const files: string[] = [];
    for (const entry of (fields.ddf ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')) {
        let list: string[];
        try {
            list = statSync(entry).isDirectory()
                ? readdirSync(entry)
                      .filter((f) => f.toLowerCase().endsWith('.xml'))
                      .sort()
                      .map((f) => path.join(entry, f))
                : [entry];
        } catch (err) {
            throw new NodeError('CONFIG', `Object definitions: cannot read ${entry}: ${(err as Error).message}`);
        }
        for (const file of list) {
            try {
                const def = parseDdf(readFileSync(file));
                definitions.set(def.id, def);
                files.push(file);
            } catch (err) {
                throw new NodeError('CONFIG', `Object definitions: ${file}: ${(err as Error).message}`);
            }
        }
    }
    return { definitions, spmp, files };
}

/** A UDP port field (0 = any free port when `allowZero`). */
export function portField(
    value: string | number | undefined,
    fallback: number,
    label: string,
    allowZero = false,
): number {
    return numberField(value, fallback, allowZero ? 0 : 1, 65535, label, true);
}

/** Endpoint names from an editor list (commas, spaces or lines); empty = every name. */
export function endpointList(value: string | undefined): string[] {
    return listField(value);
}

/** Whether `endpoint` matches a list of names and `prefix*` patterns (an empty list matches all). */
export function endpointMatches(patterns: readonly string[], endpoint: string): boolean {
    if (patterns.length === 0) return true;
    return patterns.some((p) => (p.endsWith('*') ? endpoint.startsWith(p.slice(0, -1)) : p === endpoint));
}

/** Paths from an editor list (`/3316/0/5700, /3317/0/5700`). */
export function pathList(value: string | undefined): string[] {
    return listField(value).map((p) => (p.startsWith('/') ? p : `/${p}`));
}
