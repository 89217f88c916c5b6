/**
 * The ESPI REST resources (design note A.3): maps a GET on /espi/1_1/resource/... with its query to a status,
 * headers and an Atom body. HTTP-agnostic, so the same router serves on its own HTTPS port and on Node-RED's
 * server. The gateway answers from its history only; a request never reads the meter (A.3.3).
 */
import {
    type BlockGrouping,
    batchEntries,
    blockBounds,
    blocks,
    entryDocument,
    type FeedHead,
    feed,
    type GatewayInfo,
    Hrefs,
    intervalBlockEntries,
    intervalBlockEntry,
    localTimeEntry,
    meterReadingEntry,
    readingTypeEntry,
    render,
    SUBSCRIPTION_FEED_TITLE,
    serviceStatusDocument,
    summaryEntry,
    usagePointEntry,
    type Window,
} from './atom';
import { ATOM_MEDIA_TYPE } from './codes';
import type { History, Series } from './history';

export interface EspiResponse {
    status: number;
    headers: Record<string, string>;
    /** A whole document, or chunks to stream. */
    body: string | Iterable<string>;
}

/** What the server answers when a time window holds no data (A.3.3): 404 "data not found", or 200 with an empty feed. */
export type EmptyResult = 'not-found' | 'empty-feed';

export interface ServiceOptions {
    info: GatewayInfo;
    history: History;
    grouping?: BlockGrouping;
    emptyResult?: EmptyResult;
    /** Most entries in one response, whatever max-results says. Default 100,000. */
    maxEntries?: number;
    /** ReadServiceStatus: whether the meter side is up. */
    online?: () => boolean;
}

/** The query parameters of design note A.3.2. */
export interface EspiQuery {
    publishedMin?: number;
    publishedMax?: number;
    updatedMin?: number;
    updatedMax?: number;
    maxResults?: number;
    startIndex?: number;
    depth?: number;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const INTEGER = /^\d{1,9}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when the calendar date of an RFC 3339 string exists (Date.parse rolls 2025-02-30 over to March). */
function realDate(v: string): boolean {
    const [y, mo, d] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
    const [h, mi, sec] = v.slice(11, 19).split(':').map(Number) as [number, number, number];
    return (
        mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() && h < 24 && mi < 60 && sec < 60
    );
}

export class QueryError extends Error {
    readonly code = 'BAD_QUERY';
}

const DATES = {
    'published-min': 'publishedMin',
    'published-max': 'publishedMax',
    'updated-min': 'updatedMin',
    'updated-max': 'updatedMax',
} as const;
const INTS = { 'max-results': 'maxResults', 'start-index': 'startIndex', depth: 'depth' } as const;

/**
 * Parses the ESPI query parameters: RFC 3339 date-times (Z or an offset) and decimal integers; a repeated or
 * malformed parameter is an error (400). Other parameters are ignored, so cache-busting suffixes do no harm.
 */
export function parseQuery(search: string): EspiQuery {
    const q: EspiQuery = {};
    if (search === '' || search === '?') return q;
    const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
    const seen = new Set<string>();
    for (const [name, value] of params) {
        if (!(name in DATES) && !(name in INTS)) continue;
        if (seen.has(name)) throw new QueryError(`${name} is given more than once`);
        seen.add(name);
        if (name in DATES) {
            // A "+" of an offset sent unescaped arrives as a space (form encoding); take it back.
            const v = /^[^ ]+ \d{2}:\d{2}$/.test(value) ? value.replace(' ', '+') : value;
            const t = DATE_TIME.test(v) && realDate(v) ? Date.parse(v) : Number.NaN;
            if (!Number.isFinite(t))
                throw new QueryError(`${name}=${value} is not an RFC 3339 date-time such as 2025-01-01T00:00:00Z`);
            q[DATES[name as keyof typeof DATES]] = t;
        } else {
            if (!INTEGER.test(value)) throw new QueryError(`${name}=${value} is not a whole number`);
            const n = Number(value);
            if (name === 'start-index' && n < 1) throw new QueryError('start-index counts from 1');
            q[INTS[name as keyof typeof INTS]] = n;
        }
    }
    for (const [lo, hi] of [
        ['publishedMin', 'publishedMax'],
        ['updatedMin', 'updatedMax'],
    ] as const) {
        const a = q[lo];
        const b = q[hi];
        if (a !== undefined && b !== undefined && a >= b) throw new QueryError(`${lo} must be before ${hi}`);
    }
    return q;
}

/** The reading window a query asks for, or undefined when it has no time parameters (the current value). */
export function queryWindow(q: EspiQuery): Window | undefined {
    const mins = [q.publishedMin, q.updatedMin].filter((v) => v !== undefined) as number[];
    const maxs = [q.publishedMax, q.updatedMax].filter((v) => v !== undefined) as number[];
    if (mins.length === 0 && maxs.length === 0) return undefined;
    return { from: mins.length ? Math.max(...mins) : 0, to: maxs.length ? Math.min(...maxs) : Number.MAX_SAFE_INTEGER };
}

const ATOM = `${ATOM_MEDIA_TYPE};charset=UTF-8`;
/** Current-state documents kept between two changes of the history. */
const CACHE_ENTRIES = 64;
const TEXT = 'text/plain;charset=UTF-8';

function text(status: number, body: string, extra: Record<string, string> = {}): EspiResponse {
    return { status, headers: { 'Content-Type': TEXT, ...extra }, body: `${body}\n` };
}

/** Skips `start - 1` entries and keeps at most `max`. */
function* page(entries: Iterable<string>, start: number, max: number): Generator<string> {
    let i = 0;
    let kept = 0;
    for (const e of entries) {
        i++;
        if (i < start) continue;
        if (kept >= max) return;
        kept++;
        yield e;
    }
}

export class GreenButtonService {
    readonly info: GatewayInfo;
    readonly history: History;
    readonly hrefs: Hrefs;
    readonly grouping: BlockGrouping;
    readonly emptyResult: EmptyResult;
    readonly maxEntries: number;
    readonly #online: () => boolean;
    #cache = new Map<string, EspiResponse>();
    #cacheVersion = -1;

