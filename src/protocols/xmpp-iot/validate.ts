import { isParameterText } from './lexical';
import type { ControlFailure, ParameterDescription, ParameterType, ParameterValue } from './model';

/** Parameter types whose values may also be written as a string element by older peers. */
const STRING_COMPATIBLE = new Set<ParameterType>(['string', 'enum']);

/** A lexical value acceptable for setting a parameter: valid for its type, and a number that is a number (not NaN). */
export function validValue(type: ParameterType, text: string): boolean {
    return isParameterText(type, text) && !(type === 'double' && text.trim() === 'NaN');
}

/**
 * Checks one value against the parameter it sets: known, writable, of the right type, within
 * range, one of the options, matching the pattern. Returns the failure to answer with, or
 * undefined when the value is acceptable.
 */
export function checkParameter(
    value: ParameterValue,
    description: ParameterDescription | undefined,
): ControlFailure | undefined {
    if (!description)
        return { reason: 'not-found', parameter: value.name, message: `Parameter ${value.name} does not exist` };
    if (description.readOnly)
        return { reason: 'forbidden', parameter: value.name, message: `Parameter ${value.name} is read-only` };
    const typeOk =
        value.type === description.type ||
        (STRING_COMPATIBLE.has(description.type) && STRING_COMPATIBLE.has(value.type));
    if (!typeOk) {
        return {
            reason: 'bad-value',
            parameter: value.name,
            message: `Parameter ${value.name} is of type ${description.type}, not ${value.type}`,
        };
    }
    if (!validValue(description.type, value.text)) {
        return {
            reason: 'bad-value',
            parameter: value.name,
            message: `"${value.text}" is not a valid ${description.type} for ${value.name}`,
        };
    }
    if (description.type === 'int' || description.type === 'long' || description.type === 'double') {
        const n = Number(value.text);
        if (
            (description.min !== undefined && n < description.min) ||
            (description.max !== undefined && n > description.max)
        ) {
            return {
                reason: 'bad-value',
                parameter: value.name,
                message: `${value.text} is outside the range of ${value.name} (${description.min ?? '-∞'} to ${description.max ?? '∞'})`,
            };
        }
    }
    if (
        description.options &&
        description.options.length > 0 &&
        !description.options.some((o) => o.value === value.text)
    ) {
        return {
            reason: 'bad-value',
            parameter: value.name,
            message: `"${value.text}" is not one of ${description.options.map((o) => o.value).join(', ')} for ${value.name}`,
        };
    }
    if (description.pattern) {
        let re: RegExp | undefined;
        try {
            re = new RegExp(`^(?:${description.pattern})$`);
        } catch {
            re = undefined;
        }
        if (re && !re.test(value.text)) {
            return {
                reason: 'bad-value',
                parameter: value.name,
                message: `"${value.text}" does not match the pattern of ${value.name}`,
            };
        }
    }
    return undefined;
}
