/**
 * A helper process of a benchmark (a load generator, a host of many servers): it takes commands
 * over IPC and answers each with one message whose `event` names it, or `{ event: 'error' }`.
 * One command at a time; the process leaving fails the command that waits.
 */
import { type ChildProcess, fork } from 'node:child_process';

export class CommandChild<To, From extends { event: string }> {
    readonly #child: ChildProcess;
    readonly #label: string;
    #waiting: { event: From['event']; resolve: (m: From) => void; reject: (e: Error) => void } | undefined;
    #exited: Error | undefined;

    /** Starts `file` with tsx and `execArgv`; `label` names it in errors ("load generator"). */
    constructor(label: string, file: string, execArgv: readonly string[] = []) {
        this.#label = label;
        this.#child = fork(file, [], {
            execPath: process.execPath,
            execArgv: ['--import', 'tsx', ...execArgv],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        this.#child.on('message', (m: From) => {
            const w = this.#waiting;
            if (!w) return;
            this.#waiting = undefined;
            if (m.event === 'error') w.reject(new Error(`${label}: ${(m as { error?: unknown }).error}`));
            else if (m.event !== w.event) w.reject(new Error(`${label} answered ${m.event}, not ${w.event}`));
            else w.resolve(m);
        });
        this.#child.on('exit', (code, signal) => {
            this.#exited = new Error(`${label} exited with ${signal ?? `code ${code}`}`);
            this.#waiting?.reject(this.#exited);
            this.#waiting = undefined;
        });
    }

    get pid(): number | undefined {
        return this.#child.pid;
    }

    /** Sends `command` and resolves with the answer named `event`, or fails after `ms`. */
    ask<E extends From['event']>(command: To, event: E, ms: number): Promise<Extract<From, { event: E }>> {
        if (this.#exited) return Promise.reject(this.#exited);
        if (this.#waiting) return Promise.reject(new Error(`${this.#label}: one command at a time`));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#waiting = undefined;
                reject(new Error(`${this.#label}: no ${event} within ${ms} ms`));
            }, ms);
            this.#waiting = {
                event,
                resolve: (m) => {
                    clearTimeout(timer);
                    resolve(m as Extract<From, { event: E }>);
                },
                reject: (e) => {
                    clearTimeout(timer);
                    reject(e);
                },
            };
            this.#child.send(command as object);
        });
    }

    /** Asks the process to close (`command`, answered `closed`), then ends it if it lingers. */
    async stop(command: To, closed: From['event'], ms: number): Promise<void> {
        if (this.#exited) return;
        await this.ask(command, closed, ms).catch(() => {});
        if (!this.#exited) {
            const exited = new Promise((r) => this.#child.once('exit', r));
            this.#child.kill('SIGTERM');
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
            clearTimeout(timer);
        }
    }

    kill(): void {
        if (!this.#exited) this.#child.kill('SIGKILL');
    }

    /**
     * While the benchmark runs, Ctrl-C or a SIGTERM also kills the child and ends the benchmark (130 or 143);
     * call the function returned to stop that.
     */
    killOnSignal(): () => void {
        const onSignal = (signal: NodeJS.Signals) => {
            this.kill();
            process.exit(signal === 'SIGINT' ? 130 : 143);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
        return () => {
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
        };
    }
}

/**
 * The helper process's side: runs `handle` for each command; a failure goes back as
 * `{ event: 'error' }`. When the benchmark goes away (finished, stopped or crashed), the process
 * leaves after `lingerMs`.
 */
export function serveCommands<To>(handle: (command: To) => Promise<void>, lingerMs: number): void {
    process.on('message', (m: To) => {
        handle(m).catch((err: unknown) => {
            process.send?.({ event: 'error', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        });
    });
    process.on('disconnect', () => {
        setTimeout(() => process.exit(0), lingerMs).unref();
    });
}
