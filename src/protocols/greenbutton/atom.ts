/**
 * The Atom writer for ESPI resources. Entries follow the GBA Atom conventions (design note A.2.1): an urn:uuid id
 * from the absolute self href, `self`, `up` (the collection) and `related` links with espi-entry/espi-feed types,
 * title, content, published, updated. Documents are produced as a sequence of string chunks so large feeds can be
 * streamed; `render` joins them when a whole string is wanted.
 */
import { escapeAttr, escapeText } from '../xml';
import { ATOM_NS, ESPI_NS, QUALITY_OF_READING, SERVICE_STATUS } from './codes';
import type { History, Reading, Series } from './history';
import { hex32, type LocalTimeParameters, localDayStart } from './local-time';
import { READING_TYPE_ORDER, toInt48 } from './reading-type';
import { uuidV5Url } from './uuid';

export interface GatewayInfo {
    /** Absolute base of every href, without a trailing slash: https://gw.local:8443 */
    baseUrl: string;
    subscriptionId: string;
    usagePointId: string;
    /** The UsagePoint's title (the meter's name). */
    title: string;
    /** ServiceKind of the UsagePoint (0 electricity). */
    serviceKind: number;
    localTime: LocalTimeParameters;
}

/** How readings are put into IntervalBlocks: one block per reading (a poll), per clock hour or per local day. */
export type BlockGrouping = 'reading' | 'hour' | 'day';

/** The GBA URI scheme (design note A.3.1), as absolute hrefs. */
export class Hrefs {
    readonly root: string;
    readonly upCollection: string;
    readonly up: string;
    readonly batch: string;
    readonly readingTypes: string;
    readonly localTimes: string;
    readonly localTime: string;
    readonly serviceStatus: string;

    constructor(info: GatewayInfo) {
        this.root = `${info.baseUrl}/espi/1_1/resource`;
        const sid = encodeURIComponent(info.subscriptionId);
        this.upCollection = `${this.root}/Subscription/${sid}/UsagePoint`;
        this.up = `${this.upCollection}/${encodeURIComponent(info.usagePointId)}`;
        this.batch = `${this.root}/Batch/Subscription/${sid}`;
        this.readingTypes = `${this.root}/ReadingType`;
        this.localTimes = `${this.root}/LocalTimeParameters`;
        this.localTime = `${this.localTimes}/1`;
        this.serviceStatus = `${this.root}/ReadServiceStatus`;
    }

    get meterReadings(): string {
        return `${this.up}/MeterReading`;
    }
    meterReading(id: string): string {
        return `${this.meterReadings}/${id}`;
    }
    intervalBlocks(mrId: string): string {
        return `${this.meterReading(mrId)}/IntervalBlock`;
    }
    intervalBlock(mrId: string, ibId: number): string {
        return `${this.intervalBlocks(mrId)}/${ibId}`;
    }
    readingType(id: string): string {
        return `${this.readingTypes}/${id}`;
    }
    get summaries(): string {
        return `${this.up}/ElectricPowerUsageSummary`;
    }
    get summary(): string {
        return `${this.summaries}/1`;
    }
}

