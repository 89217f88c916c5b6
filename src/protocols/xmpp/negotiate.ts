import { randomBytes } from 'node:crypto';
import { el, type XmlElement } from '../xml';
import { XmppError } from './errors';
import { parseJid } from './jid';
import { NS } from './namespaces';
import { chooseMechanism, type SaslCredentials } from './sasl';
import type { XmppStream } from './stream';
import { enableElement, readH, resumeElement } from './stream-management';
import type { TlsMode, TlsTrust } from './tls';

/**
 * Client stream negotiation (RFC 6120 §4.3, in the order of XEP-0170): STARTTLS, SASL,
 * then either XEP-0198 resumption or resource binding followed by XEP-0198 enable.
 */
export interface NegotiationOptions {
    domain: string;
    credentials: SaslCredentials;
    resource: string;
    tls: TlsMode;
    trust: TlsTrust;
    /** Ask for XEP-0198 stream management. */
    streamManagement: boolean;
    /** Bound on each step (each server answer). */
    stepTimeoutMs: number;
    /** Called with the name of each step as it starts (debug logging). */
    trace?: (step: string) => void;
}

export interface NegotiationResult {
    /** The full JID the server bound (or the resumed session's). */
    jid: string | undefined;
    /** The previous session was resumed (XEP-0198 §5). */
    resumed: boolean;
    /** `h` from `<resumed/>`, or from `<failed/>` when resumption was refused. */
    h: number | undefined;
    /** Resumption was asked for and refused (the server no longer holds the session). */
    resumeFailed: boolean;
    /** Result of `<enable/>` on a new session. */
    sm: { id: string | undefined; resumable: boolean } | undefined;
}

function b64(text: string): string {
    return text === '' ? '=' : Buffer.from(text, 'utf8').toString('base64');
}

function unb64(text: string): string {
    const t = text.trim();
    return t === '' || t === '=' ? '' : Buffer.from(t, 'base64').toString('utf8');
}

async function expectFeatures(stream: XmppStream, timeout: number): Promise<XmlElement> {
    const features = await stream.inbox.next(timeout, 'with stream features');
    if (!features.is('features', NS.STREAM)) {
        throw new XmppError('PROTOCOL_ERROR', `Expected <stream:features/>, got <${features.name}/>`);
    }
    return features;
}

async function startTls(stream: XmppStream, o: NegotiationOptions): Promise<void> {
    await stream.sendElement(el('starttls', { xmlns: NS.TLS }));
    const answer = await stream.inbox.next(o.stepTimeoutMs, 'STARTTLS');
    if (!answer.is('proceed', NS.TLS)) {
        throw new XmppError('TLS_FAILED', `Server refused STARTTLS (<${answer.local}/>)`);
    }
    await stream.upgradeToTls(o.domain, o.trust, o.stepTimeoutMs);
}

async function authenticate(
    stream: XmppStream,
    features: XmlElement,
    o: NegotiationOptions,
    trace: (step: string) => void,
): Promise<void> {
    const mechanisms = features.child('mechanisms', NS.SASL);
    if (!mechanisms) throw new XmppError('AUTH_FAILED', 'Server offers no SASL authentication');
    const offered = mechanisms.childrenNamed('mechanism', NS.SASL).map((m) => m.text().trim());
    const mech = chooseMechanism(offered, stream.isSecure(), o.credentials);
    trace(`authenticate with ${mech.name} (offered: ${offered.join(' ')})`);
    await stream.sendElement(el('auth', { xmlns: NS.SASL, mechanism: mech.name }, b64(mech.initial())));
    for (let round = 0; round < 10; round++) {
        const answer = await stream.inbox.next(o.stepTimeoutMs, 'SASL authentication');
        if (answer.is('challenge', NS.SASL)) {
            const response = await mech.respond(unb64(answer.text()));
            await stream.sendElement(el('response', { xmlns: NS.SASL }, b64(response)));
        } else if (answer.is('success', NS.SASL)) {
            mech.verifySuccess(unb64(answer.text()));
            return;
        } else if (answer.is('failure', NS.SASL)) {
            const condition = answer.elements().find((c) => c.local !== 'text')?.local ?? 'not-authorized';
            const text = answer.childText('text', NS.SASL);
            throw new XmppError('AUTH_FAILED', `Authentication failed (${condition})${text ? `: ${text}` : ''}`, {
                condition,
            });
        } else {
            throw new XmppError('PROTOCOL_ERROR', `Unexpected <${answer.local}/> during SASL`);
        }
    }
    throw new XmppError('AUTH_FAILED', 'SASL exchange did not finish within 10 rounds');
}