    constructor(opts: ServiceOptions) {
        this.info = opts.info;
        this.history = opts.history;
        this.hrefs = new Hrefs(opts.info);
        this.grouping = opts.grouping ?? 'reading';
        this.emptyResult = opts.emptyResult ?? 'not-found';
        this.maxEntries = opts.maxEntries ?? 100_000;
        this.#online = opts.online ?? (() => true);
    }

    /**
     * Answers one request. `path` is the URL path below the server's mount point (starting /espi/1_1/resource),
     * still percent-encoded; `search` the query string.
     */
    handle(method: string, path: string, search: string, accept = ''): EspiResponse {
        if (method !== 'GET' && method !== 'HEAD')
            return text(405, `${method} is not supported; this gateway's resources are read-only`, {
                Allow: 'GET, HEAD',
            });
        const prefix = '/espi/1_1/resource/';
        if (!path.startsWith(prefix)) return text(404, 'not found: resources live under /espi/1_1/resource/');
        const raw = path.slice(prefix.length).split('/');
        const segs: string[] = [];
        for (const r of raw) {
            let s: string;
            try {
                s = decodeURIComponent(r);
            } catch {
                return text(400, 'bad request: the path is not valid percent-encoding');
            }
            if (s === '..' || s === '.' || s.includes('/') || s.includes('\\') || s.includes('\0'))
                return text(400, 'bad request: the path may not contain dot segments or encoded separators');
            segs.push(s);
        }
        if (segs.length > 0 && segs[segs.length - 1] === '') segs.pop(); // a trailing slash
        if (segs.some((s) => s === '')) return text(400, 'bad request: empty path segment');
        let q: EspiQuery;
        try {
            q = parseQuery(search);
        } catch (err) {
            return text(400, `bad request: ${(err as Error).message}`);
        }
        if (queryWindow(q) !== undefined || segs[0] === 'ReadServiceStatus')
            return this.#route(segs, q, path + search, accept);
        // Without a time window every document shows the current state: built once per change of the history
        // (every poll), then served as it is. A dashboard asking every second costs one build per 7 s poll.
        if (this.#cacheVersion !== this.history.version) {
            this.#cache.clear();
            this.#cacheVersion = this.history.version;
        }
        const key = `${path}${search}`;
        const hit = this.#cache.get(key);
        if (hit) return hit;
        const r = this.#route(segs, q, path + search, accept);
        if (r.status !== 200) return r;
        const whole: EspiResponse = { ...r, body: typeof r.body === 'string' ? r.body : render(r.body) };
        if (this.#cache.size < CACHE_ENTRIES) this.#cache.set(key, whole);
        return whole;
    }

    #notFound(what: string): EspiResponse {
        return text(404, `not found: ${what}`);
    }

