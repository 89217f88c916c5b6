import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    ATOM_MEDIA_TYPE,
    type BlockGrouping,
    type DocumentForm,
    type GatewayInfo,
    History,
    historyDocuments,
    type Series,
    type Skipped,
    unitRow,
} from '../protocols/greenbutton';
import { configFailed } from '../shared/account-user';
import { NodeError } from '../shared/errors';
import { gatewayInfo, grouping } from '../shared/greenbutton-config';
import { readingsFromMessage } from '../shared/greenbutton-msg';
import { numberField } from '../shared/xmpp-config';

interface GreenButtonOutConfig extends NodeDef {
    output?: string;
    keep?: string | number;
    grouping?: string;
    unit?: string;
    baseUrl?: string;
    subscriptionId?: string;
    usagePointId?: string;
    title?: string;
    timezone?: string;
}

const FORMS: readonly DocumentForm[] = ['feed', 'blocks', 'entry'];
const CONTENT_TYPE = `${ATOM_MEDIA_TYPE};charset=UTF-8`;

function seriesInfo(s: Series) {
    return {
        id: s.id,
        key: s.key,
        title: s.title,
        uom: s.derived.fields.uom,
        powerOfTenMultiplier: s.derived.fields.powerOfTenMultiplier,
        readings: s.ring.length,
    };
}

export = (RED: NodeAPI): void => {
    function GreenButtonOut(this: Node, config: GreenButtonOutConfig): void {
        RED.nodes.createNode(this, config);
        let info: GatewayInfo;
        let form: DocumentForm;
        let keep: number;
        let group: BlockGrouping;
        let unit: string;
        let rolling: History;
        try {
            form = (config.output || 'feed') as DocumentForm;
            if (!FORMS.includes(form))
                throw new NodeError('CONFIG', `Output "${config.output}" must be feed, blocks or entry`);
            keep = numberField(config.keep, 1, 1, 100_000, 'Keep', true);
            group = grouping(config.grouping);
            unit = config.unit?.trim() || 'kW';
            if (!unitRow(unit)) throw new NodeError('CONFIG', `Unit "${unit}" has no ESPI unit code`);
            info = gatewayInfo(config, 'https://gateway.local');
            rolling = new History({ capacity: keep });
        } catch (err) {
            configFailed(this, err, RED._('greenbutton-out.status.config-error'));
            return;
        }
        this.on('input', (msg, send, done) => {
            try {
                const parsed = readingsFromMessage(msg, { unit });
                // An array is a batch written on its own; other messages join the last `keep` readings per series.
                let history = rolling;
                if (Array.isArray(msg.payload)) {
                    const per = new Map<string, number>();
                    for (const r of parsed.readings) per.set(r.key, (per.get(r.key) ?? 0) + 1);
                    history = new History({ capacity: Math.max(1, ...per.values()) });
                }
                for (const r of parsed.readings) history.add(r.key, r.spec, r);
                const skipped: Skipped[] = parsed.skipped;
                if (parsed.readings.length === 0) {
                    this.status({
                        fill: 'yellow',
                        shape: 'ring',
                        text: RED._('greenbutton-out.status.skipped', { reason: skipped[0]?.reason ?? '–' }),
                    });
                    done();
                    return;
                }
                const docs = historyDocuments(form, info, history, group);
                let bytes = 0;
                const out: NodeMessage[] = docs.map((d) => {
                    bytes += Buffer.byteLength(d.xml);
                    return {
                        ...msg,
                        payload: d.xml,
                        headers: { ...((msg as { headers?: object }).headers ?? {}), 'Content-Type': CONTENT_TYPE },
                        espi: { form, series: d.series.map(seriesInfo), skipped },
                    } as NodeMessage;
                });
                this.status({
                    fill: 'green',
                    shape: 'dot',
                    text: RED._('greenbutton-out.status.written', { readings: parsed.readings.length, bytes }),
                });
                if (out.length === 1) send(out[0] as NodeMessage);
                else send([out]);
                done();
            } catch (err) {
                done(err as Error);
            }
        });
    }
    RED.nodes.registerType(
        'greenbutton-out',
        GreenButtonOut as unknown as Parameters<typeof RED.nodes.registerType>[1],
    );
};
