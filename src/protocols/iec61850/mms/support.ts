/**
 * Initiate negotiation facts (ISO 9506-2 §8.2 Initiate; wire note §2.1 and §4.3): the bit
 * positions of ServiceSupportOptions and ParameterSupportOptions, and the 8-2 minimum PDU size.
 */

/** ServiceSupportOptions bit numbers (ISO 9506-2 ServiceSupportOptions BIT STRING; note §4.3). */
export const SERVICE_SUPPORT_BITS = Object.freeze({
    status: 0,
    getNameList: 1,
    identify: 2,
    rename: 3,
    read: 4,
    write: 5,
    getVariableAccessAttributes: 6,
    defineNamedVariableList: 11,
    getNamedVariableListAttributes: 12,
    deleteNamedVariableList: 13,
    readJournal: 65,
    fileOpen: 72,
    fileRead: 73,
    fileClose: 74,
    fileRename: 75,
    fileDelete: 76,
    fileDirectory: 77,
    informationReport: 79,
    cancel: 82,
    conclude: 83,
    obtainFile: 46,
});
export type SupportedService = keyof typeof SERVICE_SUPPORT_BITS;

/** Length of ServiceSupportOptions in the 8-1 profile (85 bits, note §4.3). */
export const SERVICE_SUPPORT_LENGTH = 85;

/** The ServiceSupportOptions bit string with `services` set. */
export function serviceSupport(services: readonly SupportedService[]): string {
    const bits = Array.from({ length: SERVICE_SUPPORT_LENGTH }, () => '0');
    for (const s of services) bits[SERVICE_SUPPORT_BITS[s]] = '1';
    return bits.join('');
}

/** Whether a ServiceSupportOptions bit string has `service` (bits beyond its length are off). */
export function supports(bits: string, service: SupportedService): boolean {
    return bits[SERVICE_SUPPORT_BITS[service]] === '1';
}

/**
 * ParameterSupportOptions for 61850 (str1, str2, vnam, valt, vlis: 11 bits `11110001000`; note
 * §4.3 [I], libiec61850 practice).
 */
export const PARAMETER_SUPPORT_61850 = '11110001000';

/** Smallest max PDU size 8-2 allows to be negotiated (§2.1: at least 8192 octets). */
export const MIN_PDU_SIZE = 8192;

/** Nesting level the LN model needs (§2.1: at least 5). */
export const MIN_NESTING_LEVEL = 5;

/** MMS version 8-1/8-2 propose (§2.1: proposedVersionNumber = 1). */
export const MMS_VERSION = 1;
