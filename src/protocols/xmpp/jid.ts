/**
 * JIDs (RFC 7622). Parts are checked for length (1023 octets each, §3.2-3.4) and for the
 * characters the address format forbids; local part and domain are compared case-insensitively
 * (an approximation of the PRECIS UsernameCaseMapped profile that covers the JIDs deployed in practice).
 */
export interface Jid {
    readonly local: string;
    readonly domain: string;
    readonly resource: string;
    /** `local@domain` (or `domain`), normalised to lower case. */
    readonly bare: string;
    /** `bare/resource`, or `bare` when there is no resource. */
    readonly full: string;
}

export class JidError extends Error {
    readonly code = 'BAD_INPUT';
    constructor(message: string) {
        super(message);
        this.name = 'JidError';
    }
}

/** Characters RFC 7622 §3.3.1 excludes from the localpart. */
const LOCAL_FORBIDDEN = /["&'/:<>@\s]/;
const MAX_PART = 1023;

export function parseJid(input: string): Jid {
    if (typeof input !== 'string' || input.length === 0) throw new JidError('A JID must be a non-empty string');
    const slash = input.indexOf('/');
    const resource = slash === -1 ? '' : input.slice(slash + 1);
    const head = slash === -1 ? input : input.slice(0, slash);
    const at = head.indexOf('@');
    const local = at === -1 ? '' : head.slice(0, at);
    let domain = at === -1 ? head : head.slice(at + 1);
    if (domain.endsWith('.')) domain = domain.slice(0, -1);
    if (at !== -1 && local === '') throw new JidError(`JID "${input}" has an empty local part`);
    if (slash !== -1 && resource === '') throw new JidError(`JID "${input}" has an empty resource`);
    if (domain === '' || /[\s@/]/.test(domain)) throw new JidError(`JID "${input}" has no valid domain`);
    if (LOCAL_FORBIDDEN.test(local)) throw new JidError(`JID "${input}" has a forbidden character in its local part`);
    for (const part of [local, domain, resource]) {
        if (Buffer.byteLength(part) > MAX_PART)
            throw new JidError(`JID "${input.slice(0, 40)}…" has a part longer than 1023 octets`);
    }
    const l = local.toLowerCase();
    const d = domain.toLowerCase();
    const bare = l ? `${l}@${d}` : d;
    return { local: l, domain: d, resource, bare, full: resource ? `${bare}/${resource}` : bare };
}

/** parseJid that returns undefined instead of throwing (for addresses a peer sent). */
export function tryParseJid(input: string | undefined): Jid | undefined {
    if (input === undefined) return undefined;
    try {
        return parseJid(input);
    } catch {
        return undefined;
    }
}

/** The normalised bare JID of an address, or undefined when it is not a JID. */
export function bareJid(input: string | undefined): string | undefined {
    return tryParseJid(input)?.bare;
}

/** True when both are the same address; a bare `b` matches any resource of `a` only if `bareMatches`. */
export function sameJid(a: string | undefined, b: string | undefined, bareMatches = false): boolean {
    const x = tryParseJid(a);
    const y = tryParseJid(b);
    if (!x || !y) return false;
    if (x.full === y.full) return true;
    return bareMatches && x.bare === y.bare && (x.resource === '' || y.resource === '');
}
