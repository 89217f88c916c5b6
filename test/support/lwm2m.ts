/** Helpers for the LwM2M codec tests. */
import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/protocols/lwm2m';
import { sharedDir } from './shared';

/** Expects `fn` to throw an Lwm2mError with `reason` and a message matching `message`. */
export function refused(fn: () => unknown, reason: string, message: RegExp): void {
    assert.throws(fn, (e: unknown) => e instanceof Lwm2mError && e.reason === reason && message.test(e.message));
}

/** The OMA registry copy in ../shared (see shared.ts); undefined when none is there. */
export function registryDir(): string | undefined {
    return sharedDir('lwm2m-registry');
}
