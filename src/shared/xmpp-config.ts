import {
    JidMatcher,
    normaliseFingerprint,
    parseAccessRules,
    parseJid,
    type SessionOptions,
    XmppError,
} from '../protocols/xmpp';

/** The `xmpp-account` config node's properties, as the editor saves them. */
export interface XmppAccountConfig {
    name?: string;
    jid: string;
    resource?: string;
    host?: string;
    port?: string | number;
    tls?: string;
    ca?: string;
    fingerprint?: string;
    allowSelfSigned?: boolean;
    priority?: string | number;
    presenceStatus?: string;
    subscriptions?: string;
    allowlist?: string;
    defaultAccess?: string;
    accessRules?: string;
    keepalive?: string | number;
    keepaliveTimeout?: string | number;
    reconnectMin?: string | number;
    reconnectMax?: string | number;
    streamManagement?: boolean;
    maxStanzaKiB?: string | number;
}

function bad(message: string): XmppError {
    return new XmppError('BAD_INPUT', message);
}

/** A number from an editor field: blank gives `fallback`; otherwise it must lie in [min, max]. */
export function numberField(
    value: string | number | undefined,
    fallback: number,
    min: number,
    max: number,
    label: string,
    integer = false,
): number {
    if (value === undefined || String(value).trim() === '') return fallback;
    const n = typeof value === 'number' ? value : Number(String(value).trim());
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw bad(`${label} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got "${value}")`);
    }
    return n;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, label: string): T {
    if (value === undefined || value === '') return fallback;
    if (!(allowed as readonly string[]).includes(value))
        throw bad(`${label} must be one of ${allowed.join(', ')} (got "${value}")`);
    return value as T;
}

/** Splits an allowlist field: commas, spaces or new lines between entries. */
export function listField(value: string | undefined): string[] {
    return (value ?? '').split(/[\s,]+/).filter((p) => p !== '');
}

/**
 * Turns the config node's properties and credentials into Session options, with a clear
 * BAD_INPUT error for anything the editor should have caught.
 */
export function sessionOptionsFromConfig(config: XmppAccountConfig, password: string | undefined): SessionOptions {
    const jid = parseJid(String(config.jid ?? '').trim());
    if (!jid.local) throw bad(`The account JID "${config.jid}" needs a user part (user@domain)`);
    if (!password) throw bad(`No password is set for ${jid.bare}`);
    const tls = oneOf(config.tls, ['starttls', 'direct', 'none'] as const, 'starttls', 'TLS mode');
    const fingerprint = config.fingerprint?.trim();
    if (fingerprint) normaliseFingerprint(fingerprint);
    const ca = config.ca?.trim();
    if (ca && !/-----BEGIN CERTIFICATE-----/.test(ca))
        throw bad('The CA certificate must be PEM (-----BEGIN CERTIFICATE-----)');
    const reconnectMin = numberField(config.reconnectMin, 1, 0.1, 3600, 'Minimum reconnect delay');
    const reconnectMax = numberField(config.reconnectMax, 60, reconnectMin, 86_400, 'Maximum reconnect delay');
    const allowlist = listField(config.allowlist);
    try {
        new JidMatcher(allowlist);
    } catch (err) {
        throw bad(`Allowlist: ${(err as Error).message}`);
    }
    let access: SessionOptions['access'];
    try {
        access = parseAccessRules(config.accessRules ?? '');
    } catch (err) {
        throw bad((err as Error).message);
    }
    const options: SessionOptions = {
        jid: jid.bare,
        password,
        tls,
        trust: {
            ca: ca || undefined,
            fingerprint: fingerprint || undefined,
            allowSelfSigned: config.allowSelfSigned === true,
        },
        presence: {
            priority: numberField(config.priority, 0, -128, 127, 'Priority', true),
            ...(config.presenceStatus ? { status: config.presenceStatus } : {}),
        },
        subscriptions: oneOf(
            config.subscriptions,
            ['none', 'allowlist', 'all', 'ask'] as const,
            'ask',
            'Subscription policy',
        ),
        allowlist,
        access,
        defaultAccess: oneOf(config.defaultAccess, ['all', 'roster', 'none'] as const, 'all', 'Default access'),
        streamManagement: config.streamManagement !== false,
        reconnect: { minMs: reconnectMin * 1000, maxMs: reconnectMax * 1000 },
        keepalive: {
            intervalMs: numberField(config.keepalive, 60, 0, 3600, 'Keepalive interval') * 1000,
            timeoutMs: numberField(config.keepaliveTimeout, 10, 1, 600, 'Keepalive timeout') * 1000,
        },
        limits: { maxStanzaBytes: numberField(config.maxStanzaKiB, 1024, 16, 65_536, 'Largest stanza (KiB)') * 1024 },
    };
    const resource = config.resource?.trim() || jid.resource;
    if (resource) options.resource = resource;
    const host = config.host?.trim();
    if (host) options.host = host;
    if (config.port !== undefined && config.port !== '')
        options.port = numberField(config.port, 5222, 1, 65_535, 'Port', true);
    return options;
}
