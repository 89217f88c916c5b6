import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    FileStore,
    MemoryStore,
    MeterSimulator,
    type MeterTransport,
    Poller,
    type PollerRecord,
} from '../protocols/sep';
import type { ZigbeeCoordinator } from '../protocols/sep/herdsman/coordinator';
import { HerdsmanTransport } from '../protocols/sep/herdsman/transport';
import { configFailed } from '../shared/account-user';
import { NodeError } from '../shared/errors';
import { numberField } from '../shared/xmpp-config';

interface SepMeterConfig extends NodeDef {
    transport?: string;
    coordinator?: string;
    ieee?: string;
    endpoint?: string | number;
    interval?: string | number;
    timeout?: string | number;
    statsEvery?: string | number;
    multiplier?: string | number;
    divisor?: string | number;
    simLoss?: string | number;
    simCorrupt?: string | number;
    simLatency?: string | number;
}

/** The OpenSEG floor (seed 004): the meter is queried no faster than once every 7 s. */
const FLOOR_S = 7;

function optional(v: string | number | undefined, min: number, max: number, label: string): number | undefined {
    if (v === undefined || String(v).trim() === '') return undefined;
    return numberField(v, 0, min, max, label, true);
}

/** The msg of one slot: payload the readings, the whole record in msg.sep. */
function recordMsg(topic: string, r: PollerRecord): NodeMessage {
    if (r.kind === 'gap') {
        return {
            topic,
            payload: null,
            quality: 'missing',
            timestamp: r.from,
            sep: r,
        } as NodeMessage;
    }
    const payload: Record<string, number> = {};
    if (r.kW !== undefined) payload.kW = r.kW;
    if (r.kWh !== undefined) payload.kWh = r.kWh;
    if (r.kWhReceived !== undefined) payload.kWhReceived = r.kWhReceived;
    if (r.kW === undefined && r.demand !== undefined) payload.demand = r.demand;
    if (r.kWh === undefined && r.summation !== undefined) payload.summation = r.summation;
    return {
        topic,
        payload: Object.keys(payload).length > 0 ? payload : null,
        quality: r.status === 'ok' && r.quality !== 'suspect' ? 'good' : r.status === 'missing' ? 'missing' : r.status,
        timestamp: r.responseAt ?? r.slotStart,
        sep: r,
    } as NodeMessage;
}

export = (RED: NodeAPI): void => {
    function SepMeter(this: Node, config: SepMeterConfig): void {
        RED.nodes.createNode(this, config);
        let poller: Poller;
        let topic: string;
        let release: (() => void) | undefined;
        try {
            const asked = Number(String(config.interval ?? '').trim() || 10);
            if (Number.isFinite(asked) && asked < FLOOR_S)
                throw new NodeError(
                    'CONFIG',
                    `Interval ${asked} s is below ${FLOOR_S} s: the meter is read no faster than once every ${FLOOR_S} s (OpenSEG)`,
                );
            const intervalS = numberField(config.interval, 10, FLOOR_S, 86400, 'Interval', false);
            const timeoutS = optional(config.timeout, 1, 3600, 'Timeout');
            const multiplier = optional(config.multiplier, 1, 0xffffff, 'Multiplier');
            const divisor = optional(config.divisor, 1, 0xffffff, 'Divisor');
            let transport: MeterTransport;
            if ((config.transport ?? 'simulator') === 'simulator') {
                topic = 'simulator';
                const latencyMax = numberField(config.simLatency, 400, 0, 10_000, 'Simulated latency', true);
                transport = new MeterSimulator({
                    lossRate: numberField(config.simLoss, 0, 0, 100, 'Simulated loss') / 100,
                    corruptRate: numberField(config.simCorrupt, 0, 0, 100, 'Simulated corrupt answers') / 100,
                    latencyMs: [Math.min(30, latencyMax), latencyMax],
                    multiplier: 1,
                    divisor: 1000,
                });
            } else if (config.transport === 'herdsman') {
                const ieee = config.ieee?.trim() ?? '';
                if (!/^(0x)?[0-9a-f]{16}$/i.test(ieee))
                    throw new NodeError('CONFIG', `Meter IEEE address "${ieee}" must be 16 hexadecimal digits`);
                const owner = config.coordinator ? RED.nodes.getNode(config.coordinator) : null;
                const get = (owner as unknown as { zigbeeCoordinator?: () => ZigbeeCoordinator } | null)
                    ?.zigbeeCoordinator;
                if (typeof get !== 'function') throw new NodeError('CONFIG', 'No ZigBee coordinator is configured');
                const coordinator = get.call(owner);
                if (!coordinator.isMeter(ieee))
                    throw new NodeError('CONFIG', `${ieee} is not among the coordinator's meters; add it there first`);
                const endpoint = optional(config.endpoint, 1, 240, 'Endpoint');
                transport = new HerdsmanTransport(coordinator, { ieee, ...(endpoint ? { endpoint } : {}) });
                topic = ieee.toLowerCase().replace(/^(?!0x)/, '0x');
            } else {
                throw new NodeError('CONFIG', `Transport "${config.transport}" is not herdsman or simulator`);
            }
            const userDir = (RED.settings as { userDir?: string }).userDir;
            const store = userDir
                ? new FileStore(path.join(userDir, `derlink-sep-meter-${this.id.replace(/[^\w.-]/g, '_')}.json`))
                : new MemoryStore();
            let shown = { ok: 0, lost: 0, kW: undefined as number | undefined };
            const show = (stats: { ok: number; lost: number }) => {
                shown = { ...shown, ok: stats.ok, lost: stats.lost };
                const kW = shown.kW === undefined ? '–' : `${shown.kW.toFixed(3)} kW`;
                this.status({
                    fill: transport.state() === 'ready' ? 'green' : 'yellow',
                    shape: transport.state() === 'ready' ? 'dot' : 'ring',
                    text: RED._('sep-meter.status.reading', { kW, ok: shown.ok, lost: shown.lost }),
                });
            };
            poller = new Poller({
                transport,
                intervalMs: intervalS * 1000,
                ...(timeoutS ? { timeoutMs: timeoutS * 1000 } : {}),
                ...(multiplier || divisor
                    ? { scalingOverride: { ...(multiplier ? { multiplier } : {}), ...(divisor ? { divisor } : {}) } }
                    : {}),
                store,
                statsEverySlots: numberField(config.statsEvery, 10, 0, 100_000, 'Stats every', true),
                onRecord: (r) => {
                    if (r.kind === 'slot' && r.kW !== undefined) shown.kW = r.kW;
                    this.send([recordMsg(topic, r), null]);
                    show(poller.stats());
                },
                onStats: (stats) => this.send([null, { topic: 'stats', payload: stats } as NodeMessage]),
                onLog: (level, message) => (level === 'warn' ? this.warn(message) : this.log(message)),
            });
            release = transport.onState(() => show(poller.stats()));
            show(poller.stats());
            poller.start();
        } catch (err) {
            configFailed(this, err, RED._('sep-meter.status.config-error'));
            return;
        }
        // Any input asks for the statistics now (output 2).
        this.on('input', (_msg, _send, done) => {
            poller.emitStats();
            done();
        });
        this.on('close', (_removed: boolean, done: () => void) => {
            poller.stop();
            release?.();
            done();
        });
    }
    RED.nodes.registerType('sep-meter', SepMeter as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
