/**
 * The project's reference files in ../shared (the ESPI schemas, the OMA LwM2M registry), which tests may read but
 * the package never does: DERLINK_SHARED, next to the repository, or next to the repository a CI clone was made
 * from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The places ../shared may be, in order. */
function candidates(): string[] {
    const repo = path.join(__dirname, '../..');
    const out = [process.env.DERLINK_SHARED, path.join(repo, '../shared')];
    try {
        const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], {
            cwd: repo,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
        if (origin.startsWith('/')) out.push(path.join(origin, '../shared'));
    } catch {
        // not a clone
    }
    return out.filter((c): c is string => !!c);
}

/** The folder `sub` of ../shared that holds `marker`, or undefined when none is there. */
export function sharedDir(sub: string, marker = ''): string | undefined {
    for (const c of candidates()) {
        if (existsSync(path.join(c, sub, marker))) return path.join(c, sub);
    }
    return undefined;
}

/** As sharedDir, but a missing folder is an error naming where it was looked for. */
export function requireSharedDir(sub: string, marker = ''): string {
    const dir = sharedDir(sub, marker);
    if (dir) return dir;
    throw new Error(
        `${path.join(sub, marker)} was not found in ${candidates().join(', ')}; set DERLINK_SHARED to the shared folder`,
    );
}
