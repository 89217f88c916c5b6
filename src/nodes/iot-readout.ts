import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { CATEGORIES, type Category, type Generation, type NodeRef } from '../protocols/xmpp-iot/model';
import { ReadoutClient, ReadoutFailure, type ReadoutResult } from '../protocols/xmpp-iot/readout-client';
import { useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { fieldJson, newestTimestamp, payloadOf, qualityOf } from '../shared/iot-msg';
import { listField, numberField } from '../shared/xmpp-config';

interface IotReadoutConfig extends NodeDef {
    account: string;
    device?: string;
    generation?: string;
    categories?: string;
    fields?: string;
    nodes?: string;
    timeout?: string | number;
}

const GENERATION_CHOICES = ['auto', 'G0', 'G1', 'G2', 'G3'] as const;

interface ReadoutOverrides {
    fields?: unknown;
    nodes?: unknown;
    categories?: unknown;
    from?: unknown;
    to?: unknown;
    when?: unknown;
    cancel?: unknown;
}

function stringList(v: unknown, what: string): string[] | undefined {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return listField(v);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    throw new NodeError('BAD_INPUT', `${what} must be a list of strings or a comma-separated string`);
}

function time(v: unknown, what: string): { date: Date; zoneless: false } | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    const d = v instanceof Date ? v : new Date(v as string | number);
    if (Number.isNaN(d.getTime())) throw new NodeError('BAD_INPUT', `${what} "${String(v)}" is not a date and time`);
    return { date: d, zoneless: false };
}

function categoryList(v: unknown): { categories: Category[]; all: boolean } {
    const list = stringList(v, 'categories') ?? ['momentary'];
    if (list.includes('all')) return { categories: [], all: true };
    for (const c of list) {
        if (!(CATEGORIES as readonly string[]).includes(c)) {
            throw new NodeError('BAD_INPUT', `"${c}" is not a field category; use ${CATEGORIES.join(', ')} or all`);
        }
    }
    return { categories: list as Category[], all: false };
}

export = (RED: NodeAPI): void => {
    function IotReadout(this: Node, config: IotReadoutConfig): void {
        RED.nodes.createNode(this, config);
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;
        const client = new ReadoutClient(session);
        const generation = (GENERATION_CHOICES as readonly string[]).includes(config.generation ?? '')
            ? (config.generation as Generation | 'auto')
            : 'auto';

        /** Readouts cancelled on request, whose failure is not reported as an error. */
        const cancelled = new Set<string>();

        /** `cancel: true` cancels every readout this node waits for; a string or list, those ids. */
        const cancel = async (which: unknown): Promise<void> => {
            const ids =
                which === true
                    ? undefined
                    : typeof which === 'string'
                      ? [which]
                      : Array.isArray(which) && which.every((x) => typeof x === 'string')
                        ? (which as string[])
                        : null;
            if (ids === null)
                throw new NodeError('BAD_INPUT', 'cancel must be true, a readout id, or a list of readout ids');
            const targets = client.readouts().filter((r) => !ids || ids.includes(r.id));
            for (const r of targets) cancelled.add(r.id);
            await Promise.all(targets.map((r) => client.cancel(r.device, r.id)));
            this.status({
                fill: 'grey',
                shape: 'ring',
                text: RED._('iot-readout.status.cancelled', { count: targets.length }),
            });
        };

        this.on(
            'input',
            async (
                msg: NodeMessageInFlow & { payload?: unknown },
                send: (m: NodeMessage) => void,
                done: (err?: Error) => void,
            ) => {
                try {
                    const o: ReadoutOverrides =
                        msg.payload !== null && typeof msg.payload === 'object' && !Array.isArray(msg.payload)
                            ? (msg.payload as ReadoutOverrides)
                            : {};
                    if (o.cancel !== undefined && o.cancel !== false) {
                        await cancel(o.cancel);
                        done();
                        return;
                    }
                    const device = (typeof msg.topic === 'string' && msg.topic.trim()) || config.device?.trim();
                    if (!device)
                        throw new NodeError('BAD_INPUT', 'No device: set one in the node, or put its JID in msg.topic');
                    const { categories, all } = categoryList(o.categories ?? config.categories);
                    const nodes: NodeRef[] = (stringList(o.nodes, 'nodes') ?? listField(config.nodes)).map(
                        (nodeId) => ({ nodeId }),
                    );
                    const from = time(o.from, 'from');
                    const to = time(o.to, 'to');
                    const when = time(o.when, 'when');
                    const timeoutMs = numberField(config.timeout, 30, 1, 86_400, 'Timeout') * 1000;
                    this.status({ fill: 'blue', shape: 'dot', text: RED._('iot-readout.status.reading') });
                    const result: ReadoutResult = await client.read(
                        device,
                        {
                            categories,
                            all,
                            nodes,
                            fields: stringList(o.fields, 'fields') ?? listField(config.fields),
                            ...(from ? { from } : {}),
                            ...(to ? { to } : {}),
                            ...(when ? { when } : {}),
                        },
                        { generation, timeoutMs },
                    );
                    const fields = result.fields.map(fieldJson);
                    if (fields.length === 0 && result.errors.length > 0) {
                        // The device answered with errors only: nothing was read.
                        throw new NodeError(
                            'REMOTE_ERROR',
                            `${result.device} could not read: ${result.errors.map((e) => (e.node ? `${e.node.nodeId}: ${e.message}` : e.message)).join('; ')}`,
                        );
                    }
                    const out = msg as NodeMessageInFlow & Record<string, unknown>;
                    out.topic = result.device;
                    out.payload = payloadOf(fields);
                    out.fields = fields;
                    out.timestamp = newestTimestamp(fields) ?? new Date().toISOString();
                    // Errors beside the fields (a node that could not be read) make the readout questionable at best.
                    const quality = qualityOf(result.fields);
                    out.quality = result.errors.length > 0 && quality === 'good' ? 'questionable' : quality;
                    out.xmpp = {
                        device: result.device,
                        generation: result.generation,
                        id: result.id,
                        queued: result.queued,
                        missing: result.missing,
                        ignored: result.ignored,
                        errors: result.errors.map((e) => ({
                            node: e.node?.nodeId,
                            timestamp: e.timestamp.date.toISOString(),
                            message: e.message,
                        })),
                    };
                    this.status({
                        fill: 'green',
                        shape: 'dot',
                        text: RED._('iot-readout.status.fields', { count: fields.length }),
                    });
                    send(out);
                    done();
                } catch (err) {
                    if (err instanceof ReadoutFailure && err.partial && cancelled.delete(err.partial.id)) {
                        // Cancelled on request (msg.payload.cancel): not an error, and nothing to send.
                        done();
                        return;
                    }
                    const e = withCode(err);
                    if (err instanceof ReadoutFailure && err.partial)
                        (msg as Record<string, unknown>).fields = err.partial.fields.map(fieldJson);
                    this.status({ fill: 'red', shape: 'ring', text: e.code.toLowerCase().replace(/_/g, ' ') });
                    done(e);
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            client.dispose();
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType('iot-readout', IotReadout as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
