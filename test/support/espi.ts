/** Helpers for the Green Button tests: ESPI 4.0 schema validation with xmllint, and a third-party parser. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    EspiError,
    type EspiErrorCode,
    GreenButtonService,
    History,
    localTimeParameters,
    QUALITY_OF_READING,
    render,
    SERVICE_KIND,
    type ServiceOptions,
} from '../../src/protocols/greenbutton';
import { ensureDebianPackages } from './debian';
import { requireSharedDir } from './shared';

/** The ESPI schema folder (espi.xsd, atom.xsd, catalog.xml) in ../shared; a missing one fails the tests, never skips them. */
export function espiDir(): string {
    return requireSharedDir('espi', 'espi.xsd');
}

let checked = false;

/**
 * Validates an Atom feed, an entry document or a bare ESPI document against espi.xsd 4.0 (with GBA's strict
 * atom.xsd, via the catalog): undefined when valid, else xmllint's messages.
 */
export function validateEspi(xml: string): string | undefined {
    if (!checked) {
        ensureDebianPackages(['libxml2-utils'], { 'libxml2-utils': 'xmllint' });
        checked = true;
    }
    const dir = espiDir();
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'espi-'));
    const file = path.join(tmp, 'doc.xml');
    try {
        writeFileSync(file, xml);
        execFileSync('xmllint', ['--noout', '--nonet', '--schema', path.join(dir, 'espi.xsd'), file], {
            env: { ...process.env, XML_CATALOG_FILES: path.join(dir, 'catalog.xml') },
            stdio: 'pipe',
            maxBuffer: 64 * 1024 * 1024,
        });
        return undefined;
    } catch (err) {
        const e = err as { stderr?: Buffer; message: string };
        return e.stderr?.toString('utf8') || e.message;
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
}

/** Asserts that a document validates, showing xmllint's complaint otherwise. */
export function assertValidEspi(xml: string, what = 'document'): void {
    const err = validateEspi(xml);
    assert.equal(err, undefined, `${what} is not valid ESPI 4.0:\n${err}\n${xml.slice(0, 2000)}`);
}

/** Atom links as @cityssm/green-button-parser gives them. */
export interface CityssmLinks {
    self?: string;
    selfUid?: string;
    up?: string;
    related?: string[];
}

/**
 * An entry as @cityssm/green-button-parser gives it. `content` is left open (the parser's own GreenButtonJson type
 * describes it) so that a value of this type can be handed to the parser's helpers.
 */
export interface CityssmEntry {
    id: string;
    title: string;
    links: CityssmLinks;
    publishedDate?: Date;
    updatedDate?: Date;
    // biome-ignore lint/suspicious/noExplicitAny: the parser's content union, without importing its .ts sources
    content: Record<string, any>;
}

/** A feed or lone entry document as @cityssm/green-button-parser gives it (compatible with its GreenButtonJson). */
export interface CityssmJson {
    id: string;
    title: string;
    links: CityssmLinks;
    updatedDate?: Date;
    entries: CityssmEntry[];
}

/** The parts of @cityssm/green-button-parser the tests use. */
export interface CityssmParser {
    atomToGreenButtonJson(xml: string): Promise<CityssmJson>;
    helpers: {
        getEntriesByContentType(json: CityssmJson, contentType: string): CityssmEntry[];
        getReadingTypeEntryFromIntervalBlockEntry(json: CityssmJson, entry: CityssmEntry): CityssmEntry | undefined;
        getUsagePointEntryFromIntervalBlockEntry(json: CityssmJson, entry: CityssmEntry): CityssmEntry | undefined;
    };
}

/**
 * @cityssm/green-button-parser, an ES module loaded from CommonJS tests. The specifier is a variable so that tsc
 * does not pull the package's own .ts sources (which do not pass this project's strict settings) into the program.
 */
const CITYSSM: string = '@cityssm/green-button-parser';

export async function cityssm(): Promise<CityssmParser> {
    return (await import(CITYSSM)) as CityssmParser;
}

