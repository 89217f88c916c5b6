/**
 * Reconnect delays: exponential growth from `minMs` to `maxMs`, with "equal jitter"
 * (half the delay fixed, half random) so a fleet restarting together does not reconnect together.
 */
/** The longest delay setTimeout can hold (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BackoffOptions {
    minMs: number;
    maxMs: number;
    factor?: number;
    /** Source of randomness in [0, 1); injectable for tests. */
    random?: () => number;
}

export class Backoff {
    readonly #min: number;
    readonly #max: number;
    readonly #factor: number;
    readonly #random: () => number;
    #attempt = 0;

    constructor(options: BackoffOptions) {
        if (!(options.minMs > 0) || !(options.maxMs >= options.minMs) || !(options.maxMs <= MAX_TIMER_MS)) {
            throw new RangeError(
                `Backoff needs 0 < minMs <= maxMs <= ${MAX_TIMER_MS} (got ${options.minMs}, ${options.maxMs})`,
            );
        }
        const factor = options.factor ?? 2;
        if (!Number.isFinite(factor) || factor < 1)
            throw new RangeError(`Backoff factor must be a number >= 1 (got ${factor})`);
        this.#min = options.minMs;
        this.#max = options.maxMs;
        this.#factor = factor;
        this.#random = options.random ?? Math.random;
    }

    /** Attempts made since the last reset. */
    get attempt(): number {
        return this.#attempt;
    }

    /** The delay before the next attempt; each call grows the ceiling until `maxMs`. */
    next(): number {
        const ceiling = Math.min(this.#max, this.#min * this.#factor ** Math.min(this.#attempt, 64));
        this.#attempt++;
        return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
    }

    reset(): void {
        this.#attempt = 0;
    }
}
