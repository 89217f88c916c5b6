/**
 * Serialising a year of interval data as Green Button: 35,040 readings (one year of 15-minute energy deltas in Wh,
 * a daily load curve with a winter bump and seeded noise, local days of Europe/Oslo in 2025, DST days included) in
 * a History of the same capacity, written as the ESPI Atom feed of IntervalBlocks grouped per local day (365
 * entries) through the REST router, `GET .../MeterReading/1/IntervalBlock?published-min=…&published-max=…`:
 *  - render: the response's chunks joined into one string by atom.ts's render(), its UTF-8 length taken (what
 *    sending it as one body costs: Buffer.from flattens the string the same way);
 *  - stream: the chunks consumed one by one into a sink that only counts their UTF-8 bytes (what the server's
 *    stream() does before handing each chunk to the socket).
 * Baseline, in the same process: JSON.stringify of the same 35,040 readings as an array of { time, value, quality }
 * objects (quality left out where a reading has none, as the feed leaves out ReadingQuality), UTF-8 length taken.
 *
 * Time: the median of BENCH_ROUNDS (21) rounds after 3 warm-up rounds, the three contenders interleaved in a
 * rotating order, each run started after a full GC (so it pays for its own garbage only). Target: at most 3x
 * JSON.stringify.
 *
 * Peak memory: each contender in a fresh process of its own (this file, forked with --expose-gc), which builds the
 * same state (the History and the object array), collects garbage, then runs the contender once cold and, after
 * five warm-up runs, once warm. Reported above the state with the readings loaded (used heap after a full GC):
 *  - peak heap: the largest used heap size seen before any GC during the run (node:v8 GCProfiler) or at its end:
 *    live data plus garbage not yet collected, as the heap actually grew (warm run);
 *  - the same with a 1 MB young generation (--max-semi-space-size=1, second set of processes): garbage is then
 *    collected every MB or so, which leaves about what the contender holds at once;
 *  - peak RSS: the process's high-water mark (getrusage maxrss) after the cold run, minus RSS in the loaded state.
 * Ratios are to JSON.stringify's figure measured the same way.
 *
 * Checked once, outside the timing: the feed is well-formed XML (fast-xml-parser's XMLValidator), has one feed
 * element, 365 IntervalBlock entries and 35,040 IntervalReadings (tags counted), its values add up to the readings'
 * total, and the streamed chunks join to the rendered string.
 *
 * The Green Button code measured is the compiled one in dist/ (which `npm run bench` builds first) unless dist is
 * older than the sources or DERLINK_GB_CODE=src: then src through tsx (esbuild's keepNames adds work per closure).
 *
 * Knobs (environment): BENCH_ROUNDS (21), DERLINK_GB_CODE (dist or src).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { XMLValidator } from 'fast-xml-parser';
import * as sourceGreenButton from '../../src/protocols/greenbutton';
import { createRng } from '../../src/protocols/sep/simulator';
import { type BenchRow, collector, row } from './lib';
import { shippedCores } from './shipped';

type GreenButton = typeof import('../../src/protocols/greenbutton');

const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS) || 21));
const WARMUP_ROUNDS = 3;
const READINGS = 35_040;
const INTERVAL_S = 900;
const ZONE = 'Europe/Oslo';
const YEAR = 2025;
const SEED = 0x6b6e;
const PATH = '/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock';
const WORKER_FLAG = '--greenbutton-memory-worker';
const MB = 1024 * 1024;

const ROOT = path.resolve(__dirname, '..', '..');

/** The Green Button core as shipped (dist/) unless DERLINK_GB_CODE=src or dist is older than a source. */
function loadGreenButton(): { gb: GreenButton; code: string } {
    const { cores, code } = shippedCores(
        { greenbutton: sourceGreenButton },
        ['greenbutton', 'xml', 'sep'],
        process.argv[2] === WORKER_FLAG,
    );
    return { gb: cores.greenbutton as GreenButton, code };
}

/** A household's energy per 15 minutes in Wh at a local hour of a day of the year. */
function loadCurveWh(hour: number, dayOfYear: number, random: () => number): number {
    const bump = (h: number, centre: number, width: number) => Math.exp(-(((h - centre) / width) ** 2));
    const winter = 1 + 0.6 * Math.cos((2 * Math.PI * (dayOfYear - 15)) / 365);
    const kW =
        0.3 + // standby
        winter * (0.25 + 1.2 * bump(hour, 7.5, 1.2) + 1.8 * bump(hour, 18.5, 2.2) + 0.4 * bump(hour, 12.5, 1.5)) +
        (random() < 0.04 ? 1.5 + 2 * random() : 0); // a kettle, an oven, a sauna
    const noise = 1 + 0.15 * (random() - 0.5);
    return Math.max(0, Math.round(kW * noise * 250)); // kW over a quarter hour, in Wh
}

