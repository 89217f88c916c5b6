/** Fake time for the metering tests: a clock and timers that move only when a test advances them. */
import type { Clock, Timers } from '../../src/protocols/sep';

/** Lets pending promise callbacks and immediates run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A tiny scheduler: time only moves when a test advances it; due timers fire in (due, creation) order. */
export class FakeTime implements Clock, Timers {
    #t: number;
    #seq = 0;
    #queue: Array<{ due: number; id: number; fn: () => void }> = [];
    constructor(start: number) {
        this.#t = start;
    }
    now(): number {
        return this.#t;
    }
    setTimeout(fn: () => void, ms: number): unknown {
        const id = ++this.#seq;
        this.#queue.push({ due: this.#t + Math.max(0, ms), id, fn });
        return id;
    }
    clearTimeout(handle: unknown): void {
        this.#queue = this.#queue.filter((x) => x.id !== handle);
    }
    get pending(): number {
        return this.#queue.length;
    }
    /** Moves the clock without firing anything (a suspended process). */
    jump(ms: number): void {
        this.#t += ms;
    }
    async advance(ms: number): Promise<void> {
        const target = this.#t + ms;
        for (;;) {
            await flush();
            let next: { due: number; id: number; fn: () => void } | undefined;
            for (const x of this.#queue) {
                if (x.due <= target && (!next || x.due < next.due || (x.due === next.due && x.id < next.id))) next = x;
            }
            if (!next) break;
            const fire = next;
            this.#queue = this.#queue.filter((x) => x !== fire);
            this.#t = Math.max(this.#t, fire.due);
            fire.fn();
        }
        this.#t = target;
        await flush();
    }
}
