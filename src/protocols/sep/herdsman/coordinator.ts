/**
 * The one zigbee-herdsman Controller of a process (herdsman keeps its device cache and adapter in statics, so two
 * Controllers cannot coexist; design note zigbee-sep §3.1). Owned by the `zigbee-coordinator` config node; every
 * `sep-meter` node reads through it with a {@link HerdsmanTransport}.
 *
 * - Installs the read-only guard ({@link ReadOnlyGuard}) on every adapter herdsman creates, by wrapping the static
 *   `Adapter.create` for the duration of `Controller.start()`.
 * - Accepts only the configured meters in `acceptJoiningDeviceHandler` (herdsman sends others a ZDO Leave).
 * - Opens joining only when the operator calls {@link ZigbeeCoordinator.permitJoin}.
 * - On `adapterDisconnected`: stops the Controller and starts a new one on the same files, with exponential
 *   backoff from 1 s to 60 s, until it is back or {@link ZigbeeCoordinator.stop} is called.
 * - Sets `skipDefaultResponse` and `customReadResponse` on each meter device (at start, join, interview and on
 *   every read) so herdsman sends it no automatic Default Responses and no Read Attributes Responses.
 *
 * The network key comes from the caller (Node-RED's credential store); it is handed to herdsman and never logged.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Controller, setLogger } from 'zigbee-herdsman';
import { Adapter } from 'zigbee-herdsman/dist/adapter';
import type { TransportState } from '../transport';
import { type GuardCounters, type GuardLogger, normalizeIeee, ReadOnlyGuard } from './guard';

type HerdsmanDevice = NonNullable<ReturnType<Controller['getDeviceByIeeeAddr']>>;

export type ZigbeeAdapterType = 'zstack' | 'ember' | 'deconz' | 'zigate' | 'zboss' | 'zoh';

export interface CoordinatorLogger extends GuardLogger {
    info(message: string): void;
    error(message: string): void;
}

export interface CoordinatorOptions {
    /** Directory for database.db, database.db.backup and coordinator_backup.json; created if missing. */
    dataDir: string;
    /** Serial path (prefer /dev/serial/by-id/...), `tcp://host:port` or `mdns://...`; omitted = USB discovery. */
    serialPath?: string;
    adapterType?: ZigbeeAdapterType;
    baudRate?: number;
    rtscts?: boolean;
    /** 11..26; must match the adapter's channel, or herdsman broadcasts a channel change (which the guard blocks). */
    channel: number;
    /** 0x0001..0xFFFE */
    panId: number;
    /** 8 bytes. Default herdsman's dd×8; set a persisted random one. */
    extendedPanId?: readonly number[];
    /** 16 bytes, from the credential store. Never logged. */
    networkKey: readonly number[] | Uint8Array;
    /** IEEE addresses of the meters allowed to join; the guard protects them. */
    meters: readonly string[];
    logger?: CoordinatorLogger;
    /** Reconnect backoff. Default 1000 ms doubling to 60000 ms. */
    backoff?: { initialMs?: number; maxMs?: number };
    /** Guard policy knobs (see guard.ts). */
    guard?: { allowReplies?: boolean; allowManufacturerSpecific?: boolean };
    adapterOptions?: { concurrent?: number; delay?: number; disableLED?: boolean; transmitPower?: number };
}

