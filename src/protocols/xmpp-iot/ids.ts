import { randomBytes } from 'node:crypto';
import type { Session } from '../xmpp';
import type { Generation } from './model';

const counters = new WeakMap<Session, { next: number }>();

/**
 * A fresh request id for one account: G0/G1 `seqnr` must be an xs:int and is unique per
 * requesting client (shared by every node of the account, so two readout nodes never collide);
 * G2/G3 ids are free strings (32 hex digits, as deployed devices expect).
 */
export function newRequestId(session: Session, generation: Generation): string {
    if (generation === 'G2' || generation === 'G3') return randomBytes(16).toString('hex');
    let c = counters.get(session);
    if (!c) {
        c = { next: 1 + Math.floor(Math.random() * 1_000_000) };
        counters.set(session, c);
    }
    const id = c.next;
    c.next = c.next >= 2_147_483_647 ? 1 : c.next + 1;
    return String(id);
}
