import { Lwm2mError } from './errors';

/**
 * An LwM2M path (Core §6.1 / §7.1): object, instance, resource, resource instance, each
 * 0..65535 (65535 is reserved and refused); `/` alone is the root.
 */
export interface Lwm2mPath {
    objectId?: number;
    instanceId?: number;
    resourceId?: number;
    resourceInstanceId?: number;
}

const PARTS = ['objectId', 'instanceId', 'resourceId', 'resourceInstanceId'] as const;

/** Parses `/3316/0/5700` (also without the leading slash; a trailing slash is allowed). */
export function parsePath(text: string): Lwm2mPath {
    if (typeof text !== 'string' || text.length > 64) throw new Lwm2mError('malformed', 'an LwM2M path is /O/I/R/RI');
    const body = text.replace(/^\//, '').replace(/\/$/, '');
    if (body === '') return {};
    const parts = body.split('/');
    if (parts.length > 4) throw new Lwm2mError('malformed', `${text}: more than 4 path levels`);
    const path: Lwm2mPath = {};
    parts.forEach((p, i) => {
        if (!/^(0|[1-9][0-9]{0,4})$/.test(p) || Number(p) >= 0xffff)
            throw new Lwm2mError('malformed', `${text}: '${p}' is not an ID of 0..65534`);
        path[PARTS[i] as keyof Lwm2mPath] = Number(p);
    });
    return path;
}

/** `/3316/0/5700` of a path; `/` for the root. */
export function formatPath(path: Lwm2mPath): string {
    const ids: number[] = [];
    for (const k of PARTS) {
        const v = path[k];
        if (v === undefined) break;
        if (!Number.isInteger(v) || v < 0 || v >= 0xffff)
            throw new Lwm2mError('wrong-type', `${k} ${v} is not 0..65534`);
        ids.push(v);
    }
    return `/${ids.join('/')}`;
}
