/**
 * The values an iot-sensor serves in cache mode: the latest value of each field per node, and a
 * bounded history for fields fed as historical. Pure data; the node file feeds it from messages.
 */
import type { Field, NodeRef, ReadoutRequest } from '../protocols/xmpp-iot/model';
import { NodeError } from './errors';
import { fieldFromValue } from './iot-msg';

/** Node id used for values of a device without nodes. */
const DEVICE = '';

export class SensorStore {
    readonly #latest = new Map<string, Map<string, Field>>();
    readonly #history = new Map<string, Map<string, Field[]>>();
    readonly #historyLimit: number;
    readonly #nodes: readonly NodeRef[];

    constructor(nodes: readonly NodeRef[], historyLimit = 1000) {
        this.#nodes = nodes;
        this.#historyLimit = historyLimit;
    }

    /** How many fields the store holds (latest values). */
    get size(): number {
        let n = 0;
        for (const m of this.#latest.values()) n += m.size;
        return n;
    }

    /**
     * Stores values from a message: `payload` is one value (with `topic` as its name) or an object
     * of name -> value or name -> {value, unit, decimals, type, category, quality, timestamp};
     * `defaults` applies to every value. Returns the fields stored.
     */
    put(topic: unknown, payload: unknown, defaults: Record<string, unknown> & { node?: unknown }): Field[] {
        const node = this.#node(defaults.node);
        const entries: Array<[string, unknown, Record<string, unknown>]> = [];
        const isScalar = payload === null || typeof payload !== 'object' || payload instanceof Date;
        if (isScalar) {
            if (typeof topic !== 'string' || topic.trim() === '') {
                throw new NodeError(
                    'BAD_INPUT',
                    'A single value needs its field name in msg.topic (or send an object of names and values)',
                );
            }
            entries.push([topic.trim(), payload, {}]);
        } else if (Array.isArray(payload)) {
            throw new NodeError(
                'BAD_INPUT',
                'msg.payload must be a value or an object of field names and values, not an array',
            );
        } else {
            for (const [name, v] of Object.entries(payload as Record<string, unknown>)) {
                if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)) {
                    const { value, ...meta } = v as Record<string, unknown>;
                    entries.push([name, value, meta]);
                } else {
                    entries.push([name, v, {}]);
                }
            }
            if (entries.length === 0) throw new NodeError('BAD_INPUT', 'msg.payload names no field');
        }
        // Build everything first: one bad value stores nothing (no half-updated readouts).
        const fields = entries.map(([name, value, meta]) =>
            fieldFromValue(name, value, {
                unit: meta.unit ?? defaults.unit,
                decimals: meta.decimals ?? defaults.decimals,
                type: meta.type ?? defaults.type,
                timestamp: meta.timestamp ?? defaults.timestamp,
                category: meta.category ?? defaults.category,
                quality: meta.quality ?? defaults.quality,
                ...(node ? { node } : {}),
            }),
        );
        for (const f of fields) this.#store(f);
        return fields;
    }

    /** The fields of one node (or the device) that a request covers: latest values, plus history when asked for. */
    read(node: NodeRef | undefined, request: ReadoutRequest): Field[] {
        const key = node?.nodeId ?? DEVICE;
        const out = [...(this.#latest.get(key)?.values() ?? [])].filter((f) => !f.categories.includes('historical'));
        const wantsHistory = request.all || request.categories.includes('historical');
        if (wantsHistory) {
            const from = request.from?.date.getTime() ?? Number.NEGATIVE_INFINITY;
            const to = request.to?.date.getTime() ?? Number.POSITIVE_INFINITY;
            for (const list of this.#history.get(key)?.values() ?? []) {
                for (const f of list) {
                    const t = f.timestamp.date.getTime();
                    if (t >= from && t <= to) out.push(f);
                }
            }
        }
        return out;
    }

    #node(raw: unknown): NodeRef | undefined {
        if (raw === undefined || raw === null || raw === '') {
            if (this.#nodes.length === 0) return undefined;
            if (this.#nodes.length === 1) return this.#nodes[0];
            throw new NodeError(
                'BAD_INPUT',
                `This sensor has several nodes; say which one in msg.node (${this.#nodes.map((n) => n.nodeId).join(', ')})`,
            );
        }
        const found = this.#nodes.find((n) => n.nodeId === raw);
        if (!found) {
            throw new NodeError(
                'BAD_INPUT',
                this.#nodes.length === 0
                    ? `msg.node "${String(raw)}" given, but this sensor has no nodes`
                    : `msg.node "${String(raw)}" is not one of ${this.#nodes.map((n) => n.nodeId).join(', ')}`,
            );
        }
        return found;
    }

    #store(f: Field): void {
        const key = f.node?.nodeId ?? DEVICE;
        if (f.categories.includes('historical')) {
            const byName = this.#history.get(key) ?? new Map<string, Field[]>();
            this.#history.set(key, byName);
            const list = byName.get(f.name) ?? [];
            list.push(f);
            list.sort((a, b) => a.timestamp.date.getTime() - b.timestamp.date.getTime());
            if (list.length > this.#historyLimit) list.splice(0, list.length - this.#historyLimit);
            byName.set(f.name, list);
            return;
        }
        const byName = this.#latest.get(key) ?? new Map<string, Field>();
        this.#latest.set(key, byName);
        byName.set(f.name, f);
    }
}