interface Fixture {
    gb: GreenButton;
    code: string;
    service: InstanceType<GreenButton['GreenButtonService']>;
    query: string;
    /** The baseline's input: the same readings as plain objects. */
    objects: Array<{ time: number; value: number; quality: number | undefined }>;
    totalWh: number;
    days: number;
}

function fixture(): Fixture {
    const { gb, code } = loadGreenButton();
    const localTime = gb.localTimeParameters(ZONE, YEAR);
    const start = gb.localDayStart(ZONE, Date.UTC(YEAR, 0, 1, 12));
    const end = gb.localDayStart(ZONE, Date.UTC(YEAR + 1, 0, 1, 12));
    if ((end - start) / 1000 / INTERVAL_S !== READINGS) throw new Error(`${YEAR} in ${ZONE} is not ${READINGS} slots`);
    const history = new gb.History({ capacity: READINGS, now: () => start });
    const spec = {
        unit: 'Wh',
        accumulation: 'deltaData',
        intervalLength: INTERVAL_S,
        resolution: 1,
        title: 'Energy delivered per 15 minutes',
    } as const;
    const random = createRng(SEED);
    const objects: Fixture['objects'] = [];
    let totalWh = 0;
    for (let i = 0; i < READINGS; i++) {
        const time = start + i * INTERVAL_S * 1000;
        const local = time + gb.offsetAt(ZONE, time) * 1000;
        const hour = (local % 86_400_000) / 3_600_000;
        const dayOfYear = Math.floor((local - Date.UTC(YEAR, 0, 1)) / 86_400_000);
        const value = loadCurveWh(hour, dayOfYear, random);
        // A reading in 500 was estimated or questionable: ReadingQuality in the feed, "quality" in the JSON.
        const quality = i % 500 === 499 ? gb.QUALITY_OF_READING.questionable : undefined;
        history.add('energy', spec, { time, value, ...(quality === undefined ? {} : { quality }) });
        objects.push({ time, value, quality });
        totalWh += value;
    }
    const service = new gb.GreenButtonService({
        info: {
            baseUrl: 'https://gateway.local:8443',
            subscriptionId: '1',
            usagePointId: '1',
            title: 'House meter',
            serviceKind: gb.SERVICE_KIND.electricity,
            localTime,
        },
        history,
        grouping: 'day',
    });
    const query = `?published-min=${gb.atomDate(start)}&published-max=${gb.atomDate(end)}`;
    return { gb, code, service, query, objects, totalWh, days: Math.round((end - start) / 86_400_000) };
}

type Variant = 'json' | 'render' | 'stream';
const VARIANTS: readonly Variant[] = ['json', 'render', 'stream'];

/** The feed's chunks for one request, as the server gets them. */
function chunks(f: Fixture): Iterable<string> {
    const r = f.service.handle('GET', PATH, f.query);
    if (r.status !== 200 || typeof r.body === 'string')
        throw new Error(`the IntervalBlock feed answered ${r.status}: ${String(r.body).slice(0, 200)}`);
    return r.body;
}

/** Each contender: one whole serialisation, returning the UTF-8 bytes it produced. */
function operations(f: Fixture): Record<Variant, () => number> {
    return {
        json: () => Buffer.byteLength(JSON.stringify(f.objects)),
        render: () => Buffer.byteLength(f.gb.render(chunks(f))),
        stream: () => {
            let bytes = 0;
            for (const c of chunks(f)) bytes += Buffer.byteLength(c);
            return bytes;
        },
    };
}

function count(text: string, needle: string): number {
    let n = 0;
    for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
    return n;
}

