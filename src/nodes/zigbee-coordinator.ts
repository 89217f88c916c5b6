import path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { type ZigbeeAdapterType, ZigbeeCoordinator } from '../protocols/sep/herdsman/coordinator';
import { NodeError, withCode } from '../shared/errors';
import { numberField } from '../shared/xmpp-config';

interface ZigbeeCoordinatorConfig extends NodeDef {
    serialPath?: string;
    adapterType?: string;
    baudRate?: string | number;
    rtscts?: boolean;
    channel?: string | number;
    panId?: string;
    extendedPanId?: string;
    meters?: string;
}

interface Credentials {
    networkKey?: string;
}

const ADAPTERS: readonly string[] = ['auto', 'zstack', 'ember', 'deconz', 'zigate', 'zboss', 'zoh'];
const IEEE = /^(0x)?[0-9a-f]{16}$/i;

/** What sep-meter nodes get from the config node (see shared/sep-user.ts). */
interface ZigbeeCoordinatorNode extends Node {
    /** The coordinator, started on first use (the radio stays closed while no meter node uses it). */
    zigbeeCoordinator(): ZigbeeCoordinator;
    zigbeeProblem?: string;
}

function hexBytes(text: string, count: number, label: string): number[] {
    const t = text
        .trim()
        .replace(/^0x/i, '')
        .replace(/[\s:,-]/g, '');
    if (!new RegExp(`^[0-9a-fA-F]{${count * 2}}$`).test(t))
        throw new NodeError('CONFIG', `${label} must be ${count} bytes in hexadecimal (${count * 2} digits)`);
    return Array.from({ length: count }, (_, i) => Number.parseInt(t.slice(i * 2, i * 2 + 2), 16));
}

/** The coordinator options from the editor's fields and the credential store (the key is never logged). */
function optionsFrom(config: ZigbeeCoordinatorConfig, credentials: Credentials, dataDir: string) {
    const adapter = config.adapterType || 'auto';
    if (!ADAPTERS.includes(adapter))
        throw new NodeError('CONFIG', `Adapter "${adapter}" is not one of ${ADAPTERS.join(', ')}`);
    const meters = (config.meters ?? '').split(/[\s,]+/).filter((m) => m !== '');
    for (const m of meters)
        if (!IEEE.test(m)) throw new NodeError('CONFIG', `Meter "${m}" is not an IEEE address (16 hex digits)`);
    if (!credentials.networkKey) throw new NodeError('CONFIG', 'No network key is set (generate one in the editor)');
    const panText = (config.panId ?? '').trim() || '0x1a62';
    const panId = Number.parseInt(panText.replace(/^0x/i, ''), 16);
    if (!/^(0x)?[0-9a-f]{1,4}$/i.test(panText) || panId < 1 || panId > 0xfffe)
        throw new NodeError('CONFIG', `PAN ID "${panText}" must be 0x0001..0xFFFE`);
    return {
        dataDir,
        ...(config.serialPath?.trim() ? { serialPath: config.serialPath.trim() } : {}),
        ...(adapter === 'auto' ? {} : { adapterType: adapter as ZigbeeAdapterType }),
        ...(config.baudRate !== undefined && String(config.baudRate).trim() !== ''
            ? { baudRate: numberField(config.baudRate, 115200, 9600, 4_000_000, 'Baud rate', true) }
            : {}),
        rtscts: config.rtscts === true,
        channel: numberField(config.channel, 11, 11, 26, 'Channel', true),
        panId,
        ...(config.extendedPanId?.trim()
            ? { extendedPanId: hexBytes(config.extendedPanId, 8, 'Extended PAN ID') }
            : {}),
        networkKey: hexBytes(credentials.networkKey, 16, 'Network key'),
        meters,
    };
}

export = (RED: NodeAPI): void => {
    function ZigbeeCoordinatorConfigNode(this: ZigbeeCoordinatorNode, config: ZigbeeCoordinatorConfig): void {
        RED.nodes.createNode(this, config);
        const credentials = ((this as unknown as { credentials?: Credentials }).credentials ?? {}) as Credentials;
        const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
        const dataDir = path.join(userDir, `derlink-zigbee-${this.id.replace(/[^\w.-]/g, '_')}`);
        let coordinator: ZigbeeCoordinator | undefined;
        let options: ReturnType<typeof optionsFrom> | undefined;
        try {
            options = optionsFrom(config, credentials, dataDir);
        } catch (err) {
            // Reported by the meter nodes that use this coordinator (as a CONFIG error), not by an unused one.
            this.zigbeeProblem = withCode(err).message;
            this.debug(this.zigbeeProblem);
        }
        this.zigbeeCoordinator = () => {
            if (!options) throw new NodeError('CONFIG', this.zigbeeProblem ?? 'The coordinator is not configured');
            if (!coordinator) {
                coordinator = new ZigbeeCoordinator({
                    ...options,
                    logger: {
                        info: (m: string) => this.log(m),
                        warn: (m: string) => this.warn(m),
                        error: (m: string) => this.error(m),
                        debug: (m: string) => this.debug(m),
                    },
                });
                coordinator.on('rejected', (ieee) =>
                    this.warn(`Refused a device that is not a configured meter: ${ieee}`),
                );
                void coordinator.start().catch((err: Error) => this.warn(`Coordinator: ${err.message}`));
            }
            return coordinator;
        };
        this.on('close', (_removed: boolean, done: () => void) => {
            if (!coordinator) {
                done();
                return;
            }
            coordinator
                .stop()
                .catch(() => undefined)
                .finally(() => done());
        });
    }
    RED.nodes.registerType(
        'zigbee-coordinator',
        ZigbeeCoordinatorConfigNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
        { credentials: { networkKey: { type: 'password' } } },
    );

    // Operator action: let the configured meters join for a while (never on its own).
    RED.httpAdmin.post(
        '/derlink/zigbee-coordinator/:id/permit-join',
        RED.auth.needsPermission('zigbee-coordinator.write'),
        (req, res) => {
            const node = RED.nodes.getNode(String(req.params.id)) as ZigbeeCoordinatorNode | null;
            if (!node || typeof node.zigbeeCoordinator !== 'function') {
                res.status(404).json({ error: 'This coordinator node is not deployed' });
                return;
            }
            const seconds = Number((req.body as { seconds?: unknown } | undefined)?.seconds ?? 60);
            if (!Number.isInteger(seconds) || seconds < 1 || seconds > 254) {
                res.status(400).json({ error: 'seconds must be a whole number from 1 to 254' });
                return;
            }
            try {
                node.zigbeeCoordinator()
                    .permitJoin(seconds)
                    .then(
                        () => res.json({ seconds }),
                        (err: Error) => res.status(503).json({ error: err.message }),
                    );
            } catch (err) {
                res.status(400).json({ error: withCode(err).message });
            }
        },
    );
};