    /** "data not found" (A.3.3), as text, or as an empty Atom feed when the client asks only for Atom/XML. */
    #noData(self: string, type: string, accept: string): EspiResponse {
        const head: FeedHead = {
            self: this.hrefs.root + self,
            type,
            title: 'data not found',
            updated: this.history.updatedAt,
        };
        if (this.emptyResult === 'empty-feed')
            return { status: 200, headers: { 'Content-Type': ATOM }, body: feed(head, []) };
        const wantsXml = /application\/(atom\+)?xml/.test(accept) && !/text\/plain|\*\/\*/.test(accept);
        if (wantsXml) return { status: 404, headers: { 'Content-Type': ATOM }, body: feed(head, []) };
        return text(404, 'data not found');
    }

    #feed(self: string, type: string, title: string, entries: Iterable<string>, q: EspiQuery): EspiResponse {
        const max = Math.min(
            this.maxEntries,
            q.maxResults ?? Number.MAX_SAFE_INTEGER,
            q.depth ?? Number.MAX_SAFE_INTEGER,
        );
        const head: FeedHead = { self: this.hrefs.root + self, type, title, updated: this.history.updatedAt };
        return {
            status: 200,
            headers: { 'Content-Type': ATOM },
            body: feed(head, page(entries, q.startIndex ?? 1, max)),
        };
    }

    #entry(xml: string): EspiResponse {
        return { status: 200, headers: { 'Content-Type': ATOM }, body: entryDocument(xml) };
    }

    #hasData(window: Window | undefined, list: Series[]): boolean {
        if (!window) return list.some((s) => s.ring.length > 0);
        return list.some((s) => s.ring.count(window.from, window.to) > 0);
    }

    #route(segs: string[], q: EspiQuery, requested: string, accept: string): EspiResponse {
        const h = this.hrefs;
        const info = this.info;
        const history = this.history;
        const window = queryWindow(q);
        const self = requested.slice('/espi/1_1/resource'.length);
        const [head, ...rest] = segs;
        for (const s of rest)
            if (!ID.test(s) && !/^[A-Z][A-Za-z]+$/.test(s)) return this.#notFound(`"${s}" is not a resource id`);
        switch (head) {
            case 'ReadServiceStatus':
                if (rest.length) break;
                return { status: 200, headers: { 'Content-Type': ATOM }, body: serviceStatusDocument(this.#online()) };
            case 'ReadingType': {
                if (rest.length === 0)
                    return this.#feed(
                        self,
                        'espi-feed/ReadingType',
                        'ReadingType',
                        history.list().map((s) => readingTypeEntry(h, s)),
                        q,
                    );
                const s = rest.length === 1 ? history.byId(rest[0] as string) : undefined;
                return s ? this.#entry(readingTypeEntry(h, s)) : this.#notFound(`ReadingType ${rest.join('/')}`);
            }
            case 'LocalTimeParameters':
                if (rest.length === 0)
                    return this.#feed(
                        self,
                        'espi-feed/LocalTimeParameters',
                        'LocalTimeParameters',
                        [localTimeEntry(info, h, history)],
                        q,
                    );
                if (rest.length === 1 && rest[0] === '1') return this.#entry(localTimeEntry(info, h, history));
                return this.#notFound(`LocalTimeParameters ${rest.join('/')}`);
            case 'Batch':
                if (rest[0] !== 'Subscription' || rest.length < 2) break;
                if (rest[1] !== info.subscriptionId) return this.#notFound(`Subscription ${rest[1]}`);
                if (rest.length === 4 && rest[2] === 'UsagePoint' && rest[3] !== info.usagePointId)
                    return this.#notFound(`UsagePoint ${rest[3]}`);
                if (rest.length !== 2 && !(rest.length === 4 && rest[2] === 'UsagePoint')) break;
                if (!this.#hasData(window, history.list())) return this.#noData(self, 'espi-feed/Subscription', accept);
                return this.#feed(
                    self,
                    'espi-feed/Subscription',
                    SUBSCRIPTION_FEED_TITLE,
                    batchEntries(info, h, history, this.grouping, window),
                    q,
                );
            case 'Subscription':
                return this.#subscription(rest, q, window, self, accept);
        }
        return this.#notFound(`no resource ${segs.join('/')}`);
    }

    #subscription(
        rest: string[],
        q: EspiQuery,
        window: Window | undefined,
        self: string,
        accept: string,
    ): EspiResponse {
        const h = this.hrefs;
        const info = this.info;
        const history = this.history;
        const [sid, up, upId, coll, id, sub, ibId] = rest;
        if (sid !== info.subscriptionId) return this.#notFound(`Subscription ${sid ?? ''}`);
        if (up !== 'UsagePoint') return this.#notFound(`no resource Subscription/${rest.slice(1).join('/')}`);
        const summary = () => summaryEntry(info, h, history);
        if (upId === undefined)
            return this.#feed(
                self,
                'espi-feed/UsagePoint',
                'UsagePoint',
                [usagePointEntry(info, h, history, summary() !== undefined)],
                q,
            );
        if (upId !== info.usagePointId) return this.#notFound(`UsagePoint ${upId}`);
        if (coll === undefined) return this.#entry(usagePointEntry(info, h, history, summary() !== undefined));
        if (coll === 'ElectricPowerUsageSummary') {
            const e = summary();
            if (id === undefined) {
                if (!e) return this.#noData(self, 'espi-feed/ElectricPowerUsageSummary', accept);
                return this.#feed(self, 'espi-feed/ElectricPowerUsageSummary', 'ElectricPowerUsageSummary', [e], q);
            }
            if (id === '1' && sub === undefined && e) return this.#entry(e);
            return this.#notFound(`ElectricPowerUsageSummary ${id}`);
        }
        if (coll !== 'MeterReading') return this.#notFound(`no resource ${coll}`);
        if (id === undefined)
            return this.#feed(
                self,
                'espi-feed/MeterReading',
                'MeterReading',
                history.list().map((s) => meterReadingEntry(h, s)),
                q,
            );
        const s = history.byId(id);
        if (!s) return this.#notFound(`MeterReading ${id}`);
        if (sub === undefined) return this.#entry(meterReadingEntry(h, s));
        if (sub !== 'IntervalBlock' || rest.length > 7) return this.#notFound(`no resource ${rest.slice(4).join('/')}`);
        if (ibId === undefined) {
            if (!this.#hasData(window, [s])) return this.#noData(self, 'espi-feed/IntervalBlock', accept);
            return this.#feed(
                self,
                'espi-feed/IntervalBlock',
                'IntervalBlock',
                intervalBlockEntries(info, h, s, this.grouping, window),
                q,
            );
        }
        const block = this.#block(s, ibId);
        return block ? this.#entry(block) : this.#notFound(`IntervalBlock ${ibId}`);
    }

    /** The entry of the block whose id (its start in epoch seconds) is `ibId`, from the history. */
    #block(s: Series, ibId: string): string | undefined {
        if (!/^\d{1,12}$/.test(ibId)) return undefined;
        const t = Number(ibId) * 1000;
        const d = s.derived.fields.intervalLength;
        const [from, to] =
            this.grouping === 'reading' ? [t, t + 1] : blockBounds(this.grouping, this.info.localTime.zone, t, d);
        if (from !== t) return undefined;
        for (const b of blocks(s.ring.range(from, to), this.grouping, this.info.localTime.zone, d))
            return intervalBlockEntry(this.hrefs, s, this.grouping === 'reading' ? { ...b, duration: d } : b);
        return undefined;
    }
}
