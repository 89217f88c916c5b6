import type { Generation } from './model';

/**
 * The namespaces of each XMPP IoT generation (docs/design/xmpp-iot-g0-g1.md §1 and
 * xmpp-iot-g2-g3.md §2.2). `aliases` are other spellings accepted on input for the same role.
 * Namespaces are matched exactly: `urn:xmpp:sn:0` (a different XEP) is not `urn:xmpp:sn`.
 */
export interface GenerationNamespaces {
    generation: Generation;
    sensorData: string;
    control: string;
    concentrator: string;
    provisioning: string;
    aliases: { sensorData: string[]; control: string[]; concentrator: string[]; provisioning: string[] };
    /** Where the namespaces are defined. */
    source: string;
}

export const GENERATIONS: Readonly<Record<Generation, GenerationNamespaces>> = Object.freeze({
    G0: {
        generation: 'G0',
        sensorData: 'urn:xmpp:sn',
        control: 'urn:xmpp:sn:control',
        concentrator: 'urn:xmpp:sn:concentrators',
        provisioning: 'urn:xmpp:sn:provisioning',
        aliases: { sensorData: [], control: [], concentrator: [], provisioning: [] },
        source: 'XEP-0323 v0.1 (2013-04-16), XEP-0325 v0.1, XEP-0326 v0.1, XEP-0324 v0.1',
    },
    G1: {
        generation: 'G1',
        sensorData: 'urn:xmpp:iot:sensordata',
        control: 'urn:xmpp:iot:control',
        concentrator: 'urn:xmpp:iot:concentrators',
        provisioning: 'urn:xmpp:iot:provisioning',
        aliases: { sensorData: [], control: [], concentrator: [], provisioning: [] },
        source: 'XEP-0323 v0.2-v0.6, XEP-0325 v0.2-v0.5.1, XEP-0326 v0.2-v0.4, XEP-0324 v0.2-v0.5.1',
    },
    G2: {
        generation: 'G2',
        sensorData: 'urn:ieee:iot:sd:1.0',
        control: 'urn:ieee:iot:ctr:1.0',
        concentrator: 'urn:ieee:iot:concentrator:1.0',
        provisioning: 'urn:ieee:iot:prov:d:1.0',
        aliases: { sensorData: [], control: [], concentrator: [], provisioning: [] },
        source: 'IEEE P1451.99 XSDs (Neuro-Foundation repository, commit e4d145d)',
    },
    G3: {
        generation: 'G3',
        sensorData: 'urn:nf:iot:sd:1.0',
        control: 'urn:nf:iot:ctr:1.0',
        concentrator: 'urn:nf:iot:concentrator:1.0',
        provisioning: 'urn:nf:iot:prov:d:1.0',
        // The Neuro-Foundation documents switched to `urn:nfi:` on 2025-08-13; deployed code uses `urn:nf:`.
        aliases: {
            sensorData: ['urn:nfi:iot:sd:1.0'],
            control: ['urn:nfi:iot:ctr:1.0'],
            concentrator: ['urn:nfi:iot:concentrator:1.0'],
            provisioning: ['urn:nfi:iot:prov:d:1.0'],
        },
        source: 'Neuro-Foundation XSDs and IoTGateway (urn:nf:), neuro-foundation.io since 2025-08-13 (urn:nfi:)',
    },
});

/** Preference when a peer supports several: the newest generation first. */
export const GENERATION_PREFERENCE: readonly Generation[] = ['G3', 'G2', 'G1', 'G0'];

export type Role = 'sensorData' | 'control' | 'concentrator' | 'provisioning';

/** Every namespace of a role, with the generation it belongs to. */
export function namespacesOf(role: Role): Array<{ ns: string; generation: Generation }> {
    const out: Array<{ ns: string; generation: Generation }> = [];
    for (const g of Object.values(GENERATIONS)) {
        out.push({ ns: g[role], generation: g.generation });
        for (const alias of g.aliases[role]) out.push({ ns: alias, generation: g.generation });
    }
    return out;
}

/** The generation a namespace of `role` belongs to, or undefined (exact match only). */
export function generationOf(role: Role, ns: string): Generation | undefined {
    return namespacesOf(role).find((x) => x.ns === ns)?.generation;
}

/**
 * Picks the generation to speak to a peer from its disco#info features, or undefined when it
 * advertises none of the role's namespaces.
 */
export function bestGeneration(role: Role, features: readonly string[]): Generation | undefined {
    const offered = new Set(features);
    for (const g of GENERATION_PREFERENCE) {
        const n = GENERATIONS[g];
        if (offered.has(n[role]) || n.aliases[role].some((a) => offered.has(a))) return g;
    }
    return undefined;
}