/** The feed is a well-formed document holding the whole year, or this throws. */
function validate(f: Fixture): { bytes: number; entries: number; readings: number } {
    const text = f.gb.render(chunks(f));
    const streamed = [...chunks(f)].join('');
    if (streamed !== text) throw new Error('the streamed chunks differ from the rendered feed');
    const wellFormed = XMLValidator.validate(text);
    if (wellFormed !== true) throw new Error(`the feed is not well-formed XML: ${JSON.stringify(wellFormed.err)}`);
    const counts = {
        feed: count(text, '<feed '),
        entries: count(text, '<entry>'),
        entriesClosed: count(text, '</entry>'),
        blocks: count(text, '<espi:IntervalBlock>'),
        readings: count(text, '<espi:IntervalReading>'),
        readingsClosed: count(text, '</espi:IntervalReading>'),
        qualities: count(text, '<espi:ReadingQuality>'),
    };
    const expectQualities = f.objects.filter((o) => o.quality !== undefined).length;
    if (
        counts.feed !== 1 ||
        counts.entries !== f.days ||
        counts.entriesClosed !== f.days ||
        counts.blocks !== f.days ||
        counts.readings !== READINGS ||
        counts.readingsClosed !== READINGS ||
        counts.qualities !== expectQualities
    )
        throw new Error(
            `the feed holds ${JSON.stringify(counts)}; expected 1 feed, ${f.days} entries and IntervalBlocks, ${READINGS} IntervalReadings, ${expectQualities} ReadingQuality`,
        );
    let sum = 0;
    for (const m of text.matchAll(/<espi:value>(-?\d+)<\/espi:value>/g)) sum += Number(m[1]);
    if (sum !== f.totalWh) throw new Error(`the feed's values add up to ${sum} Wh, the readings to ${f.totalWh} Wh`);
    return { bytes: Buffer.byteLength(text), entries: counts.entries, readings: counts.readings };
}

function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] as number;
}

// ---- peak memory, in a fresh process per contender -------------------------------------------------------------

interface MemoryReport {
    variant: Variant;
    bytes: number;
    /** Used heap after a full GC with the readings loaded. */
    heapLoaded: number;
    rssLoaded: number;
    /** Highest RSS of the process before the cold run (start-up and loading). */
    maxRssBefore: number;
    /** Peak used heap above heapLoaded: cold (first) run and warm run. */
    coldHeapPeak: number;
    warmHeapPeak: number;
    /** GCs during the warm run. */
    warmGcs: number;
    /** Highest RSS after the cold run, above rssLoaded. */
    rssPeak: number;
}

/** Peak used heap during `op` (before each GC and at the end), and how many GCs ran. */
function heapPeak(op: () => number): { peak: number; gcs: number; bytes: number } {
    const profiler = new GCProfiler();
    profiler.start();
    const bytes = op();
    const end = getHeapStatistics().used_heap_size;
    const stats = profiler.stop()?.statistics ?? [];
    let peak = end;
    for (const s of stats) peak = Math.max(peak, s.beforeGC.heapStatistics.usedHeapSize);
    return { peak, gcs: stats.length, bytes };
}

async function memoryWorker(variant: Variant): Promise<void> {
    const gc = collector();
    const f = fixture();
    const op = operations(f)[variant];
    gc();
    const heapLoaded = getHeapStatistics().used_heap_size;
    const rssLoaded = process.memoryUsage.rss();
    const maxRssBefore = process.resourceUsage().maxRSS * 1024;
    const cold = heapPeak(op);
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    for (let i = 0; i < 5; i++) op();
    gc();
    const warm = heapPeak(op);
    const report: MemoryReport = {
        variant,
        bytes: warm.bytes,
        heapLoaded,
        rssLoaded,
        maxRssBefore,
        coldHeapPeak: cold.peak - heapLoaded,
        warmHeapPeak: warm.peak - heapLoaded,
        warmGcs: warm.gcs,
        rssPeak: maxRssAfter - rssLoaded,
    };
    await new Promise<void>((resolve) => process.send?.(report, undefined, {}, () => resolve()) ?? resolve());
}

