import { readFileSync } from 'node:fs';
/**
 * Shared helpers of the benchmark harness: a closed-loop load generator with latency
 * percentiles, the result row format of ARCHITECTURE.md ("Benchmark results"), and the
 * plain-text and markdown tables that `npm run bench` prints and writes.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One result; `bench-results/<bench>.json` is a list of these. */
export interface BenchRow {
    name: string;
    metric: string;
    value: number;
    unit: string;
    /** What the value is compared with, measured in the same run; null when nothing is. */
    baseline: { name: string; value: number } | null;
    /** value / baseline value; null without a baseline. */
    ratio: number | null;
    /** The aim, in words (e.g. ">= 0.9 of stock xmpp.js"); null when the row has none. */
    target: string | null;
    node: string;
    date: string;
}

/** What a `*.bench.ts` module exports as default. */
export type Bench = () => Promise<BenchRow[]>;

export interface RowInput {
    name: string;
    metric: string;
    value: number;
    unit: string;
    baseline?: { name: string; value: number } | undefined;
    target?: string | undefined;
}

/** Fills in ratio, node and date. */
export function row(input: RowInput): BenchRow {
    const baseline = input.baseline ?? null;
    return {
        name: input.name,
        metric: input.metric,
        value: input.value,
        unit: input.unit,
        baseline,
        ratio: baseline && baseline.value !== 0 ? input.value / baseline.value : null,
        target: input.target ?? null,
        node: process.version,
        date: new Date().toISOString(),
    };
}

/** Nearest-rank percentile of an ascending list (p in 0..100); NaN for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
    if (sorted.length === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface LoadOptions {
    /** Requests kept in flight at once (closed loop: each worker starts its next request when one ends). */
    concurrency: number;
    /** Run, but do not record, for this long first. */
    warmupMs: number;
    /** Recording window. */
    durationMs: number;
    /** Called as the recording window opens and as it closes (e.g. to sample another process's CPU). */
    onWindow?: ((edge: 'start' | 'end') => void) | undefined;
}

export interface LoadResult {
    /** Requests completed inside the recording window. */
    completed: number;
    /** Length of the recording window, measured. */
    seconds: number;
    perSecond: number;
    /** Latencies (ms) of requests that started and ended inside the window. */
    p50: number;
    p99: number;
    /** Those latencies, ascending. */
    latencies: number[];
    /** CPU time (user + system) this process spent inside the window, in microseconds. */
    cpuMicros: number;
    /** cpuMicros / completed: what one request costs the process, whatever else the machine is doing. */
    cpuMicrosPerRequest: number;
}

/**
 * Closed-loop load: `concurrency` workers each call `call()` again as soon as the previous call
 * settles, for warm-up plus duration. The first failure stops every worker and is thrown.
 */
export async function runLoad(call: () => Promise<void>, options: LoadOptions): Promise<LoadResult> {
    let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
    let windowStart = 0;
    let windowEnd = Number.POSITIVE_INFINITY;
    let completed = 0;
    const latencies: number[] = [];
    let cpuStart: NodeJS.CpuUsage | undefined;
    let cpu: NodeJS.CpuUsage | undefined;
    let failure: unknown;

    const warmupTimer = setTimeout(() => {
        phase = 'measure';
        options.onWindow?.('start');
        cpuStart = process.cpuUsage();
        windowStart = performance.now();
    }, options.warmupMs);
    const stopTimer = setTimeout(() => {
        windowEnd = performance.now();
        cpu = process.cpuUsage(cpuStart);
        phase = 'stop';
        options.onWindow?.('end');
    }, options.warmupMs + options.durationMs);

    const worker = async (): Promise<void> => {
        while (phase !== 'stop') {
            const t0 = performance.now();
            try {
                await call();
            } catch (err) {
                failure ??= err;
                phase = 'stop';
                return;
            }
            const t1 = performance.now();
            if (windowStart > 0 && t1 >= windowStart && t1 <= windowEnd) {
                completed++;
                if (t0 >= windowStart) latencies.push(t1 - t0);
            }
        }
    };
    try {
        await Promise.all(Array.from({ length: options.concurrency }, worker));
    } finally {
        clearTimeout(warmupTimer);
        clearTimeout(stopTimer);
    }
    if (failure !== undefined) throw failure;
    return loadResult(completed, (windowEnd - windowStart) / 1000, latencies, cpu ? cpu.user + cpu.system : Number.NaN);
}