/** RFC 3339 UTC without a zero fraction, as Atom dates are usually written. */
export function atomDate(ms: number): string {
    const iso = new Date(ms).toISOString();
    return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

type Link = readonly [href: string, type: string];

interface EntryParts {
    self: Link;
    up: Link;
    related?: readonly Link[];
    title: string;
    content: string;
    published: number;
    updated: number;
}

const link = (rel: string, [href, type]: Link) =>
    `<link rel="${rel}" href="${escapeAttr(href)}" type="${escapeAttr(type)}"/>`;

/** One Atom entry (no namespace declarations: a feed declares them, `entryDocument` adds them for a lone entry). */
export function entry(p: EntryParts): string {
    let links = link('self', p.self) + link('up', p.up);
    for (const r of p.related ?? []) links += link('related', r);
    const title = p.title === '' ? '<title/>' : `<title>${escapeText(p.title)}</title>`;
    return (
        `<entry><id>urn:uuid:${uuidV5Url(p.self[0])}</id>${links}${title}<content>${p.content}</content>` +
        `<published>${atomDate(p.published)}</published><updated>${atomDate(p.updated)}</updated></entry>\n`
    );
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = `xmlns="${ATOM_NS}" xmlns:espi="${ESPI_NS}"`;

/** A lone entry as a document, with the Atom and ESPI namespaces declared on it. */
export function entryDocument(entryXml: string): string {
    return `${XML_DECL}<entry ${NS}>${entryXml.slice('<entry>'.length)}`;
}

export interface FeedHead {
    /** The feed's self href (the request URI, query included). */
    self: string;
    /** espi-feed/… type of the self link. */
    type: string;
    title: string;
    updated: number;
    /** Name for the feed id; the self href without its query when absent. */
    idName?: string;
}

/** An Atom feed as chunks: the head, each entry as it is produced, the tail. */
export function* feed(head: FeedHead, entries: Iterable<string>): Generator<string> {
    const idName = head.idName ?? head.self.split('?')[0] ?? head.self;
    yield `${XML_DECL}<feed ${NS}>\n<id>urn:uuid:${uuidV5Url(idName)}</id><title>${escapeText(head.title)}</title>` +
        `<updated>${atomDate(head.updated)}</updated>${link('self', [head.self, head.type])}\n`;
    yield* entries;
    yield '</feed>\n';
}

/** Joins a chunked document. */
export function render(chunks: Iterable<string>): string {
    // One join makes one flat string; `+=` would keep every piece alive in a rope until the end.
    return Array.from(chunks).join('');
}

const el = (name: string, value: string | number) => `<espi:${name}>${value}</espi:${name}>`;

export function usagePointEntry(info: GatewayInfo, h: Hrefs, history: History, withSummary: boolean): string {
    const related: Link[] = [
        [h.meterReadings, 'espi-feed/MeterReading'],
        [h.localTime, 'espi-entry/LocalTimeParameters'],
    ];
    if (withSummary) related.push([h.summaries, 'espi-feed/ElectricPowerUsageSummary']);
    return entry({
        self: [h.up, 'espi-entry/UsagePoint'],
        up: [h.upCollection, 'espi-feed/UsagePoint'],
        related,
        title: info.title,
        content: `<espi:UsagePoint><espi:ServiceCategory>${el('kind', info.serviceKind)}</espi:ServiceCategory>${el('status', 1)}</espi:UsagePoint>`,
        published: history.createdAt,
        updated: history.updatedAt,
    });
}

export function localTimeEntry(info: GatewayInfo, h: Hrefs, history: History): string {
    const t = info.localTime;
    // TimeConfiguration's sequence is alphabetical: dstEndRule, dstOffset, dstStartRule, tzOffset.
    return entry({
        self: [h.localTime, 'espi-entry/LocalTimeParameters'],
        up: [h.localTimes, 'espi-feed/LocalTimeParameters'],
        title: t.zone,
        content:
            `<espi:LocalTimeParameters>${el('dstEndRule', hex32(t.dstEndRule))}${el('dstOffset', t.dstOffset)}` +
            `${el('dstStartRule', hex32(t.dstStartRule))}${el('tzOffset', t.tzOffset)}</espi:LocalTimeParameters>`,
        published: history.createdAt,
        updated: history.createdAt,
    });
}

export function meterReadingEntry(h: Hrefs, s: Series): string {
    return entry({
        self: [h.meterReading(s.id), 'espi-entry/MeterReading'],
        up: [h.meterReadings, 'espi-feed/MeterReading'],
        related: [
            [h.intervalBlocks(s.id), 'espi-feed/IntervalBlock'],
            [h.readingType(s.id), 'espi-entry/ReadingType'],
        ],
        title: s.title,
        content: '<espi:MeterReading/>',
        published: s.createdAt,
        updated: s.ring.latest()?.time ?? s.createdAt,
    });
}

export function readingTypeContent(s: Series): string {
    let body = '';
    const f = s.derived.fields;
    for (const k of READING_TYPE_ORDER) {
        const v = f[k];
        if (v !== undefined) body += el(k, v);
    }
    return `<espi:ReadingType>${body}</espi:ReadingType>`;
}

export function readingTypeEntry(h: Hrefs, s: Series): string {
    return entry({
        self: [h.readingType(s.id), 'espi-entry/ReadingType'],
        up: [h.readingTypes, 'espi-feed/ReadingType'],
        title: `${s.title}, ${s.derived.unit.uomName}`,
        content: readingTypeContent(s),
        published: s.createdAt,
        updated: s.typeUpdatedAt,
    });
}

/** A block of readings: its start and length in seconds, and the readings in it. */
export interface Block {
    start: number;
    duration: number;
    readings: Reading[];
}

/** The block a reading falls in under a grouping: [start, end) in ms. */
export function blockBounds(
    grouping: BlockGrouping,
    zone: string,
    time: number,
    intervalLength: number,
): [number, number] {
    if (grouping === 'hour') {
        const start = Math.floor(time / 3_600_000) * 3_600_000;
        return [start, start + 3_600_000];
    }
    if (grouping === 'day') {
        const start = localDayStart(zone, time);
        return [start, localDayStart(zone, start + 26 * 3_600_000)];
    }
    return [time, time + intervalLength * 1000];
}

/** Puts time-ordered readings into blocks. */
export function* blocks(
    readings: Iterable<Reading>,
    grouping: BlockGrouping,
    zone: string,
    intervalLength: number,
): Generator<Block> {
    let current: Block | undefined;
    let end = 0;
    for (const r of readings) {
        if (grouping === 'reading' || !current || r.time >= end) {
            if (current) yield current;
            const [s, e] = blockBounds(grouping, zone, r.time, intervalLength);
            end = e;
            current = { start: s / 1000, duration: (e - s) / 1000, readings: [] };
        }
        current.readings.push(r);
    }
    if (current) yield current;
}

export function intervalBlockContent(s: Series, b: Block): string {
    const exp = s.derived.exponent;
    const open = `<espi:timePeriod>${el('duration', s.derived.fields.intervalLength)}<espi:start>`;
    const parts = [
        `<espi:IntervalBlock><espi:interval>${el('duration', b.duration)}${el('start', b.start)}</espi:interval>`,
    ];
    for (const r of b.readings) {
        const q =
            r.quality === undefined ? '' : `<espi:ReadingQuality>${el('quality', r.quality)}</espi:ReadingQuality>`;
        parts.push(
            `<espi:IntervalReading>${q}${open}${r.time / 1000}</espi:start></espi:timePeriod><espi:value>${toInt48(r.value, exp)}</espi:value></espi:IntervalReading>`,
        );
    }
    parts.push('</espi:IntervalBlock>');
    return parts.join('');
}

export function intervalBlockEntry(h: Hrefs, s: Series, b: Block): string {
    const first = b.readings[0]?.time ?? b.start * 1000;
    const last = b.readings[b.readings.length - 1]?.time ?? first;
    return entry({
        self: [h.intervalBlock(s.id, b.start), 'espi-entry/IntervalBlock'],
        up: [h.intervalBlocks(s.id), 'espi-feed/IntervalBlock'],
        title: '',
        content: intervalBlockContent(s, b),
        published: first,
        updated: last,
    });
}

/** The series that feed an ElectricPowerUsageSummary: an energy summation (Wh) and, when there is one, demand (W). */
export function summarySources(history: History): { energy?: Series; demand?: Series } {
    const list = history.list();
    const energy = list.find(
        (s) =>
            s.derived.fields.uom === 72 &&
            s.derived.fields.flowDirection === 1 &&
            s.derived.fields.accumulationBehaviour === 9,
    );
    const demand = list.find((s) => s.derived.fields.uom === 38 && s.derived.fields.flowDirection === 1);
    return { ...(energy ? { energy } : {}), ...(demand ? { demand } : {}) };
}

function firstFrom(s: Series, from: number): Reading | undefined {
    const i = s.ring.lowerBound(from);
    return i < s.ring.length ? s.ring.at(i) : undefined;
}

function measurement(name: string, exp: number, uom: number, value: number, time?: number): string {
    return (
        `<espi:${name}>${el('powerOfTenMultiplier', exp)}${time === undefined ? '' : el('timeStamp', time / 1000)}` +
        `${el('uom', uom)}${el('value', toInt48(value, exp))}</espi:${name}>`
    );
}

/**
 * ElectricPowerUsageSummary for the current local day, from the history: today's consumption (latest summation
 * minus the first one of the day), yesterday's when the history reaches back, and today's peak demand. Returns
 * undefined when there is no energy summation to summarise.
 */
export function summaryEntry(info: GatewayInfo, h: Hrefs, history: History): string | undefined {
    const { energy, demand } = summarySources(history);
    const latest = energy?.ring.latest();
    if (!energy || !latest) return undefined;
    const zone = info.localTime.zone;
    const today = localDayStart(zone, latest.time);
    const yesterday = localDayStart(zone, today - 3_600_000);
    const exp = energy.derived.exponent;
    let body = '';
    const dayStart = firstFrom(energy, today);
    if (dayStart && dayStart.time < latest.time)
        body += measurement('currentDayOverallConsumption', exp, 72, latest.value - dayStart.value);
    if (demand) {
        let peak: Reading | undefined;
        for (const r of demand.ring.range(today, today + 26 * 3_600_000)) if (!peak || r.value > peak.value) peak = r;
        if (peak) body += measurement('peakDemand', demand.derived.exponent, 38, peak.value, peak.time);
    }
    const prevStart = firstFrom(energy, yesterday);
    if (prevStart && dayStart && prevStart.time < today && dayStart.time >= today)
        body += measurement('previousDayOverallConsumption', exp, 72, dayStart.value - prevStart.value);
    body += el('qualityOfReading', QUALITY_OF_READING.raw);
    body += el('statusTimeStamp', latest.time / 1000);
    body += el('commodity', energy.derived.fields.commodity);
    return entry({
        self: [h.summary, 'espi-entry/ElectricPowerUsageSummary'],
        up: [h.summaries, 'espi-feed/ElectricPowerUsageSummary'],
        title: 'Usage summary, current day',
        content: `<espi:ElectricPowerUsageSummary>${body}</espi:ElectricPowerUsageSummary>`,
        published: today,
        updated: latest.time,
    });
}

/** The ServiceStatus document of ReadServiceStatus (not an Atom entry). */
export function serviceStatusDocument(online: boolean): string {
    return `${XML_DECL}<ServiceStatus xmlns="${ESPI_NS}"><currentStatus>${online ? SERVICE_STATUS.normal : SERVICE_STATUS.unavailable}</currentStatus></ServiceStatus>\n`;
}

/** Time window on readings: from ≤ time < to, in ms. */
export interface Window {
    from: number;
    to: number;
}

/** IntervalBlock entries of a series: the current (latest) reading's block, or the blocks of a window. */
export function* intervalBlockEntries(
    info: GatewayInfo,
    h: Hrefs,
    s: Series,
    grouping: BlockGrouping,
    window?: Window,
): Generator<string> {
    const zone = info.localTime.zone;
    const d = s.derived.fields.intervalLength;
    if (!window) {
        const last = s.ring.latest();
        if (last) yield intervalBlockEntry(h, s, { start: last.time / 1000, duration: d, readings: [last] });
        return;
    }
    for (const b of blocks(s.ring.range(window.from, window.to), grouping, zone, d)) yield intervalBlockEntry(h, s, b);
}

/**
 * The whole subscription (Batch/Subscription/{id}): UsagePoint, LocalTimeParameters, each MeterReading with its
 * ReadingType and IntervalBlocks, and the usage summary where there is an energy summation.
 */
export function* batchEntries(
    info: GatewayInfo,
    h: Hrefs,
    history: History,
    grouping: BlockGrouping,
    window?: Window,
): Generator<string> {
    const summary = summaryEntry(info, h, history);
    yield usagePointEntry(info, h, history, summary !== undefined);
    yield localTimeEntry(info, h, history);
    for (const s of history.list()) {
        yield meterReadingEntry(h, s);
        yield readingTypeEntry(h, s);
        yield* intervalBlockEntries(info, h, s, grouping, window);
    }
    if (summary) yield summary;
}

/** Every reading of the history. */
export const ALL_READINGS: Window = { from: 0, to: Number.MAX_SAFE_INTEGER };

/** The title of a subscription feed (Batch/Subscription), as GBA samples name it. */
export const SUBSCRIPTION_FEED_TITLE = 'Green Button Subscription Feed';

/** What a history can be written as, whole: the subscription feed, a feed of IntervalBlocks, or one entry per series. */
export type DocumentForm = 'feed' | 'blocks' | 'entry';

/**
 * The whole history as documents (what greenbutton-out writes): one subscription feed, one IntervalBlock feed, or,
 * for `entry`, one entry document per series holding its latest block. Series without readings are left out.
 */
export function historyDocuments(
    form: DocumentForm,
    info: GatewayInfo,
    history: History,
    grouping: BlockGrouping,
): { xml: string; series: Series[] }[] {
    const h = new Hrefs(info);
    const list = history.list().filter((s) => s.ring.length > 0);
    const updated = history.updatedAt;
    if (form === 'feed') {
        const head = { self: h.batch, type: 'espi-feed/Subscription', title: SUBSCRIPTION_FEED_TITLE, updated };
        return [{ xml: render(feed(head, batchEntries(info, h, history, grouping, ALL_READINGS))), series: list }];
    }
    if (form === 'blocks') {
        const self = list.length === 1 ? h.intervalBlocks((list[0] as Series).id) : h.meterReadings;
        const entries = function* () {
            for (const s of list) yield* intervalBlockEntries(info, h, s, grouping, ALL_READINGS);
        };
        const head = { self, type: 'espi-feed/IntervalBlock', title: 'IntervalBlock', updated };
        return [{ xml: render(feed(head, entries())), series: list }];
    }
    return list.map((s) => {
        let last = '';
        for (const e of intervalBlockEntries(info, h, s, grouping, ALL_READINGS)) last = e;
        return { xml: entryDocument(last), series: [s] };
    });
}
