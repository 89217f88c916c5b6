/**
 * Who may read or control an iot-sensor / iot-actuator: roster friends, an allowlist, anyone,
 * or a provisioning server (XEP-0324) that decides and whose answers are cached.
 */
import { JidMatcher, type Session, tryParseJid } from '../protocols/xmpp';
import { NodeError } from './errors';
import { listField } from './xmpp-config';

export type AccessMode = 'roster' | 'allowlist' | 'anyone' | 'provisioning';

export interface AccessConfig {
    access?: string;
    allowlist?: string;
    provisioning?: string;
}

export function accessMode(config: AccessConfig): AccessMode {
    const mode = config.access ?? 'roster';
    if (mode !== 'roster' && mode !== 'allowlist' && mode !== 'anyone' && mode !== 'provisioning') {
        throw new NodeError('CONFIG', `Access "${mode}" is not one of roster, allowlist, anyone, provisioning`);
    }
    if (mode === 'provisioning' && !tryParseJid(config.provisioning?.trim())) {
        throw new NodeError('CONFIG', 'Access "provisioning" needs the JID of the provisioning server');
    }
    if (mode === 'allowlist') allowlistMatcher(config.allowlist);
    return mode;
}

function allowlistMatcher(allowlist: string | undefined): JidMatcher {
    const patterns = listField(allowlist);
    if (patterns.length === 0) throw new NodeError('CONFIG', 'Access "allowlist" needs at least one JID or domain');
    try {
        return new JidMatcher(patterns);
    } catch (err) {
        throw new NodeError('CONFIG', `Allowlist: ${(err as Error).message}`);
    }
}

/**
 * The simple access check (roster / allowlist / anyone): a function of the requester's JID.
 * Provisioning is asynchronous and lives in the node files, which call the provisioning client.
 */
export function simpleAccess(session: Session, config: AccessConfig): (from: string) => boolean {
    const mode = accessMode(config);
    if (mode === 'anyone') return () => true;
    if (mode === 'allowlist') {
        const matcher = allowlistMatcher(config.allowlist);
        return (from) => matcher.matches(from);
    }
    // roster (and the fallback for provisioning until the server answers): friends who see our presence.
    return (from) => {
        const bare = tryParseJid(from)?.bare;
        if (!bare) return false;
        if (bare === session.account.bare) return true;
        const s = session.roster.find((i) => i.jid === bare)?.subscription;
        return s === 'from' || s === 'both';
    };
}
