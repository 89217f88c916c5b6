/**
 * Benchmarks measure the code as shipped: the protocol cores compiled in dist/. When DERLINK_GB_CODE=src, or when a
 * source is newer than its compiled file (no `npm run build` since the change), they measure src through tsx.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Every .ts under src/protocols/<dir>, as paths relative to src. */
function sources(dirs: readonly string[]): string[] {
    return dirs.flatMap((d) =>
        (readdirSync(path.join(ROOT, 'src', 'protocols', d), { recursive: true }) as string[])
            .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
            .map((f) => path.join('protocols', d, f)),
    );
}

/**
 * The compiled index of each protocol named by a key of `fromSource` (else those source modules), and which was
 * used. `check` lists every protocol folder the cores are built from; `quiet` keeps a worker from repeating the
 * notice.
 */
export function shippedCores<T extends Record<string, unknown>>(
    fromSource: T,
    check: readonly string[],
    quiet = false,
): { cores: T; code: string } {
    if ((process.env.DERLINK_GB_CODE ?? 'dist') === 'dist') {
        let stale: string | undefined;
        try {
            stale = sources(check).find(
                (f) =>
                    statSync(path.join(ROOT, 'src', f)).mtimeMs >
                    statSync(path.join(ROOT, 'dist', f.replace(/\.ts$/, '.js'))).mtimeMs,
            );
        } catch {
            stale = 'its compiled files (missing)';
        }
        if (!stale) {
            const load = createRequire(__filename);
            const cores = Object.fromEntries(
                Object.keys(fromSource).map((d) => [d, load(path.join(ROOT, 'dist', 'protocols', d, 'index.js'))]),
            ) as T;
            return { cores, code: 'dist' };
        }
        if (!quiet) console.error(`  dist is older than src/${stale} (npm run build): measuring src through tsx`);
    }
    return { cores: fromSource, code: 'src via tsx' };
}
