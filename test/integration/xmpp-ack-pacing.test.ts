/**
 * XEP-0198 acknowledgement pacing against a real Prosody (its debug log shows each <r/> it sends
 * and its queue of unacknowledged stanzas): a burst delivered to a session costs a few r/a pairs,
 * not one per stanza, and Prosody's resend queue stays far below its 500 (beyond which a session
 * cannot be resumed).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { el } from '../../src/protocols/xml';
import type { Session } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { online, waitFor } from '../support/xmpp';

const NS = 'urn:derlink:test:pacing';
let prosody: Prosody;
let alice: Session;
let bob: Session;

before(async () => {
    prosody = await startProsody({ accounts: { alice: 'a', bob: 'b' }, logLevel: 'debug' });
    alice = await online(prosody, 'alice', { resource: 'a' });
    bob = await online(prosody, 'bob', { resource: 'b' });
});

after(async () => {
    await alice?.close();
    await bob?.close();
    await prosody?.stop();
    prosody?.cleanup();
});

/** Prosody's `<r/>` requests, and its unacknowledged queue after each of our `<a/>`, logged after `offset`. */
function smacksLog(offset: number): { requests: number; afterAcks: number[] } {
    const text = prosody.log().slice(offset);
    const requests = (text.match(/Sending <r> \(inside timer, before send\)/g) ?? []).length;
    const afterAcks = [...text.matchAll(/#queue = (\d+) \(acked/g)].map((m) => Number(m[1]));
    return { requests, afterAcks };
}

async function deliver(n: number, gapMs: number, got: string[]): Promise<{ requests: number; afterAcks: number[] }> {
    const offset = prosody.log().length;
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) {
        sent.push(alice.send(el('message', { to: bob.jid }, el('n', { xmlns: NS }, String(i)))));
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
    await Promise.all(sent);
    await waitFor(
        () => got.length === n,
        20_000,
        () => `${got.length} of ${n} delivered`,
    );
    await new Promise((r) => setTimeout(r, 500));
    return smacksLog(offset);
}

test('stanzas arriving one by one and in a burst: few r/a pairs, everything acknowledged and delivered', {
    timeout: 60_000,
}, async () => {
    const got: string[] = [];
    const handle = bob.handleMessage(NS, 'n', (m) => {
        got.push(m.payload.text());
    });
    try {
        // One every 5 ms (a poll cycle's pace): answered at once, Prosody would ask after nearly every one.
        const spaced = await deliver(100, 5, got);
        assert.deepEqual(
            got.map(Number),
            Array.from({ length: 100 }, (_, i) => i),
            'all, in order',
        );
        assert.ok(spaced.requests >= 1 && spaced.requests < 30, `${spaced.requests} <r/> for 100 stanzas`);
        assert.ok(spaced.afterAcks.length >= spaced.requests, 'each request answered');
        assert.equal(spaced.afterAcks.at(-1), 0, `queue after our answers: ${spaced.afterAcks.join(' ')}`);
        got.length = 0;
        const burst = await deliver(600, 0, got);
        assert.deepEqual(
            got.map(Number),
            Array.from({ length: 600 }, (_, i) => i),
            'all, in order',
        );
        assert.ok(burst.requests >= 1 && burst.requests < 60, `${burst.requests} <r/> for 600 stanzas`);
        assert.equal(burst.afterAcks.at(-1), 0, `queue after our answers: ${burst.afterAcks.join(' ')}`);
    } finally {
        handle.dispose();
    }
});
