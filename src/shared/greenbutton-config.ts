/**
 * Editor settings shared by greenbutton-out and greenbutton-server, checked the same way the editor checks them,
 * into the core's GatewayInfo.
 */
import { type BlockGrouping, type GatewayInfo, localTimeParameters, SERVICE_KIND } from '../protocols/greenbutton';
import { NodeError } from './errors';

export interface GatewayConfig {
    baseUrl?: string;
    subscriptionId?: string;
    usagePointId?: string;
    title?: string;
    timezone?: string;
    grouping?: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
export const GROUPINGS: readonly BlockGrouping[] = ['reading', 'hour', 'day'];

/** The Node-RED host's IANA zone. */
export function hostZone(): string {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** An absolute http(s) URL without query, fragment or trailing slash. */
export function checkBaseUrl(v: string, label = 'Base URL'): string {
    let u: URL;
    try {
        u = new URL(v);
    } catch {
        throw new NodeError('CONFIG', `${label} "${v}" is not an absolute URL such as https://gateway.local:8443`);
    }
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search || u.hash || v.endsWith('/') || u.username)
        throw new NodeError(
            'CONFIG',
            `${label} "${v}" must be http(s)://host[:port][/path] with no trailing slash or query`,
        );
    return v;
}

export function gatewayInfo(config: GatewayConfig, defaultBaseUrl: string): GatewayInfo {
    const baseUrl = checkBaseUrl(config.baseUrl?.trim() || defaultBaseUrl);
    const subscriptionId = config.subscriptionId?.trim() || '1';
    const usagePointId = config.usagePointId?.trim() || '1';
    for (const [label, v] of [
        ['Subscription id', subscriptionId],
        ['Usage point id', usagePointId],
    ] as const) {
        if (!ID.test(v)) throw new NodeError('CONFIG', `${label} "${v}" must be 1-64 letters, digits, _ or -`);
    }
    const zone = config.timezone?.trim() || hostZone();
    let localTime: GatewayInfo['localTime'];
    try {
        localTime = localTimeParameters(zone);
    } catch (err) {
        throw new NodeError('CONFIG', (err as Error).message);
    }
    return {
        baseUrl,
        subscriptionId,
        usagePointId,
        title: config.title?.trim() || 'Home electricity meter',
        serviceKind: SERVICE_KIND.electricity,
        localTime,
    };
}

export function grouping(v: string | undefined): BlockGrouping {
    if (v === undefined || v === '') return 'reading';
    if (!(GROUPINGS as readonly string[]).includes(v))
        throw new NodeError('CONFIG', `Blocks "${v}" must be one of ${GROUPINGS.join(', ')}`);
    return v as BlockGrouping;
}