/** Parses a Green Button document (feed or lone entry) with @cityssm/green-button-parser. */
export async function parseWithCityssm(xml: string): Promise<CityssmJson> {
    const m = await cityssm();
    return m.atomToGreenButtonJson(xml);
}

/** Expects `fn` to throw an EspiError with `code` and a message matching `message`. */
export function espiRefused(fn: () => unknown, code: EspiErrorCode, message: RegExp): void {
    assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof EspiError, `expected an EspiError, got ${String(e)}`);
        assert.equal(e.code, code, e.message);
        assert.match(e.message, message);
        return true;
    });
}

/** A reading put into the fixture, with what the Atom value must be (W or Wh at powerOfTenMultiplier 0). */
export interface FixtureReading {
    time: number;
    /** The value as sent, in the spec's unit (kW, kWh). */
    value: number;
    /** The expected IntervalReading/value. */
    base: number;
    quality?: number;
}

/** Start of the fixture history: 2025-06-01 13:00 UTC, 09:00 EDT. */
export const T0 = Date.UTC(2025, 5, 1, 13);

const MIN = 60_000;

/**
 * A gateway history with demand (kW), summation delivered and summation received (kWh), all at 0.001: five
 * readings over two clock hours of 2025-06-01 and two on the next (New York) day, with a negative demand and a
 * questionable one.
 */
export function fixtureHistory(capacity = 1000): {
    history: History;
    demand: FixtureReading[];
    delivered: FixtureReading[];
    received: FixtureReading[];
} {
    const offsets = [0, 20, 40, 60, 80, 1500, 1520];
    const demandValues = [1.234, -0.5, 2, 0.75, 3.1, 1, 1.5];
    const history = new History({ capacity, now: () => T0 - 86_400_000 });
    const demand: FixtureReading[] = [];
    const delivered: FixtureReading[] = [];
    const received: FixtureReading[] = [];
    offsets.forEach((m, i) => {
        const time = T0 + m * MIN;
        const d = demandValues[i] as number;
        const quality = i === 2 ? QUALITY_OF_READING.questionable : undefined;
        history.add(
            'demand',
            { unit: 'kW', resolution: 0.001, title: 'Instantaneous demand' },
            { time, value: d, ...(quality === undefined ? {} : { quality }) },
        );
        demand.push({ time, value: d, base: Math.round(d * 1000), ...(quality === undefined ? {} : { quality }) });
        const e = 12345.678 + i * 0.25;
        history.add(
            'summation-delivered',
            { unit: 'kWh', resolution: 0.001, accumulation: 'summation', title: 'Summation delivered' },
            { time, value: e },
        );
        delivered.push({ time, value: e, base: Math.round(e * 1000) });
        if (i % 2 === 0) {
            const r = 2.5 + i;
            history.add(
                'summation-received',
                { unit: 'kWh', resolution: 0.001, accumulation: 'summation', flowDirection: 'reverse' },
                { time, value: r },
            );
            received.push({ time, value: r, base: Math.round(r * 1000) });
        }
    });
    return { history, demand, delivered, received };
}

export const GATEWAY_BASE = 'https://gw.local:8443';

/** The fixture service over a history (New York time, subscription 1, usage point 1). */
export function fixtureService(history: History, opts: Omit<ServiceOptions, 'info' | 'history'> = {}) {
    return new GreenButtonService({
        info: {
            baseUrl: GATEWAY_BASE,
            subscriptionId: '1',
            usagePointId: '1',
            title: 'Home meter',
            serviceKind: SERVICE_KIND.electricity,
            localTime: localTimeParameters('America/New_York', 2025),
        },
        history,
        ...opts,
    });
}

/** GET on the service, the body rendered to a string. */
export function get(
    service: GreenButtonService,
    resource: string,
    search = '',
    accept = '',
): { status: number; headers: Record<string, string>; text: string } {
    const r = service.handle('GET', `/espi/1_1/resource/${resource}`, search, accept);
    return { status: r.status, headers: r.headers, text: typeof r.body === 'string' ? r.body : render(r.body) };
}