/** Delay before reconnect attempt `attempt` (0-based): initial × 2^attempt, capped. */
export function backoffDelay(attempt: number, initialMs = 1000, maxMs = 60_000): number {
    return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

/** Checks the options; throws an Error naming the first bad field (never echoing the key). */
export function checkCoordinatorOptions(o: CoordinatorOptions): void {
    if (!o.dataDir) throw new Error('dataDir is required');
    if (!Number.isInteger(o.channel) || o.channel < 11 || o.channel > 26) {
        throw new Error(`channel must be 11..26, got ${o.channel}`);
    }
    if (!Number.isInteger(o.panId) || o.panId < 1 || o.panId > 0xfffe) {
        throw new Error(`panId must be 0x0001..0xFFFE, got ${o.panId}`);
    }
    const bytes = (v: readonly number[] | Uint8Array, n: number) =>
        v.length === n && [...v].every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
    if (!o.networkKey || !bytes(o.networkKey, 16)) throw new Error('networkKey must be 16 bytes');
    if (o.extendedPanId !== undefined && !bytes(o.extendedPanId, 8)) {
        throw new Error('extendedPanId must be 8 bytes');
    }
    for (const m of o.meters) normalizeIeee(m);
}

const silent: CoordinatorLogger = { info() {}, warn() {}, error() {} };

export interface CoordinatorEvents {
    state: [state: TransportState];
    meterJoined: [ieee: string];
    meterInterview: [ieee: string, status: 'started' | 'successful' | 'failed'];
    meterLeft: [ieee: string];
    /** A device that is not a configured meter tried to join and was refused. */
    rejected: [ieee: string];
}

export class ZigbeeCoordinator extends EventEmitter<CoordinatorEvents> {
    readonly guard: ReadOnlyGuard;
    private readonly options: CoordinatorOptions;
    private readonly log: CoordinatorLogger;
    private readonly meterSet: Set<string>;
    private current: Controller | undefined;
    private currentState: TransportState = 'down';
    private stopped = true;
    private attempt = 0;
    private retryTimer: NodeJS.Timeout | undefined;
    private abort: AbortController | undefined;
    private connecting: Promise<boolean> | undefined;
    private restarts = 0;

    constructor(options: CoordinatorOptions) {
        super();
        checkCoordinatorOptions(options);
        this.options = options;
        this.log = options.logger ?? silent;
        this.meterSet = new Set(options.meters.map(normalizeIeee));
        this.guard = new ReadOnlyGuard({
            meters: this.meterSet,
            networkAddressOf: (ieee) => this.current?.getDeviceByIeeeAddr(ieee)?.networkAddress,
            logger: this.log,
            allowReplies: options.guard?.allowReplies,
            allowManufacturerSpecific: options.guard?.allowManufacturerSpecific,
        });
    }

    state(): TransportState {
        return this.currentState;
    }

    onState(listener: (state: TransportState) => void): () => void {
        this.on('state', listener);
        return () => this.off('state', listener);
    }

    /** The running Controller, only while the state is 'ready'. */
    controller(): Controller | undefined {
        return this.currentState === 'ready' ? this.current : undefined;
    }

    /** Number of Controllers started after the first one (reconnects). */
    restartCount(): number {
        return this.restarts;
    }

    guardStats(): GuardCounters {
        return this.guard.stats();
    }

    isMeter(ieee: string): boolean {
        return this.meterSet.has(ieee.toLowerCase());
    }

    /** Adds a meter at runtime (a new `sep-meter` node); it may then join and is protected by the guard. */
    addMeter(ieee: string): void {
        const n = normalizeIeee(ieee);
        this.meterSet.add(n);
        this.guard.addMeter(n);
        const device = this.current?.getDeviceByIeeeAddr(n);
        if (device) this.prepareMeter(device);
    }

    /** Starts the first Controller; resolves true when ready, false when it failed and retries are scheduled. */
    async start(): Promise<boolean> {
        if (!this.stopped) return this.currentState === 'ready';
        this.stopped = false;
        this.attempt = 0;
        mkdirSync(this.options.dataDir, { recursive: true });
        // herdsman logs through one logger per process (it prints the network key as HIDDEN): send it
        // to ours, so its lines land in Node-RED's log rather than on the console.
        if (this.options.logger) {
            const log = this.options.logger;
            const text = (m: string | (() => string), ns: string) =>
                `herdsman ${ns}: ${typeof m === 'function' ? m() : m}`;
            setLogger({
                debug: (m, ns) => log.debug?.(text(m, ns)),
                info: (m, ns) => log.debug?.(text(m, ns)),
                warning: (m, ns) => log.warn(text(m, ns)),
                error: (m, ns) => log.error(text(m, ns)),
            });
        }
        return await this.connect();
    }

    /** Stops the Controller and any retry; the state becomes 'down'. */
    async stop(): Promise<void> {
        this.stopped = true;
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.abort?.abort();
        await this.connecting?.catch(() => undefined);
        await this.stopController();
        this.setState('down');
    }

    /** Stops and starts a new Controller on the same files now (a transport's reconnect request). */
    async restart(reason = 'requested'): Promise<void> {
        if (this.stopped || this.connecting) return;
        this.log.info(`zigbee coordinator: restarting (${reason})`);
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.setState('connecting');
        await this.stopController();
        this.restarts++;
        this.attempt = 0;
        await this.connect();
    }

    /** Opens the network for joining for `seconds` (1..254); 0 closes it. Only on explicit operator action. */
    async permitJoin(seconds: number): Promise<void> {
        const c = this.controller();
        if (!c) throw new Error('the zigbee coordinator is not ready');
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > 254) {
            throw new Error(`permit-join time must be 0..254 s, got ${seconds}`);
        }
        this.log.info(seconds > 0 ? `zigbee coordinator: joining open for ${seconds} s` : 'joining closed');
        await c.permitJoin(seconds);
    }

    /** Switches off herdsman's automatic replies to the meter (§3.6): no Default Responses, no Read Responses. */
    prepareMeter(device: HerdsmanDevice): void {
        if (!this.isMeter(device.ieeeAddr)) return;
        if (!device.skipDefaultResponse) device.skipDefaultResponse = true;
        if (!device.customReadResponse) device.customReadResponse = () => true;
    }

    private setState(state: TransportState): void {
        if (state === this.currentState) return;
        this.currentState = state;
        this.emit('state', state);
    }

    private connect(): Promise<boolean> {
        const run = this.connectOnce().finally(() => {
            this.connecting = undefined;
        });
        this.connecting = run;
        return run;
    }

    private async connectOnce(): Promise<boolean> {
        this.setState('connecting');
        const o = this.options;
        const dir = o.dataDir;
        const controller = new Controller({
            network: {
                panID: o.panId,
                channelList: [o.channel],
                extendedPanID: o.extendedPanId ? [...o.extendedPanId] : undefined,
                networkKey: [...o.networkKey],
            },
            transport: { path: o.serialPath, adapter: o.adapterType, baudRate: o.baudRate, rtscts: o.rtscts },
            databasePath: path.join(dir, 'database.db'),
            databaseBackupPath: path.join(dir, 'database.db.backup'),
            backupPath: path.join(dir, 'coordinator_backup.json'),
            adapter: {
                disableLED: o.adapterOptions?.disableLED ?? false,
                concurrent: o.adapterOptions?.concurrent,
                delay: o.adapterOptions?.delay,
                transmitPower: o.adapterOptions?.transmitPower,
            },
            acceptJoiningDeviceHandler: async (ieee) => {
                const ok = this.isMeter(ieee);
                if (!ok) {
                    this.log.warn(`zigbee coordinator: refused join of ${ieee} (not a configured meter)`);
                    this.emit('rejected', ieee);
                }
                return ok;
            },
        });
        const abort = new AbortController();
        this.abort = abort;
        const previous = Adapter.create;
        const guard = this.guard;
        Adapter.create = async (...args: Parameters<typeof Adapter.create>) => {
            const adapter = await previous.apply(Adapter, args);
            guard.install(adapter);
            return adapter;
        };
        try {
            const result = await controller.start(abort.signal);
            abort.signal.throwIfAborted();
            this.current = controller;
            this.wire(controller);
            for (const ieee of this.meterSet) {
                const device = controller.getDeviceByIeeeAddr(ieee);
                if (device) this.prepareMeter(device);
            }
            this.attempt = 0;
            this.log.info(`zigbee coordinator: started (${result})`);
            this.setState('ready');
            return true;
        } catch (error) {
            await controller.stop().catch(() => undefined);
            if (this.stopped) return false;
            const delay = backoffDelay(this.attempt++, o.backoff?.initialMs, o.backoff?.maxMs);
            this.log.error(`zigbee coordinator: start failed (${(error as Error).message}); retrying in ${delay} ms`);
            this.setState('down');
            this.scheduleRetry(delay);
            return false;
        } finally {
            Adapter.create = previous;
            if (this.abort === abort) this.abort = undefined;
        }
    }

    private scheduleRetry(delay: number): void {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            if (this.stopped) return;
            this.restarts++;
            void this.connect();
        }, delay);
        this.retryTimer.unref?.();
    }

    private wire(c: Controller): void {
        c.on('adapterDisconnected', () => {
            if (this.current !== c) return;
            this.log.error('zigbee coordinator: adapter disconnected; restarting');
            this.setState('down');
            void this.stopController().then(() => {
                if (this.stopped) return;
                this.scheduleRetry(
                    backoffDelay(this.attempt++, this.options.backoff?.initialMs, this.options.backoff?.maxMs),
                );
            });
        });
        c.on('deviceJoined', ({ device }) => {
            if (!this.isMeter(device.ieeeAddr)) return;
            this.prepareMeter(device);
            this.emit('meterJoined', device.ieeeAddr);
        });
        c.on('deviceInterview', ({ device, status }) => {
            if (!this.isMeter(device.ieeeAddr)) return;
            this.prepareMeter(device);
            this.emit('meterInterview', device.ieeeAddr, status);
        });
        c.on('deviceLeave', ({ ieeeAddr }) => {
            if (this.isMeter(ieeeAddr)) this.emit('meterLeft', ieeeAddr);
        });
    }

    private async stopController(): Promise<void> {
        const c = this.current;
        this.current = undefined;
        if (!c) return;
        c.removeAllListeners();
        try {
            await c.stop();
        } catch (error) {
            this.log.warn(`zigbee coordinator: stop failed (${(error as Error).message})`);
        }
    }
}