function measureMemory(variant: Variant, extraFlags: readonly string[]): Promise<MemoryReport> {
    return new Promise((resolve, reject) => {
        const child = fork(__filename, [WORKER_FLAG, variant], {
            cwd: ROOT,
            execPath: process.execPath,
            execArgv: ['--import', 'tsx', '--expose-gc', ...extraFlags],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        let report: MemoryReport | undefined;
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('message', (m: MemoryReport) => {
            report = m;
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            if (report) resolve(report);
            else
                reject(new Error(`memory worker for ${variant} exited with ${signal ?? `code ${code}`} and no report`));
        });
    });
}

// ---- the benchmark -------------------------------------------------------------------------------------------------

export default async function bench(): Promise<BenchRow[]> {
    const t0 = performance.now();
    const f = fixture();
    console.error(
        `  ${READINGS} readings (${f.days} local days of ${ZONE} in ${YEAR}, ${f.totalWh / 1000} kWh) loaded in ${(performance.now() - t0).toFixed(0)} ms; Green Button code from ${f.code}`,
    );
    const checked = validate(f);
    const ops = operations(f);
    const jsonBytes = ops.json();
    console.error(
        `  checked: well-formed feed of ${checked.bytes} bytes, ${checked.entries} IntervalBlock entries, ${checked.readings} IntervalReadings; JSON ${jsonBytes} bytes`,
    );

    // ---- time
    const gc = collector();
    const times: Record<Variant, number[]> = { json: [], render: [], stream: [] };
    const sizes: Record<Variant, number> = { json: 0, render: 0, stream: 0 };
    for (let r = -WARMUP_ROUNDS; r < ROUNDS; r++) {
        const k = ((r % 3) + 3) % 3;
        for (const v of [...VARIANTS.slice(k), ...VARIANTS.slice(0, k)]) {
            gc(); // every run starts from the same heap and pays for its own garbage only
            const s = performance.now();
            sizes[v] = ops[v]();
            const ms = performance.now() - s;
            if (r >= 0) times[v].push(ms);
        }
    }
    if (sizes.render !== checked.bytes || sizes.stream !== checked.bytes || sizes.json !== jsonBytes)
        throw new Error(`sizes changed between runs: ${JSON.stringify(sizes)}`);
    const ms = { json: median(times.json), render: median(times.render), stream: median(times.stream) };
    const spread = (v: Variant) => `${Math.min(...times[v]).toFixed(1)}-${Math.max(...times[v]).toFixed(1)}`;
    console.error(
        `  time, median of ${ROUNDS} (range): JSON.stringify ${ms.json.toFixed(1)} ms (${spread('json')}), render ${ms.render.toFixed(1)} ms (${spread('render')}), stream ${ms.stream.toFixed(1)} ms (${spread('stream')})`,
    );

    // ---- peak memory, each contender in fresh processes
    const memory: Record<string, Record<Variant, MemoryReport>> = {};
    for (const [label, flags] of [
        ['default', []],
        ['small young generation', ['--max-semi-space-size=1']],
    ] as const) {
        const set = {} as Record<Variant, MemoryReport>;
        for (const v of VARIANTS) set[v] = await measureMemory(v, flags);
        memory[label] = set;
        for (const v of VARIANTS) {
            const m = set[v];
            console.error(
                `  memory (${label}), ${v}: heap loaded ${(m.heapLoaded / MB).toFixed(1)} MB, peak extra heap cold ${(m.coldHeapPeak / MB).toFixed(2)} MB, warm ${(m.warmHeapPeak / MB).toFixed(2)} MB (${m.warmGcs} GCs); RSS loaded ${(m.rssLoaded / MB).toFixed(1)} MB (high-water before ${(m.maxRssBefore / MB).toFixed(1)} MB), peak extra RSS ${(m.rssPeak / MB).toFixed(2)} MB`,
            );
        }
    }
    const def = memory.default as Record<Variant, MemoryReport>;
    const small = memory['small young generation'] as Record<Variant, MemoryReport>;

    const name = `greenbutton-serialise (${f.code}): ${READINGS} readings, 1 year of 15 min, ${f.days} day blocks`;
    const jsonName = `JSON.stringify of ${READINGS} {time, value, quality}`;
    const label = { render: 'render() to one string', stream: 'streamed chunks, byte-counting sink' } as const;
    const rows: BenchRow[] = [];
    for (const v of ['render', 'stream'] as const) {
        rows.push(
            row({
                name,
                metric: `${label[v]}: time per serialisation`,
                value: ms[v],
                unit: 'ms',
                baseline: { name: jsonName, value: ms.json },
                target: '<= 3x JSON.stringify',
            }),
        );
    }
    for (const v of ['render', 'stream'] as const) {
        rows.push(
            row({
                name,
                metric: `${label[v]}: peak extra heap`,
                value: def[v].warmHeapPeak / MB,
                unit: 'MB',
                baseline: { name: jsonName, value: def.json.warmHeapPeak / MB },
            }),
            row({
                name,
                metric: `${label[v]}: peak extra heap, 1 MB young generation`,
                value: small[v].warmHeapPeak / MB,
                unit: 'MB',
                baseline: { name: jsonName, value: small.json.warmHeapPeak / MB },
            }),
            row({
                name,
                metric: `${label[v]}: peak extra RSS (fresh process)`,
                value: def[v].rssPeak / MB,
                unit: 'MB',
                baseline: { name: jsonName, value: def.json.rssPeak / MB },
            }),
        );
    }
    rows.push(
        row({
            name,
            metric: 'output size (Atom feed, render and stream alike)',
            value: checked.bytes,
            unit: 'bytes',
            baseline: { name: jsonName, value: jsonBytes },
        }),
    );
    return rows;
}

if (require.main === module && process.argv[2] === WORKER_FLAG) {
    memoryWorker(process.argv[3] as Variant).catch((err: unknown) => {
        console.error(err);
        process.exitCode = 1;
    });
}