/** Sends an IQ during negotiation and waits for its answer (nothing else is routed yet). */
async function negotiationIq(
    stream: XmppStream,
    payload: XmlElement,
    what: string,
    timeout: number,
): Promise<XmlElement> {
    const id = `neg-${randomBytes(6).toString('hex')}`;
    await stream.sendElement(el('iq', { type: 'set', id }, payload));
    for (;;) {
        const answer = await stream.inbox.next(timeout, what);
        if (answer.local !== 'iq' || answer.attr('id') !== id) continue;
        if (answer.attr('type') === 'result') return answer;
        const cond = answer.child('error')?.elements()[0]?.local ?? 'undefined-condition';
        throw new XmppError(cond === 'conflict' ? 'CONFLICT' : 'PROTOCOL_ERROR', `${what} failed (${cond})`, {
            condition: cond,
        });
    }
}

async function bind(stream: XmppStream, o: NegotiationOptions): Promise<string> {
    const result = await negotiationIq(
        stream,
        el('bind', { xmlns: NS.BIND }, o.resource ? el('resource', {}, o.resource) : undefined),
        'Resource binding',
        o.stepTimeoutMs,
    );
    const jid = result.child('bind', NS.BIND)?.childText('jid');
    if (!jid) throw new XmppError('PROTOCOL_ERROR', 'Resource binding returned no JID');
    return parseJid(jid).full;
}

async function enableSm(stream: XmppStream, o: NegotiationOptions): Promise<NegotiationResult['sm']> {
    await stream.sendElement(enableElement());
    const answer = await stream.inbox.next(o.stepTimeoutMs, 'stream management enable');
    if (answer.is('enabled', NS.SM)) {
        const resumable = answer.attr('resume') === 'true' || answer.attr('resume') === '1';
        return { id: answer.attr('id'), resumable };
    }
    return undefined;
}

/**
 * Negotiates a freshly connected stream up to the point where stanzas may flow.
 * `resume` carries the previous XEP-0198 session, when there is one to resume.
 */
export async function negotiate(
    stream: XmppStream,
    o: NegotiationOptions,
    resume?: { id: string; h: number },
): Promise<NegotiationResult> {
    const trace = o.trace ?? (() => {});
    trace('open stream');
    await stream.open({ domain: o.domain });
    trace('features');
    let features = await expectFeatures(stream, o.stepTimeoutMs);

    if (!stream.isSecure() && o.tls === 'starttls') {
        if (!features.child('starttls', NS.TLS)) {
            throw new XmppError('TLS_FAILED', 'Server does not offer STARTTLS; refusing to continue unencrypted');
        }
        trace('starttls');
        await startTls(stream, o);
        trace('restart after TLS');
        await stream.restart();
        features = await expectFeatures(stream, o.stepTimeoutMs);
    } else if (!stream.isSecure() && features.child('starttls', NS.TLS)?.child('required', NS.TLS)) {
        throw new XmppError('TLS_FAILED', 'Server requires TLS but the account is set to no TLS');
    }

    await authenticate(stream, features, o, trace);
    trace('restart after SASL');
    await stream.restart();
    features = await expectFeatures(stream, o.stepTimeoutMs);

    const smOffered = o.streamManagement && features.child('sm', NS.SM) !== undefined;
    const result: NegotiationResult = {
        jid: undefined,
        resumed: false,
        h: undefined,
        resumeFailed: false,
        sm: undefined,
    };

    if (resume) {
        if (smOffered) {
            trace('resume');
            await stream.sendElement(resumeElement(resume.id, resume.h));
            const answer = await stream.inbox.next(o.stepTimeoutMs, 'stream resumption');
            if (answer.is('resumed', NS.SM)) {
                return { ...result, resumed: true, h: readH(answer) };
            }
            result.h = answer.is('failed', NS.SM) ? readH(answer) : undefined;
        }
        result.resumeFailed = true;
    }

    trace('bind');
    result.jid = await bind(stream, o);
    const session = features.child('session', NS.SESSION);
    if (session && !session.child('optional', NS.SESSION)) {
        await negotiationIq(stream, el('session', { xmlns: NS.SESSION }), 'Session establishment', o.stepTimeoutMs);
    }
    if (smOffered) {
        trace('enable stream management');
        result.sm = await enableSm(stream, o);
    }
    return result;
}
