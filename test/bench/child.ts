/**
 * Runs one benchmark module in its own process (started by run.ts with `--import tsx` and an
 * IPC channel): calls its default export and sends the rows back, or the error.
 */
import { pathToFileURL } from 'node:url';
import type { Bench, BenchRow } from './lib';

export type ChildMessage = { rows: BenchRow[] } | { error: string };

function findBench(mod: unknown): Bench | undefined {
    // import() of a CommonJS module may hand back module.exports as `default`, whose own `default` is the function.
    let candidate = (mod as { default?: unknown } | undefined)?.default;
    if (typeof candidate !== 'function') candidate = (candidate as { default?: unknown } | undefined)?.default;
    return typeof candidate === 'function' ? (candidate as Bench) : undefined;
}

function reply(message: ChildMessage): Promise<void> {
    return new Promise((resolve) => {
        if (!process.send) {
            process.stdout.write(`${JSON.stringify(message)}\n`);
            resolve();
            return;
        }
        process.send(message, undefined, {}, () => resolve());
    });
}

async function main(): Promise<void> {
    const file = process.argv[2];
    if (!file) throw new Error('usage: child.ts <file.bench.ts>');
    const bench = findBench(await import(pathToFileURL(file).href));
    if (!bench) throw new Error(`${file} has no default export function`);
    const rows = await bench();
    if (!Array.isArray(rows)) throw new Error(`${file} did not return a list of rows`);
    await reply({ rows });
}

main()
    .catch(async (err: unknown) => {
        console.error(err instanceof Error ? (err.stack ?? err.message) : err);
        process.exitCode = 1;
        await reply({ error: err instanceof Error ? err.message : String(err) });
    })
    .finally(() => {
        if (process.connected) process.disconnect();
        // A bench that leaves sockets or timers behind would keep this process alive: say so, then leave.
        setTimeout(() => {
            const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
            console.error(
                `bench process still had open resources after finishing (${left.join(', ') || 'timers'}); exiting`,
            );
            process.exit(process.exitCode ?? 0);
        }, 5000).unref();
    });
