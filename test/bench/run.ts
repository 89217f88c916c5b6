/**
 * `npm run bench [-- name ...]`: runs every test/bench/*.bench.ts (or the named ones), each in
 * its own Node process, prints one table of the results, writes bench-results/<name>.json per
 * benchmark and bench-results/summary.md (every row of every result file, for the README).
 * Exits non-zero when a benchmark fails. Speed is reported here, never asserted.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import type { ChildMessage } from './child';
import { type BenchRow, markdownTable, textTable } from './lib';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = __dirname;
const RESULTS_DIR = path.join(ROOT, 'bench-results');
const SUFFIX = '.bench.ts';
/** A benchmark that runs longer than this is stopped and counted as failed. */
const BENCH_TIMEOUT_MS = 10 * 60_000;

function available(): string[] {
    return readdirSync(BENCH_DIR)
        .filter((f) => f.endsWith(SUFFIX))
        .map((f) => f.slice(0, -SUFFIX.length))
        .sort();
}

/** Accepts `xmpp-iq-echo`, `xmpp-iq-echo.bench.ts` or `test/bench/xmpp-iq-echo.bench.ts`. */
function selected(args: readonly string[], all: readonly string[]): string[] {
    if (args.length === 0) return [...all];
    const names = args.map((a) =>
        path
            .basename(a)
            .replace(/\.bench\.ts$/, '')
            .replace(/\.ts$/, ''),
    );
    const unknown = names.filter((n) => !all.includes(n));
    if (unknown.length > 0) {
        console.error(
            `Unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}; available: ${all.join(', ') || '(none)'}`,
        );
        process.exit(2);
    }
    return [...new Set(names)];
}

function runOne(name: string): Promise<BenchRow[]> {
    return new Promise((resolve, reject) => {
        const file = path.join(BENCH_DIR, `${name}${SUFFIX}`);
        const child = fork(path.join(BENCH_DIR, 'child.ts'), [file], {
            cwd: ROOT,
            execPath: process.execPath,
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        let message: ChildMessage | undefined;
        const timer = setTimeout(() => {
            console.error(`${name}: still running after ${BENCH_TIMEOUT_MS / 1000} s; stopping it`);
            child.kill('SIGTERM');
        }, BENCH_TIMEOUT_MS);
        child.on('message', (m: ChildMessage) => {
            message = m;
        });
        child.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            if (message && 'rows' in message && code === 0) resolve(message.rows);
            else if (message && 'error' in message) reject(new Error(message.error));
            else reject(new Error(`exited with ${signal ?? `code ${code}`} without results`));
        });
    });
}

function readResults(): Array<{ bench: string; rows: BenchRow[] }> {
    if (!existsSync(RESULTS_DIR)) return [];
    return readdirSync(RESULTS_DIR)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .flatMap((f) => {
            try {
                const rows = JSON.parse(readFileSync(path.join(RESULTS_DIR, f), 'utf8')) as BenchRow[];
                return Array.isArray(rows) ? [{ bench: f.slice(0, -'.json'.length), rows }] : [];
            } catch {
                console.error(`bench-results/${f} is not a list of rows; left out of summary.md`);
                return [];
            }
        });
}

function writeSummary(): void {
    const results = readResults();
    const lines = [
        '# Benchmark results',
        '',
        'Written by `npm run bench` from `bench-results/*.json`. `ratio` is value / baseline, both measured in the same run',
        'on the same machine; only ratios are meant to be compared across machines.',
        '',
        ...results.map(({ bench, rows }) => {
            const nodes = [...new Set(rows.map((r) => r.node))].join(', ');
            const dates = rows.map((r) => r.date).sort();
            return `- ${bench}: ${rows.length} rows, Node ${nodes}, ${dates[0] ?? '?'}`;
        }),
        '',
        markdownTable(results.flatMap((r) => r.rows)),
        '',
    ];
    writeFileSync(path.join(RESULTS_DIR, 'summary.md'), lines.join('\n'));
    updateReadme(results);
}

/** The README's performance table is generated: it is rewritten between its bench markers. */
function updateReadme(results: Array<{ bench: string; rows: BenchRow[] }>): void {
    const readme = path.join(ROOT, 'README.md');
    if (!existsSync(readme)) return;
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- bench:start -->';
    const end = '<!-- bench:end -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i === -1 || j < i) return;
    const rows = results.flatMap((r) => r.rows);
    const dates = rows.map((r) => r.date).sort();
    const when = `Measured ${dates[dates.length - 1]?.slice(0, 10) ?? '?'} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${[...new Set(rows.map((r) => r.node))].join(', ')}.`;
    const block = `${start}\n${when}\n\n${markdownTable(rows)}\n${end}`;
    writeFileSync(readme, text.slice(0, i) + block + text.slice(j + end.length));
}

async function main(): Promise<void> {
    const names = selected(process.argv.slice(2), available());
    if (names.length === 0) {
        console.error('No benchmarks found in test/bench');
        process.exit(1);
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    const rows: BenchRow[] = [];
    const failed: string[] = [];
    for (const name of names) {
        console.log(`\n== ${name}`);
        const started = Date.now();
        try {
            const result = await runOne(name);
            writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
            rows.push(...result);
            console.log(`== ${name}: ${result.length} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } catch (err) {
            failed.push(name);
            console.error(`== ${name} FAILED: ${(err as Error).message}`);
        }
    }
    if (rows.length > 0) {
        console.log(`\n${textTable(rows)}\n`);
        writeSummary();
        console.log(
            `Results in ${path.relative(process.cwd(), RESULTS_DIR) || '.'}/ (summary.md and one JSON file per benchmark)`,
        );
    }
    if (failed.length > 0) {
        console.error(`${failed.length} benchmark(s) failed: ${failed.join(', ')}`);
        process.exitCode = 1;
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
