import { el, type XmlElement } from '../xml';
import { type Session, StanzaError, tryParseJid, XmppError, type XmppErrorCode } from '../xmpp';
import { controlCodec } from './control';
import { GenerationDiscovery } from './discovery';
import type {
    ControlFailure,
    ControlRequest,
    ControlResult,
    Generation,
    NodeRef,
    ParameterDescription,
    Tokens,
} from './model';

export interface ControlOptions {
    /** The generation to speak; 'auto' (default) asks the device (disco#info). */
    generation?: Generation | 'auto';
    /** IQ with an answer (default), or a message without one (XEP-0325 G0/G1 only). */
    acknowledged?: boolean;
    timeoutMs?: number;
}

/** A set the device refused, with its reason, the parameter at fault and the device's message. */
export class ControlError extends XmppError {
    readonly failure: ControlFailure;

    constructor(device: string, failure: ControlFailure, cause?: unknown) {
        super(
            CODES[failure.reason],
            `${device} refused the set${failure.parameter ? ` of ${failure.parameter}` : ''}: ${failure.message}`,
            cause === undefined ? {} : { cause },
        );
        this.name = 'ControlError';
        this.failure = failure;
    }
}

const CODES: Readonly<Record<ControlFailure['reason'], XmppErrorCode>> = {
    'not-found': 'NOT_FOUND',
    forbidden: 'ACCESS_DENIED',
    locked: 'CONFLICT',
    'not-implemented': 'NOT_SUPPORTED',
    'bad-value': 'BAD_INPUT',
    'form-error': 'BAD_INPUT',
    other: 'REMOTE_ERROR',
};

/** The client side of XEP-0325 and its successors: set parameters, discover them with getForm. */
export class ControlClient {
    readonly #session: Session;
    readonly #discovery: GenerationDiscovery;

    constructor(session: Session, discovery = new GenerationDiscovery(session)) {
        this.#session = session;
        this.#discovery = discovery;
    }

    /**
     * Sets parameters. Acknowledged (IQ): resolves with what the device applied, or rejects with
     * ControlError. Unacknowledged (message): resolves undefined once the message is sent.
     */
    async set(
        to: string,
        request: Omit<ControlRequest, 'unacknowledged'>,
        options: ControlOptions = {},
    ): Promise<ControlResult | undefined> {
        const device = this.#resolve(to);
        const generation = await this.#generation(device, options);
        const codec = controlCodec(generation);
        const acknowledged = options.acknowledged !== false;
        if (!acknowledged) {
            if (!codec.supportsMessageSet) {
                throw new XmppError(
                    'NOT_SUPPORTED',
                    `Generation ${generation} has no set without acknowledgement; use an acknowledged set`,
                );
            }
            await this.#session.send(el('message', { to: device }, codec.set({ ...request, unacknowledged: true })));
            return undefined;
        }
        try {
            const answer = await this.#session.request(device, 'set', codec.set(request), {
                timeoutMs: options.timeoutMs ?? 30_000,
            });
            return codec.readSetResult(answer);
        } catch (err) {
            // An error stanza from the device, or (v0.1/v0.2 devices) a failure code inside the IQ
            // result, which the codec reports as a StanzaError carrying that payload.
            if (err instanceof StanzaError && (err.stanza || err.payload)) {
                const stanza = err.stanza ?? el('iq', { type: 'error' }, err.payload as XmlElement);
                throw new ControlError(device, codec.readSetError(stanza), err);
            }
            throw err;
        }
    }

    /** The device's controllable parameters (XEP-0325 getForm). */
    async getForm(
        to: string,
        nodes: readonly NodeRef[] = [],
        options: ControlOptions & { tokens?: Tokens } = {},
    ): Promise<ParameterDescription[]> {
        const device = this.#resolve(to);
        const codec = controlCodec(await this.#generation(device, options));
        const answer = await this.#session
            .request(device, 'get', codec.getForm(nodes, options.tokens), { timeoutMs: options.timeoutMs ?? 30_000 })
            .catch((err: unknown) => {
                // Keep the code (for the flow) and say who refused what (for the person reading it).
                if (err instanceof XmppError)
                    throw new XmppError(err.code, `${device} did not give its form: ${err.message}`, {
                        ...(err.condition ? { condition: err.condition } : {}),
                        cause: err,
                    });
                throw err;
            });
        if (!answer) throw new XmppError('PROTOCOL_ERROR', `${device} answered getForm without a form`);
        return codec.readForm(answer);
    }

    #resolve(to: string): string {
        const jid = tryParseJid(to);
        if (!jid) throw new XmppError('BAD_INPUT', `"${to}" is not a JID`);
        if (jid.resource) return jid.full;
        return this.#session.presenceOf(jid.bare)[0]?.jid ?? jid.full;
    }

    async #generation(device: string, options: ControlOptions): Promise<Generation> {
        if (options.generation && options.generation !== 'auto') return options.generation;
        return this.#discovery.generation(device, 'control');
    }
}
