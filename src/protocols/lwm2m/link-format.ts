import { Lwm2mError } from './errors';

/**
 * CoRE Link Format (RFC 6690, content format 40) as LwM2M uses it in Register/Update payloads and
 * Discover answers (Core §6.2.1, §6.3): `</>;rt="oma.lwm2m";ct=11543,</3/0>,</3316/0>;ver=1.1`.
 * Parameter values are tokens or quoted strings; a parameter without a value is kept as `true`.
 */

export interface CoreLink {
    target: string;
    params: Record<string, string | true>;
}

export interface LinkFormatLimits {
    /** Links in one payload. Default 10,000. */
    maxLinks?: number;
    /** Characters. Default 256 KiB. */
    maxLength?: number;
}

const TOKEN = /^[!#$%&'()*+\-.:<=>?@[\]^_`{|}~A-Za-z0-9/]+$/;
const PARAM_NAME = /^[A-Za-z0-9!#$&+\-.^_`|~]+\*?$/;

/** Parses a link-format payload into links with their parameters. */
export function decodeLinkFormat(text: string, limits: LinkFormatLimits = {}): CoreLink[] {
    const maxLength = limits.maxLength ?? 256 * 1024;
    if (typeof text !== 'string') throw new Lwm2mError('wrong-type', 'link format is text');
    if (text.length > maxLength)
        throw new Lwm2mError('limit', `link format of ${text.length} characters exceeds ${maxLength}`);
    const maxLinks = limits.maxLinks ?? 10_000;
    const links: CoreLink[] = [];
    let at = 0;
    const fail = (why: string): never => {
        throw new Lwm2mError('malformed', `link format: ${why}`, at);
    };
    const skipSpace = () => {
        while (text[at] === ' ' || text[at] === '\t' || text[at] === '\r' || text[at] === '\n') at++;
    };
    skipSpace();
    if (at === text.length) return links;
    for (;;) {
        if (links.length >= maxLinks) throw new Lwm2mError('limit', `more than ${maxLinks} links`, at);
        if (text[at] !== '<') fail("a link starts with '<'");
        const close = text.indexOf('>', at + 1);
        if (close < 0) fail("unterminated '<'");
        const target = text.slice(at + 1, close);
        if (target === '' || /[\s<>"]/.test(target)) fail(`bad target '${target.slice(0, 40)}'`);
        at = close + 1;
        const params: Record<string, string | true> = {};
        while (text[at] === ';') {
            at++;
            const start = at;
            while (at < text.length && !'=;,'.includes(text[at] as string)) at++;
            const name = text.slice(start, at).trim();
            if (!PARAM_NAME.test(name)) fail(`bad parameter name '${name.slice(0, 40)}'`);
            if (Object.hasOwn(params, name)) fail(`parameter ${name} given twice`);
            if (text[at] !== '=') {
                params[name] = true;
                continue;
            }
            at++;
            if (text[at] === '"') {
                let value = '';
                at++;
                for (;;) {
                    if (at >= text.length) fail('unterminated quoted string');
                    const c = text[at] as string;
                    if (c === '\\') {
                        if (at + 1 >= text.length) fail('unterminated escape');
                        value += text[at + 1];
                        at += 2;
                    } else if (c === '"') {
                        at++;
                        break;
                    } else {
                        value += c;
                        at++;
                    }
                }
                params[name] = value;
            } else {
                const vs = at;
                while (at < text.length && text[at] !== ';' && text[at] !== ',') at++;
                const value = text.slice(vs, at);
                if (!TOKEN.test(value)) fail(`bad value of ${name}: '${value.slice(0, 40)}'`);
                params[name] = value;
            }
        }
        links.push({ target, params });
        skipSpace();
        if (at === text.length) return links;
        if (text[at] !== ',') fail("links are separated by ','");
        at++;
        skipSpace();
    }
}

/** Writes links in link format; values that are not tokens are quoted. */
export function encodeLinkFormat(links: readonly CoreLink[]): string {
    return links
        .map((l) => {
            if (!l.target || /[\s<>"]/.test(l.target))
                throw new Lwm2mError('wrong-type', `bad link target '${l.target}'`);
            let out = `<${l.target}>`;
            for (const [k, v] of Object.entries(l.params)) {
                if (!PARAM_NAME.test(k)) throw new Lwm2mError('wrong-type', `bad parameter name '${k}'`);
                if (v === true) out += `;${k}`;
                else if (TOKEN.test(v) && k !== 'rt') out += `;${k}=${v}`;
                else out += `;${k}="${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
            }
            return out;
        })
        .join(',');
}