/** A load's figures from its raw measurements (latencies in ms, any order; CPU in µs). */
export function loadResult(
    completed: number,
    seconds: number,
    latencies: readonly number[],
    cpuMicros: number,
): LoadResult {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
        completed,
        seconds,
        perSecond: completed / seconds,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        latencies: sorted,
        cpuMicros,
        cpuMicrosPerRequest: cpuMicros / completed,
    };
}

/**
 * The rows comparing one load with its baseline: rate, p50 and p99 latency, and (under load
 * only: with one request in flight the process idles and timers, GC and the like swamp the
 * per-request cost) CPU per request.
 */
export function comparisonRows(
    name: string,
    subject: LoadResult,
    baselineName: string,
    baseline: LoadResult,
    labels: { rate: string; rateUnit: string; cpu: string; concurrency: number; target?: string | undefined },
): BenchRow[] {
    const rows = [
        row({
            name,
            metric: labels.rate,
            value: subject.perSecond,
            unit: labels.rateUnit,
            baseline: { name: baselineName, value: baseline.perSecond },
            ...(labels.target ? { target: labels.target } : {}),
        }),
        row({
            name,
            metric: 'p50 latency',
            value: subject.p50,
            unit: 'ms',
            baseline: { name: baselineName, value: baseline.p50 },
        }),
        row({
            name,
            metric: 'p99 latency',
            value: subject.p99,
            unit: 'ms',
            baseline: { name: baselineName, value: baseline.p99 },
        }),
    ];
    if (labels.concurrency > 1) {
        rows.push(
            row({
                name,
                metric: labels.cpu,
                value: subject.cpuMicrosPerRequest,
                unit: 'µs',
                baseline: { name: baselineName, value: baseline.cpuMicrosPerRequest },
            }),
        );
    }
    return rows;
}

/** Several runs of the same load (rounds) as one: total requests over total time, pooled latencies. */
export function mergeLoads(results: readonly LoadResult[]): LoadResult {
    const completed = results.reduce((s, r) => s + r.completed, 0);
    const seconds = results.reduce((s, r) => s + r.seconds, 0);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const cpuMicros = results.reduce((s, r) => s + r.cpuMicros, 0);
    return {
        completed,
        seconds,
        perSecond: completed / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        latencies,
        cpuMicros,
        cpuMicrosPerRequest: cpuMicros / completed,
    };
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** A readable number: integers for large values, three significant digits for small ones. */
export function formatValue(value: number): string {
    if (!Number.isFinite(value)) return String(value);
    const abs = Math.abs(value);
    if (abs >= 100) return Math.round(value).toString();
    if (abs >= 10) return value.toFixed(1);
    return value.toFixed(2);
}

const COLUMNS = ['name', 'metric', 'value', 'unit', 'baseline', 'ratio'] as const;

function cells(r: BenchRow): string[] {
    return [
        r.name,
        r.metric,
        formatValue(r.value),
        r.unit,
        r.baseline ? `${r.baseline.name} = ${formatValue(r.baseline.value)}` : '-',
        r.ratio === null ? '-' : r.ratio.toFixed(2),
    ];
}

/** The console table: name, metric, value, unit, baseline, ratio. */
export function textTable(rows: readonly BenchRow[]): string {
    const body = rows.map(cells);
    const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((b) => (b[i] ?? '').length)));
    const numeric = new Set([2, 5]);
    const line = (values: readonly string[]) =>
        values
            .map((v, i) => (numeric.has(i) ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
            .join('  ')
            .trimEnd();
    return [line(COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function mdCell(s: string): string {
    return s.replace(/\|/g, '\\|');
}

/** A markdown table of every row, with the aim of each row and where it was measured. */
export function markdownTable(rows: readonly BenchRow[]): string {
    const header = ['name', 'metric', 'value', 'unit', 'baseline', 'ratio', 'target'];
    const out = [
        `| ${header.join(' | ')} |`,
        `| ${header.map((_, i) => (i === 2 || i === 5 ? '---:' : '---')).join(' | ')} |`,
    ];
    for (const r of rows) out.push(`| ${[...cells(r), r.target ?? ''].map(mdCell).join(' | ')} |`);
    return out.join('\n');
}

/** A full GC in this process, also when Node was started without --expose-gc. */
export function collector(): () => void {
    let gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as () => void;
    }
    return () => {
        gc();
        gc();
    };
}

/** The soft limit on open files of a process (Linux /proc), or NaN. */
export function openFilesLimit(pid: number | 'self'): number {
    try {
        const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
            .split('\n')
            .find((l) => l.startsWith('Max open files'));
        const soft = line?.split(/\s{2,}/)[1];
        return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
    } catch {
        return Number.NaN;
    }
}
