import { promises as dns } from 'node:dns';
import type { SrvRecord } from './session-types';
import type { StreamTarget } from './stream';
import type { TlsTrust } from './tls';

/** RFC 2782: lowest priority first; among equals, a weighted random choice. */
export function pickSrv(records: readonly SrvRecord[], random = Math.random): SrvRecord | undefined {
    const usable = records.filter((r) => r.name !== '.' && r.name !== '');
    if (usable.length === 0) return undefined;
    const best = Math.min(...usable.map((r) => r.priority));
    const group = usable.filter((r) => r.priority === best);
    const total = group.reduce((s, r) => s + r.weight, 0);
    if (total === 0) return group[Math.floor(random() * group.length)];
    // Weight-0 records keep the small chance RFC 2782 gives them: 1 in total + 1.
    const zero = group.filter((r) => r.weight === 0);
    let pick = random() * (zero.length > 0 ? total + 1 : total);
    if (zero.length > 0) {
        if (pick < 1) return zero[Math.floor(pick * zero.length)];
        pick -= 1;
    }
    for (const r of group) {
        pick -= r.weight;
        if (pick < 0) return r;
    }
    return group[group.length - 1];
}

export interface TargetOptions {
    domain: string;
    direct: boolean;
    trust: TlsTrust;
    host?: string | undefined;
    port?: number | undefined;
    /** A host:port the server redirected to (see-other-host), used once. */
    redirect?: string | undefined;
    resolveSrv?: ((name: string) => Promise<SrvRecord[]>) | undefined;
}

/**
 * Where to connect: a redirect, else the configured host, else DNS SRV (`_xmpps-client._tcp`
 * for direct TLS per XEP-0368, `_xmpp-client._tcp` per RFC 6120 §3.2.1), else the domain itself
 * on the default port (RFC 6120 §3.2.2).
 */
export async function resolveTarget(o: TargetOptions): Promise<StreamTarget> {
    const defaultPort = o.direct ? 5223 : 5222;
    const base = { direct: o.direct, domain: o.domain, trust: o.trust };
    if (o.redirect) {
        const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(o.redirect);
        if (m?.[1]) return { ...base, host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
    }
    if (o.host) return { ...base, host: o.host, port: o.port ?? defaultPort };
    const service = o.direct ? '_xmpps-client._tcp' : '_xmpp-client._tcp';
    try {
        const lookup = o.resolveSrv ?? ((name: string) => dns.resolveSrv(name));
        const record = pickSrv(await lookup(`${service}.${o.domain}`));
        if (record) return { ...base, host: record.name, port: record.port };
    } catch {
        // No SRV record: fall back to the domain itself.
    }
    return { ...base, host: o.domain, port: o.port ?? defaultPort };
}
