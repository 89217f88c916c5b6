import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ControlClient } from '../protocols/xmpp-iot/control-client';
import type { Generation, NodeRef, ParameterDescription } from '../protocols/xmpp-iot/model';
import { useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { parametersFromPayload } from '../shared/iot-msg';
import type { XmppAccountNode } from '../shared/xmpp-account';
import { listField, numberField } from '../shared/xmpp-config';

interface IotControlConfig extends NodeDef {
    account: string;
    device?: string;
    generation?: string;
    mode?: string;
    nodes?: string;
    typing?: string;
    timeout?: string | number;
}

const GENERATION_CHOICES = ['auto', 'G0', 'G1', 'G2', 'G3'] as const;

export = (RED: NodeAPI): void => {
    function IotControl(this: Node, config: IotControlConfig): void {
        RED.nodes.createNode(this, config);
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const client = new ControlClient(session);
        const generation = (GENERATION_CHOICES as readonly string[]).includes(config.generation ?? '')
            ? (config.generation as Generation | 'auto')
            : 'auto';
        const acknowledged = config.mode !== 'message';
        /** Forms per device, to type values the way the device declares them (typing "form"). */
        const forms = new Map<string, ParameterDescription[]>();

        const formOf = async (device: string, nodes: NodeRef[], timeoutMs: number): Promise<ParameterDescription[]> => {
            const key = `${device} ${nodes.map((n) => n.nodeId).join(',')}`;
            const known = forms.get(key);
            if (known) return known;
            const form = await client.getForm(device, nodes, { generation, timeoutMs });
            forms.set(key, form);
            return form;
        };

        this.on(
            'input',
            async (
                msg: NodeMessageInFlow & { payload?: unknown; operation?: unknown; types?: unknown },
                send: (m: NodeMessage) => void,
                done: (err?: Error) => void,
            ) => {
                try {
                    const device = (typeof msg.topic === 'string' && msg.topic.trim()) || config.device?.trim();
                    if (!device)
                        throw new NodeError('BAD_INPUT', 'No device: set one in the node, or put its JID in msg.topic');
                    const operation = msg.operation ?? 'set';
                    const nodes: NodeRef[] = listField(config.nodes).map((nodeId) => ({ nodeId }));
                    const timeoutMs = numberField(config.timeout, 30, 1, 3600, 'Timeout') * 1000;
                    const out = msg as NodeMessageInFlow & Record<string, unknown>;
                    if (operation === 'getForm') {
                        forms.delete(`${device} ${nodes.map((n) => n.nodeId).join(',')}`);
                        out.payload = await formOf(device, nodes, timeoutMs);
                        out.xmpp = { device, operation: 'getForm' };
                        send(out);
                        done();
                        return;
                    }
                    if (operation !== 'set')
                        throw new NodeError(
                            'BAD_INPUT',
                            `Unknown msg.operation "${String(operation)}"; use set or getForm`,
                        );
                    const types =
                        msg.types !== null && typeof msg.types === 'object'
                            ? (msg.types as Record<string, unknown>)
                            : {};
                    const known = config.typing === 'form' ? await formOf(device, nodes, timeoutMs) : [];
                    const parameters = parametersFromPayload(msg.payload, known, types);
                    this.status({ fill: 'blue', shape: 'dot', text: RED._('iot-control.status.setting') });
                    const result = await client.set(
                        device,
                        { nodes, parameters },
                        { generation, acknowledged, timeoutMs },
                    );
                    out.xmpp = {
                        device,
                        operation: 'set',
                        acknowledged,
                        parameters: parameters.map((p) => ({ name: p.name, type: p.type, value: p.text })),
                        ...(result
                            ? { applied: { nodes: result.nodes.map((n) => n.nodeId), parameters: result.parameters } }
                            : {}),
                    };
                    this.status({
                        fill: 'green',
                        shape: 'dot',
                        text: RED._(acknowledged ? 'iot-control.status.done' : 'iot-control.status.sent', {
                            count: parameters.length,
                        }),
                    });
                    send(out);
                    done();
                } catch (err) {
                    const e = withCode(err);
                    this.status({ fill: 'red', shape: 'ring', text: e.code.toLowerCase().replace(/_/g, ' ') });
                    done(e);
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType('iot-control', IotControl as unknown as Parameters<typeof RED.nodes.registerType>[1]);

    // Editor helper: a device's controllable parameters (XEP-0325 getForm) through a running account.
    RED.httpAdmin.post('/derlink/iot-control/form', RED.auth.needsPermission('iot-control.read'), async (req, res) => {
        const body = (req.body ?? {}) as { account?: unknown; jid?: unknown; generation?: unknown; nodes?: unknown };
        const account = RED.nodes.getNode(String(body.account ?? '')) as XmppAccountNode | null;
        const session = account?.current?.();
        if (!session) {
            res.status(404).json({ error: RED._('iot-control.errors.not-running') });
            return;
        }
        try {
            const generation = (GENERATION_CHOICES as readonly string[]).includes(String(body.generation))
                ? (body.generation as Generation | 'auto')
                : 'auto';
            const nodes = listField(typeof body.nodes === 'string' ? body.nodes : '').map((nodeId) => ({ nodeId }));
            const parameters = await new ControlClient(session).getForm(String(body.jid ?? ''), nodes, {
                generation,
                timeoutMs: 10_000,
            });
            res.json({ parameters });
        } catch (err) {
            const e = withCode(err);
            res.status(e.code === 'BAD_INPUT' ? 400 : 502).json({ error: e.message, code: e.code });
        }
    });
};
