/**
 * The outer loop every Prosody benchmark shares: one Prosody, contenders opened one at a time,
 * several rounds in alternating order (so that neither side always runs on a warmer machine),
 * each measured at every concurrency; Prosody and every open contender are stopped however the
 * run ends, also when run.ts stops it from outside.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Session, SessionState } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';

/** The measuring window from the environment: BENCH_WARMUP_MS (1000), BENCH_DURATION_MS, BENCH_ROUNDS (2). */
export function windowKnobs(durationMs: number): { warmupMs: number; durationMs: number; rounds: number } {
    const env = (name: string, fallback: number) => {
        const v = Number(process.env[name]);
        return Number.isFinite(v) && v > 0 ? v : fallback;
    };
    return {
        warmupMs: env('BENCH_WARMUP_MS', 1000),
        durationMs: env('BENCH_DURATION_MS', durationMs),
        rounds: Math.floor(env('BENCH_ROUNDS', 2)),
    };
}

export interface RoundsPair {
    /** One line saying what runs (JIDs, transport, versions). */
    describe: string;
    close(): Promise<void>;
}

export interface RoundsContender<K extends string, P extends RoundsPair> {
    key: K;
    label: string;
    open(prosody: Prosody): Promise<P>;
}

export interface RoundsOptions<K extends string, P extends RoundsPair, R> {
    accounts: Record<string, string>;
    contenders: readonly RoundsContender<K, P>[];
    concurrency: readonly number[];
    rounds: number;
    /** Printed with the setup line: `<warm-up> ms warm-up + <duration> ms`. */
    warmupMs: number;
    durationMs: number;
    measure(pair: P, concurrency: number): Promise<R>;
    /** One line per measurement, for the log. */
    show(result: R): string;
}

/** Results by `<contender key> <concurrency>`, one per round. */
export async function runRounds<K extends string, P extends RoundsPair, R>(
    o: RoundsOptions<K, P, R>,
): Promise<Map<string, R[]>> {
    const prosody = await startProsody({ accounts: o.accounts });
    const open = new Set<P>();
    // Stopped from outside (run.ts's time limit, Ctrl-C): finally blocks do not run then, so stop everything here.
    const onSignal = (signal: NodeJS.Signals) => {
        void Promise.allSettled([...open].map((p) => p.close()))
            .then(() => prosody.stop())
            .finally(() => {
                prosody.cleanup();
                process.exit(signal === 'SIGINT' ? 130 : 143);
            });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const runs = new Map<string, R[]>();
    try {
        const load = loadavg().map((l) => l.toFixed(2));
        console.error(
            `  ${availableParallelism()} CPUs, load average ${load.join(' ')} (other work on the machine skews absolute numbers)`,
        );
        console.error(
            `  Prosody on ${prosody.host}:${prosody.port}; ${o.rounds} round(s) of ${o.warmupMs} ms warm-up + ${o.durationMs} ms per contender and concurrency`,
        );
        for (let round = 0; round < o.rounds; round++) {
            const order = round % 2 === 0 ? o.contenders : [...o.contenders].reverse();
            for (const contender of order) {
                const pair = await contender.open(prosody);
                open.add(pair);
                try {
                    console.error(`  round ${round + 1}, ${contender.label}: ${pair.describe}`);
                    for (const concurrency of o.concurrency) {
                        const result = await o.measure(pair, concurrency);
                        console.error(`    ${concurrency} in flight: ${o.show(result)}`);
                        const key = `${contender.key} ${concurrency}`;
                        runs.set(key, [...(runs.get(key) ?? []), result]);
                    }
                } finally {
                    open.delete(pair);
                    await pair.close();
                }
            }
        }
    } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await prosody.stop();
        prosody.cleanup();
    }
    return runs;
}

/** Resolves when the session is online; rejects on a final state (auth or TLS failure, closed) or after `ms`. */
export function waitOnline(session: Session, ms: number): Promise<void> {
    if (session.state === 'online') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
        let last: Error | undefined;
        const done = (err?: Error) => {
            clearTimeout(timer);
            session.off('state', onState);
            if (err) reject(err);
            else resolve();
        };
        const onState = (state: SessionState, info: { error?: Error }) => {
            if (info.error) last = info.error;
            if (state === 'online') done();
            else if (state === 'auth-failed' || state === 'tls-failed' || state === 'closed') {
                done(new Error(`${session.account.bare}: ${state}${last ? `: ${last.message}` : ''}`));
            }
        };
        const timer = setTimeout(
            () =>
                done(new Error(`${session.account.bare} not online within ${ms} ms${last ? `: ${last.message}` : ''}`)),
            ms,
        );
        session.on('state', onState);
    });
}
