import { badInput, Iec61850Error } from './errors';

/**
 * Functional constraints (IEC 61850-7-2 Ed2, the FunctionalConstraint table of the ACSI data
 * model) and their place in the 8-1 MMS mapping, which 8-2 reuses unchanged
 * (../shared/design/iec61850-8-2-wire.md §6.1).
 *
 * `kind`: `data` FCs constrain data attributes; `control` FCs name control blocks of that class.
 * `write`: whether a client may write attributes with this FC (7-2 access rules; SE only while
 * a setting group is being edited, CO only through the control services).
 */
export interface FcInfo {
    fc: Fc;
    meaning: string;
    kind: 'data' | 'control';
    write: boolean;
    /** Position among the FC components of an LN's MMS named variable (8-1), 0 first. */
    mmsOrder: number;
}

/**
 * The order of FC components inside an LN's MMS structure (8-1 §6 as summarised by the wire
 * note §6.1; empty FCs are omitted). The same order as libiec61850's MMS mapping builds an LN
 * (mms_mapping.c, createNamedVariableFromLogicalNode), checked 2026-11-22. GS (GSSE, 7-2 Ed1 only) and XX (the "all FCs" wildcard of
 * service parameters) are not mapped to MMS and therefore not listed.
 */
export const FC_ORDER = [
    'MX',
    'ST',
    'CO',
    'CF',
    'DC',
    'SP',
    'SG',
    'RP',
    'LG',
    'BR',
    'GO',
    'SV',
    'SE',
    'MS',
    'US',
    'EX',
    'SR',
    'OR',
    'BL',
] as const;
export type Fc = (typeof FC_ORDER)[number];

const TABLE: ReadonlyArray<Omit<FcInfo, 'mmsOrder'>> = [
    { fc: 'ST', meaning: 'status information', kind: 'data', write: false },
    { fc: 'MX', meaning: 'measurands (analogue values)', kind: 'data', write: false },
    { fc: 'SP', meaning: 'setting (outside setting groups)', kind: 'data', write: true },
    { fc: 'SV', meaning: 'substitution', kind: 'data', write: true },
    { fc: 'CF', meaning: 'configuration', kind: 'data', write: true },
    { fc: 'DC', meaning: 'description', kind: 'data', write: true },
    { fc: 'SG', meaning: 'setting group (values of the active group)', kind: 'data', write: false },
    { fc: 'SE', meaning: 'setting group editable (values of the group being edited)', kind: 'data', write: true },
    { fc: 'SR', meaning: 'service response / service tracking', kind: 'data', write: false },
    { fc: 'OR', meaning: 'operate received', kind: 'data', write: false },
    { fc: 'BL', meaning: 'blocking', kind: 'data', write: true },
    { fc: 'EX', meaning: 'extended definition (naming of the name space)', kind: 'data', write: false },
    { fc: 'CO', meaning: 'control (Oper, SBO, SBOw, Cancel)', kind: 'data', write: true },
    { fc: 'BR', meaning: 'buffered report control block', kind: 'control', write: true },
    { fc: 'RP', meaning: 'unbuffered report control block', kind: 'control', write: true },
    { fc: 'LG', meaning: 'log control block', kind: 'control', write: true },
    { fc: 'GO', meaning: 'GOOSE control block', kind: 'control', write: true },
    { fc: 'MS', meaning: 'multicast sampled value control block', kind: 'control', write: true },
    { fc: 'US', meaning: 'unicast sampled value control block', kind: 'control', write: true },
];

export const FCS: Readonly<Record<Fc, FcInfo>> = Object.freeze(
    Object.fromEntries(TABLE.map((row) => [row.fc, Object.freeze({ ...row, mmsOrder: FC_ORDER.indexOf(row.fc) })])),
) as Readonly<Record<Fc, FcInfo>>;

export function isFc(text: string): text is Fc {
    return Object.hasOwn(FCS, text);
}

/** The FC named by `text`, or a typed error (XX and GS get NOT_SUPPORTED: they have no MMS mapping). */
export function parseFc(text: string): Fc {
    if (isFc(text)) return text;
    if (text === 'XX' || text === 'GS')
        throw new Iec61850Error('NOT_SUPPORTED', 'unknown-fc', `functional constraint ${text} has no MMS mapping`, {
            input: text,
        });
    throw badInput('unknown-fc', 'unknown functional constraint', text);
}

/** Sorts FCs into 8-1 order (for building an LN's MMS type description). */
export function sortFcs(fcs: Iterable<Fc>): Fc[] {
    return [...new Set(fcs)].sort((a, b) => FCS[a].mmsOrder - FCS[b].mmsOrder);
}
