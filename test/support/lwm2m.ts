/** Helpers for the LwM2M codec tests. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Lwm2mError } from '../../src/protocols/lwm2m';

/** Expects `fn` to throw an Lwm2mError with `reason` and a message matching `message`. */
export function refused(fn: () => unknown, reason: string, message: RegExp): void {
    assert.throws(fn, (e: unknown) => e instanceof Lwm2mError && e.reason === reason && message.test(e.message));
}

/**
 * The OMA registry copy in ../shared (next to the repository, or next to the repository a CI
 * clone was made from, or DERLINK_SHARED); undefined when none is there.
 */
export function registryDir(): string | undefined {
    const repo = path.join(__dirname, '../..');
    const candidates = [process.env.DERLINK_SHARED, path.join(repo, '../shared')];
    try {
        const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], {
            cwd: repo,
            encoding: 'utf8',
        }).trim();
        if (origin.startsWith('/')) candidates.push(path.join(origin, '../shared'));
    } catch {
        // not a clone
    }
    for (const c of candidates) {
        if (c && existsSync(path.join(c, 'lwm2m-registry'))) return path.join(c, 'lwm2m-registry');
    }
    return undefined;
}
