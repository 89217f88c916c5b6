/**
 * Editor fields of the IEC 61850 nodes turned into engine options, with clear CONFIG errors:
 * the model source (shipped heat pump, an SCL file on disk, SCL text kept in the node), and the
 * access patterns of the server (JidMatcher syntax).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importScl, SclError, type SclModel } from '../protocols/iec61850/scl';
import { JidMatcher } from '../protocols/xmpp';
import { NodeError } from './errors';
import { listField } from './xmpp-config';

/** The IEC 61850-8-2 resource a server binds (8-2: the server IED answers at `<account>/IEC`). */
export const IEC_RESOURCE = 'IEC';

/** The shipped heat-pump model, at the package root (package.json `files` ships models/). */
export const HEAT_PUMP_MODEL = path.join(__dirname, '..', '..', 'models', 'sdvp-heat-pump.icd');

export const MODEL_SOURCES = ['heat-pump', 'file', 'text'] as const;
export type ModelSource = (typeof MODEL_SOURCES)[number];

export interface ModelConfig {
    modelSource?: string;
    modelFile?: string;
    modelText?: string;
    iedName?: string;
}

/** The SCL text the node serves, and where it came from (for messages). */
function sclText(config: ModelConfig): { text: string; origin: string } {
    const source = (config.modelSource || 'heat-pump') as ModelSource;
    if (!(MODEL_SOURCES as readonly string[]).includes(source))
        throw new NodeError('CONFIG', `Model "${source}" is not one of ${MODEL_SOURCES.join(', ')}`);
    if (source === 'text') {
        const text = config.modelText ?? '';
        if (text.trim() === '') throw new NodeError('CONFIG', 'No SCL text: paste or upload an SCL file (ICD/CID/IID)');
        return { text, origin: 'the SCL text of the node' };
    }
    const file = source === 'heat-pump' ? HEAT_PUMP_MODEL : (config.modelFile ?? '').trim();
    if (!file) throw new NodeError('CONFIG', 'No SCL file: enter the path of an ICD/CID/IID file');
    try {
        return { text: readFileSync(file, 'utf8'), origin: file };
    } catch (err) {
        throw new NodeError('CONFIG', `Cannot read the SCL file ${file}: ${(err as Error).message}`, { cause: err });
    }
}

/** Imports the configured model; SCL problems become CONFIG errors naming the line. */
export function loadModel(config: ModelConfig): SclModel {
    const { text, origin } = sclText(config);
    const iedName = config.iedName?.trim();
    try {
        return importScl(text, iedName ? { iedName } : {});
    } catch (err) {
        if (err instanceof SclError)
            throw new NodeError('CONFIG', `${origin} is not a usable SCL model: ${err.message}`, { cause: err });
        throw new NodeError('CONFIG', `${origin}: ${(err as Error).message}`, { cause: err });
    }
}

/** A host name, or a domain label list (what a domain pattern may be). */
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
/** A JID pattern: local part and domain, optional resource. */
const JID = /^[^"&'/:<>@\s]+@[^\s@/]+(\/\S+)?$/;

/**
 * The patterns of one access field (commas, spaces or new lines between them), each `*`, `roster`,
 * `user@domain[/resource]`, `domain` or `*.domain`; anything else is a CONFIG error naming it.
 */
export function accessPatterns(value: string | undefined, label: string): string[] {
    const patterns = listField(value);
    for (const p of patterns) {
        const ok =
            p === '*' ||
            p.toLowerCase() === 'roster' ||
            (p.startsWith('*.') && DOMAIN.test(p.slice(2))) ||
            JID.test(p) ||
            DOMAIN.test(p);
        if (!ok) throw new NodeError('CONFIG', `${label}: "${p}" is not a JID, domain, *.domain, roster or *`);
    }
    try {
        new JidMatcher(patterns);
    } catch (err) {
        throw new NodeError('CONFIG', `${label}: ${(err as Error).message}`);
    }
    return patterns;
}
