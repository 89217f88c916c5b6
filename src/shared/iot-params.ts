import type { ParameterDescription } from '../protocols/xmpp-iot/model';
import { PARAMETER_TYPES } from '../protocols/xmpp-iot/model';
import { validValue } from '../protocols/xmpp-iot/validate';
import { NodeError } from './errors';

/** Types whose min and max bound the value. */
const NUMERIC_TYPES: readonly string[] = ['int', 'long', 'double'];

interface ParameterConfig {
    name?: unknown;
    type?: unknown;
    label?: unknown;
    description?: unknown;
    min?: unknown;
    max?: unknown;
    options?: unknown;
    value?: unknown;
    readOnly?: unknown;
}

/** Reads the editor's parameter list into descriptions; a broken entry is a CONFIG error naming it. */
export function parseParameters(text: string | undefined): ParameterDescription[] {
    let raw: unknown;
    try {
        raw = JSON.parse(text?.trim() || '[]');
    } catch {
        throw new NodeError('CONFIG', 'The parameter list is not valid JSON');
    }
    if (!Array.isArray(raw)) throw new NodeError('CONFIG', 'The parameter list must be an array');
    const seen = new Set<string>();
    return raw.map((p: ParameterConfig, i) => {
        const name = typeof p.name === 'string' ? p.name.trim() : '';
        if (!name) throw new NodeError('CONFIG', `Parameter ${i + 1} has no name`);
        if (seen.has(name)) throw new NodeError('CONFIG', `Parameter ${name} is listed twice`);
        seen.add(name);
        const type = p.type as ParameterDescription['type'];
        if (!(PARAMETER_TYPES as readonly string[]).includes(type))
            throw new NodeError('CONFIG', `Parameter ${name}: "${String(p.type)}" is not a type`);
        const d: ParameterDescription = { name, type };
        if (typeof p.label === 'string' && p.label) d.label = p.label;
        if (typeof p.description === 'string' && p.description) d.description = p.description;
        for (const bound of ['min', 'max'] as const) {
            const v = p[bound];
            if (v !== undefined && v !== '' && v !== null) {
                const n = Number(v);
                if (!Number.isFinite(n))
                    throw new NodeError('CONFIG', `Parameter ${name}: ${bound} "${String(v)}" is not a number`);
                d[bound] = n;
            }
        }
        if (d.min !== undefined && d.max !== undefined && d.min > d.max)
            throw new NodeError('CONFIG', `Parameter ${name}: min ${d.min} is above max ${d.max}`);
        // Options are separated by commas or new lines, so that an option may contain spaces.
        const options =
            typeof p.options === 'string'
                ? p.options
                      .split(/[,\n]/)
                      .map((o) => o.trim())
                      .filter((o) => o !== '')
                : [];
        if (options.length > 0) d.options = options.map((value) => ({ value }));
        if (type === 'enum' && options.length === 0)
            throw new NodeError('CONFIG', `Parameter ${name}: an enum needs its options`);
        if (p.value !== undefined && p.value !== '' && p.value !== null) {
            const text = String(p.value);
            if (!validValue(type, text))
                throw new NodeError('CONFIG', `Parameter ${name}: initial value "${text}" is not a valid ${type}`);
            const n = Number(text);
            if (
                NUMERIC_TYPES.includes(type) &&
                ((d.min !== undefined && n < d.min) || (d.max !== undefined && n > d.max))
            )
                throw new NodeError(
                    'CONFIG',
                    `Parameter ${name}: initial value ${text} is outside ${d.min ?? '…'} to ${d.max ?? '…'}`,
                );
            if (options.length > 0 && !options.includes(text))
                throw new NodeError('CONFIG', `Parameter ${name}: initial value "${text}" is not one of the options`);
            d.value = text;
        }
        if (p.readOnly === true) d.readOnly = true;
        return d;
    });
}
