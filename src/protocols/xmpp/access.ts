import { tryParseJid } from './jid';

/**
 * Who may use what on an account. Patterns:
 * - `*`                anyone
 * - `user@example.com` that account (any resource); `user@example.com/res` that resource only
 * - `example.com`      any account at that domain, and the domain itself
 * - `*.example.com`    any account at a subdomain of example.com
 * - `roster`           any contact the account has a presence subscription with ("from" or "both")
 */
export class JidMatcher {
    readonly #any: boolean;
    readonly #roster: boolean;
    readonly #full = new Set<string>();
    readonly #bare = new Set<string>();
    readonly #domains = new Set<string>();
    readonly #suffixes: string[] = [];

    constructor(patterns: readonly string[]) {
        let any = false;
        let roster = false;
        for (const raw of patterns) {
            const p = raw.trim().toLowerCase();
            if (p === '') continue;
            if (p === '*') any = true;
            else if (p === 'roster') roster = true;
            else if (p.startsWith('*.')) this.#suffixes.push(p.slice(1));
            else if (p.includes('@') || p.includes('/')) {
                const jid = tryParseJid(raw.trim());
                if (!jid) throw new Error(`"${raw}" is not a JID, domain, *.domain, roster or *`);
                if (jid.resource) this.#full.add(jid.full);
                else this.#bare.add(jid.bare);
            } else this.#domains.add(p.replace(/^@/, ''));
        }
        this.#any = any;
        this.#roster = roster;
    }

    /** True for `*`, or when no pattern was given at all (`false`). */
    get matchesAnyone(): boolean {
        return this.#any;
    }

    get includesRoster(): boolean {
        return this.#roster;
    }

    get empty(): boolean {
        return (
            !this.#any &&
            !this.#roster &&
            this.#full.size + this.#bare.size + this.#domains.size + this.#suffixes.length === 0
        );
    }

    /** Whether `jid` matches; `isContact` answers the `roster` pattern. */
    matches(jid: string | undefined, isContact: (bare: string) => boolean = () => false): boolean {
        if (this.#any) return true;
        const j = tryParseJid(jid);
        if (!j) return false;
        if (this.#full.has(j.full) || this.#bare.has(j.bare) || this.#domains.has(j.domain)) return true;
        if (this.#suffixes.some((s) => j.domain.endsWith(s))) return true;
        return this.#roster && isContact(j.bare);
    }
}

/** What an account allows for namespaces that have no rule of their own. */
export type AccessDefault = 'all' | 'roster' | 'none';

/** One configured rule: who may use a namespace (IQ payloads and message payloads in it). */
export interface AccessRule {
    namespace: string;
    allow: readonly string[];
}

/** A node's own check for a namespace: true/false decides, undefined defers to the account rules. */
export type AccessHook = (from: string) => boolean | undefined;

export interface Disposable {
    dispose(): void;
}

/**
 * The account's access hook: decides per (namespace, sender) whether a request is served or
 * answered `forbidden`. Hooks from nodes come first, then the account's rules, then its default.
 * The account's own JIDs and its server are always allowed.
 */
export class AccessControl {
    readonly #rules = new Map<string, JidMatcher>();
    readonly #default: JidMatcher;
    readonly #hooks = new Map<string, Set<AccessHook>>();
    readonly #isContact: (bare: string) => boolean;

    constructor(options: {
        rules?: readonly AccessRule[];
        default?: AccessDefault;
        isContact: (bare: string) => boolean;
    }) {
        for (const r of options.rules ?? []) this.#rules.set(r.namespace, new JidMatcher(r.allow));
        const d = options.default ?? 'all';
        this.#default = new JidMatcher(d === 'all' ? ['*'] : d === 'roster' ? ['roster'] : []);
        this.#isContact = options.isContact;
    }

    addHook(namespace: string, hook: AccessHook): Disposable {
        const set = this.#hooks.get(namespace) ?? new Set<AccessHook>();
        this.#hooks.set(namespace, set);
        set.add(hook);
        return {
            dispose: () => {
                set.delete(hook);
                if (set.size === 0) this.#hooks.delete(namespace);
            },
        };
    }

    /** `self` holds the account's bare JID and its domain: those always pass. */
    allows(namespace: string, from: string | undefined, self: { bare: string; domain: string }): boolean {
        const j = tryParseJid(from);
        if (from === undefined) return true; // from the account's own server on its behalf (RFC 6120 §8.1.2.1)
        if (!j) return false;
        if (j.bare === self.bare || j.full === self.domain) return true;
        for (const hook of this.#hooks.get(namespace) ?? []) {
            const verdict = hook(j.full);
            if (verdict !== undefined) return verdict;
        }
        const rule = this.#rules.get(namespace) ?? this.#default;
        return rule.matches(j.full, this.#isContact);
    }
}

/** Parses the editor's rule text: one `namespace = pattern, pattern` per line; ` #` starts a comment. */
export function parseAccessRules(text: string): AccessRule[] {
    const rules: AccessRule[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
        // '#' starts a comment at the start of a line or after a space; inside a namespace (disco#info) it does not.
        const body = line.replace(/(^|\s)#.*$/, '').trim();
        if (body === '') return;
        const eq = body.indexOf('=');
        if (eq <= 0) throw new Error(`Access rule line ${i + 1}: expected "namespace = jid, domain, roster or *"`);
        const namespace = body.slice(0, eq).trim();
        const allow = body
            .slice(eq + 1)
            .split(/[,\s]+/)
            .filter((p) => p !== '');
        try {
            new JidMatcher(allow);
        } catch (err) {
            throw new Error(`Access rule line ${i + 1}: ${(err as Error).message}`);
        }
        rules.push({ namespace, allow });
    });
    return rules;
}
