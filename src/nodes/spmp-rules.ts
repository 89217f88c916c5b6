import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    type Lwm2mServer,
    type NotificationEvent,
    parsePath,
    type RegistrationInfo,
    type RuleAction,
    type RuleValue,
    ruleFromResources,
    SmartLoadRules,
} from '../protocols/lwm2m';
import { configFailed } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { definitionsFrom } from '../shared/lwm2m-config';
import { type Msg, useLwm2mServer } from '../shared/lwm2m-user';

interface SpmpRulesConfig extends NodeDef {
    server: string;
    endpoint?: string;
    voltagePath?: string;
    source?: string;
    rules?: string;
    targetEndpoint?: string;
    spmpBase?: string | number;
}

/**
 * SPMP smart-load shedding (seed 003, "Smart Load" and "SPMP Rules Object"): watches a charge
 * controller's port voltage, and when a Smart Load Rules instance's threshold is crossed writes
 * the rule's value to its target (a BTS resource: RF power, LTE data...), restoring the previous
 * value when the voltage recovers. The rules come from the charger's own Rules object (observed,
 * so edits take effect) or from the node.
 */
export = (RED: NodeAPI): void => {
    function SpmpRulesNode(this: Node, config: SpmpRulesConfig): void {
        RED.nodes.createNode(this, config);
        let endpoint: string;
        let voltagePath: string;
        let rulesObject: number;
        let fromDevice: boolean;
        let targetEndpoint: string;
        let definitions: ReturnType<typeof definitionsFrom>;
        let nodeRules: Record<string, Record<string, unknown>> = {};
        try {
            endpoint = config.endpoint?.trim() ?? '';
            if (!endpoint)
                throw new NodeError('CONFIG', 'Charger endpoint: the LwM2M endpoint name of the charge controller');
            voltagePath = config.voltagePath?.trim() || '/3316/0/5700';
            const vp = parsePath(voltagePath);
            if (vp.resourceId === undefined) throw new NodeError('CONFIG', `Voltage: ${voltagePath} names no resource`);
            definitions = definitionsFrom({ spmpBase: config.spmpBase });
            rulesObject = definitions.spmp.smartLoadRules;
            fromDevice = config.source !== 'node';
            targetEndpoint = config.targetEndpoint?.trim() || endpoint;
            if (!fromDevice) {
                const parsed: unknown = JSON.parse(config.rules?.trim() || '{}');
                if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
                    throw new NodeError(
                        'CONFIG',
                        'Rules: an object keyed by rule ID, each with the Rules object resources by ID',
                    );
                nodeRules = parsed as Record<string, Record<string, unknown>>;
            }
        } catch (err) {
            const e =
                err instanceof SyntaxError ? new NodeError('CONFIG', `Rules: not JSON: ${err.message}`) : withCode(err);
            configFailed(this, e, RED._('spmp-rules.status.config-error'));
            return;
        }
        const server = useLwm2mServer(RED, this, config.server);
        if (!server) return;

        const engine = new SmartLoadRules();
        let voltage: number | undefined;
        let timer: NodeJS.Timeout | undefined;
        let queue: Promise<void> = Promise.resolve();
        let closed = false;

        const show = () => {
            let applied = 0;
            let rules = 0;
            for (const id of ruleIds) {
                const r = engine.get(id);
                if (!r) continue;
                rules++;
                if (r.applied) applied++;
            }
            const v = voltage === undefined ? '–' : `${voltage.toFixed(2)} V`;
            this.status({
                fill: applied > 0 ? 'yellow' : 'green',
                shape: 'dot',
                text: RED._('spmp-rules.status.state', { voltage: v, applied, rules }),
            });
        };
        const ruleIds = new Set<number>();

        /** Sets the rules from instances `{ id: { resource: value } }`; a bad rule is reported and skipped. */
        const loadRules = (instances: Record<string, unknown>) => {
            const actions: RuleAction[] = [];
            const seen = new Set<number>();
            for (const [id, resources] of Object.entries(instances)) {
                const ruleId = Number(id);
                if (!Number.isInteger(ruleId) || resources === null || typeof resources !== 'object') continue;
                try {
                    const rule = ruleFromResources(resources as Record<number, unknown>, {
                        objects: definitions.definitions,
                        ids: definitions.spmp,
                    });
                    actions.push(...engine.setRule(ruleId, rule));
                    seen.add(ruleId);
                    ruleIds.add(ruleId);
                } catch (err) {
                    this.warn(`Rule ${ruleId}: ${(err as Error).message}`);
                }
            }
            for (const id of [...ruleIds]) {
                if (seen.has(id)) continue;
                actions.push(...engine.release(id));
                engine.removeRule(id);
                ruleIds.delete(id);
            }
            if (voltage !== undefined) actions.push(...engine.evaluate(voltage));
            carryOut(actions);
        };

        const schedule = () => {
            clearTimeout(timer);
            const at = engine.nextCheckAt();
            if (at === undefined || closed) return;
            timer = setTimeout(() => carryOut(engine.check()), Math.max(0, at - Date.now()));
        };

        const pathOf = (a: RuleAction) => `/${a.target.objectId}/${a.target.instanceId}/${a.target.resourceId}`;

        /** Writes the actions in order; an apply first reads the target so the restore can put it back. */
        const carryOut = (actions: RuleAction[]) => {
            schedule();
            show();
            if (actions.length === 0) return;
            queue = queue.then(async () => {
                let s: Lwm2mServer;
                try {
                    s = await server.lwm2mServer();
                } catch {
                    return;
                }
                for (const a of actions) {
                    if (closed) return;
                    const path = pathOf(a);
                    try {
                        if (a.kind === 'apply' && a.previous === undefined) {
                            const before = await s.read(targetEndpoint, path);
                            if (before.ok && ['string', 'number', 'boolean'].includes(typeof before.value))
                                engine.remember(a.ruleId, before.value as RuleValue);
                        }
                        if (a.value === undefined) {
                            this.warn(
                                `Rule ${a.ruleId}: the value of ${path} before the rule is unknown; nothing restored`,
                            );
                            continue;
                        }
                        const r = await s.write(targetEndpoint, path, a.value);
                        this.send({
                            topic: path,
                            payload: a.value,
                            lwm2m: {
                                event: a.kind,
                                rule: a.ruleId,
                                endpoint: targetEndpoint,
                                path,
                                code: r.code,
                                voltage,
                                ...(r.message ? { message: r.message } : {}),
                            },
                        } as NodeMessage);
                        if (!r.ok)
                            this.warn(`Rule ${a.ruleId}: ${a.kind} ${path} on ${targetEndpoint} answered ${r.code}`);
                    } catch (err) {
                        this.warn(
                            `Rule ${a.ruleId}: ${a.kind} ${path} on ${targetEndpoint}: ${(err as Error).message}`,
                        );
                    }
                }
                show();
            });
        };

        const sample = (v: unknown) => {
            if (typeof v !== 'number' || !Number.isFinite(v)) return false;
            voltage = v;
            carryOut(engine.evaluate(v));
            return true;
        };

        const rulesPath = `/${rulesObject}`;
        const watch = async (s: Lwm2mServer) => {
            if (!s.registration(endpoint)) return;
            const v = await s.observe(endpoint, voltagePath).catch((err: Error) => {
                this.warn(`Observe ${voltagePath} on ${endpoint}: ${err.message}`);
                return undefined;
            });
            if (v?.ok) sample(v.value);
            if (!fromDevice) return;
            const r = await s.observe(endpoint, rulesPath).catch(() => undefined);
            if (r?.ok && r.value && typeof r.value === 'object') loadRules(r.value as Record<string, unknown>);
            else if (r && r.code === '4.04') loadRules({});
        };

        const onNotification = (n: NotificationEvent) => {
            if (n.endpoint !== endpoint || !n.ok) return;
            if (n.path === voltagePath) sample(n.value);
            else if (fromDevice && n.path === rulesPath && n.value && typeof n.value === 'object')
                loadRules(n.value as Record<string, unknown>);
        };
        const onRegistered = (info: RegistrationInfo) => {
            if (info.endpoint !== endpoint) return;
            void server.lwm2mServer().then(watch, () => undefined);
        };
        const onUpdated = (info: RegistrationInfo, extra?: { objectsChanged?: boolean }) => {
            // New or removed rule instances show in the object list: read the rules again.
            if (info.endpoint !== endpoint || !fromDevice || !extra?.objectsChanged) return;
            void server.lwm2mServer().then(async (s) => {
                const r = await s.read(endpoint, rulesPath).catch(() => undefined);
                if (r?.ok && r.value && typeof r.value === 'object') loadRules(r.value as Record<string, unknown>);
            });
        };
        server.lwm2mEvents.on('notification', onNotification);
        server.lwm2mEvents.on('registered', onRegistered);
        server.lwm2mEvents.on('updated', onUpdated);
        if (!fromDevice) loadRules(nodeRules);
        show();
        void server.lwm2mServer().then(watch, () => undefined);

        this.on('input', (msg: Msg, _send, done) => {
            try {
                if (msg.topic === 'rules') {
                    if (fromDevice)
                        throw new NodeError(
                            'BAD_INPUT',
                            'Rules come from the charger; set Rules to "from the node" to send them in',
                        );
                    if (msg.payload === null || typeof msg.payload !== 'object' || Array.isArray(msg.payload))
                        throw new NodeError('BAD_INPUT', 'msg.payload: rules keyed by rule ID');
                    loadRules(msg.payload as Record<string, unknown>);
                } else if (!sample(msg.payload)) {
                    throw new NodeError(
                        'BAD_INPUT',
                        'msg.payload: a port voltage in volts, or msg.topic "rules" with rules',
                    );
                }
                done();
            } catch (err) {
                done(withCode(err));
            }
        });
        this.on('close', (_removed: boolean, done: () => void) => {
            closed = true;
            clearTimeout(timer);
            server.lwm2mEvents.off('notification', onNotification);
            server.lwm2mEvents.off('registered', onRegistered);
            server.lwm2mEvents.off('updated', onUpdated);
            queue.finally(() => done());
        });
    }
    RED.nodes.registerType('spmp-rules', SpmpRulesNode as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
