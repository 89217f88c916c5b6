/**
 * The 8-2 payload codec (MMS PDUs in XER): encode to text and decode from text, per payload,
 * against the bare parse of the same text by fast-xml-parser (the parser under our hardened
 * XML layer), measured in the same process. The aim is that a full encode + decode costs at
 * most twice a bare parse: the codec's checks, tree and typed values may not dominate.
 *
 * Payloads (wire note §5): a Read request of one FCDA; a Read response of a 20-member dataset
 * (MV structures: mag{f}, q, t); an InformationReport of a buffered report with 20 members
 * (RptID, OptFlds, SeqNum, TimeOfEntry, DatSet, BufOvfl, EntryID, ConfRev, inclusion, values,
 * reason codes).
 *
 * Rounds alternate the order of the contenders; each row is the median of the rounds.
 * Knobs (environment): BENCH_DURATION_MS (1500 per contender and round), BENCH_ROUNDS (5).
 */
import { performance } from 'node:perf_hooks';
import { XMLParser } from 'fast-xml-parser';
import type { Data } from '../../src/protocols/iec61850/mms/data';
import { decodePayloadXml, encodePayload } from '../../src/protocols/iec61850/mms/envelope';
import type { MmsPdu } from '../../src/protocols/iec61850/mms/pdu';
import { serialize } from '../../src/protocols/xml';
import { type BenchRow, row } from './lib';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LD = 'HP1LD';

const utc: Data = {
    kind: 'utc-time',
    seconds: 0x66322ec0,
    fraction: 0x800000,
    quality: { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, accuracy: 10 },
};
const mv = (v: number): Data => ({
    kind: 'structure',
    components: [
        { kind: 'structure', components: [{ kind: 'floating-point', format: 'single', value: Math.fround(v) }] },
        { kind: 'bit-string', bits: '0000000000000' },
        utc,
    ],
});
const members = Array.from({ length: 20 }, (_, i) => mv(20 + i * 1.25));

const PAYLOADS: Array<{ name: string; pdu: MmsPdu }> = [
    {
        name: 'Read request (1 FCDA)',
        pdu: {
            pdu: 'confirmed-RequestPDU',
            invokeID: 42,
            request: {
                service: 'read',
                variableAccessSpecification: {
                    listOfVariable: [
                        { name: { scope: 'domain-specific', domainId: LD, itemId: 'MMXN1$MX$Watt$mag$f' } },
                    ],
                },
            },
        },
    },
    {
        name: 'Read response (20-member dataset)',
        pdu: {
            pdu: 'confirmed-ResponsePDU',
            invokeID: 43,
            response: { service: 'read', listOfAccessResult: members.map((m) => ({ success: m })) },
        },
    },
    {
        name: 'InformationReport (20 members)',
        pdu: {
            pdu: 'unconfirmed-PDU',
            informationReport: {
                variableAccessSpecification: { variableListName: { scope: 'vmd-specific', name: 'RPT' } },
                listOfAccessResult: [
                    { success: { kind: 'visible-string', value: 'HP1LD/LLN0$BR$brcbHP01' } },
                    { success: { kind: 'bit-string', bits: '0111101110' } },
                    { success: { kind: 'unsigned', value: 118n } },
                    { success: { kind: 'binary-time', msOfDay: 43_200_500, days: 14_731 } },
                    { success: { kind: 'visible-string', value: 'HP1LD/LLN0$DS_HP' } },
                    { success: { kind: 'boolean', value: false } },
                    { success: { kind: 'octet-string', value: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x77]) } },
                    { success: { kind: 'unsigned', value: 3n } },
                    { success: { kind: 'bit-string', bits: '1'.repeat(20) } },
                    ...members.map((m) => ({ success: m })),
                    ...members.map(() => ({ success: { kind: 'bit-string', bits: '0100000' } as Data })),
                ],
            },
        },
    },
];

/** Operations per second of `op`, run for `ms` after a short warm-up. */
function rate(op: () => void, ms: number): number {
    const warmEnd = performance.now() + Math.min(300, ms / 4);
    while (performance.now() < warmEnd) op();
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
        for (let i = 0; i < 50; i++) op();
        n += 50;
        now = performance.now();
    }
    return n / ((now - start) / 1000);
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] as number;
}

export default async function bench(): Promise<BenchRow[]> {
    const parser = new XMLParser({ ignoreAttributes: false, preserveOrder: true, parseTagValue: false });
    const rows: BenchRow[] = [];
    for (const { name, pdu } of PAYLOADS) {
        const text = serialize(encodePayload({ assoId: '1:7', pdu }));
        let sink = 0;
        const ours = () => {
            const t = serialize(encodePayload({ assoId: '1:7', pdu }));
            sink += decodePayloadXml(t).pdu.pdu.length;
        };
        const decodeOnly = () => {
            sink += decodePayloadXml(text).pdu.pdu.length;
        };
        const bare = () => {
            sink += (parser.parse(text) as unknown[]).length;
        };
        const oursRates: number[] = [];
        const decodeRates: number[] = [];
        const bareRates: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
            if (r % 2 === 0) {
                bareRates.push(rate(bare, DURATION_MS));
                oursRates.push(rate(ours, DURATION_MS));
                decodeRates.push(rate(decodeOnly, DURATION_MS));
            } else {
                decodeRates.push(rate(decodeOnly, DURATION_MS));
                oursRates.push(rate(ours, DURATION_MS));
                bareRates.push(rate(bare, DURATION_MS));
            }
        }
        if (sink === 0) throw new Error('nothing decoded');
        const usOf = (rates: number[]) => 1e6 / median(rates);
        const baseline = { name: `fast-xml-parser parse (${text.length} B)`, value: usOf(bareRates) };
        rows.push(
            row({
                name: `8-2 codec: ${name}`,
                metric: 'encode + decode time',
                value: usOf(oursRates),
                unit: 'µs/op',
                baseline,
                target: '<= 2x bare parse',
            }),
            row({
                name: `8-2 codec: ${name}`,
                metric: 'decode time',
                value: usOf(decodeRates),
                unit: 'µs/op',
                baseline,
            }),
        );
    }
    return rows;
}
