/**
 * The client side of IEC 61850-8-2: associates with an IED's JID and reads, writes, browses
 * and manages data sets. Nothing here knows Node-RED.
 */
export { dataAccessError, IED_RESOURCE, Iec61850Client, Iec61850ClientError, readValue } from './client';
export type {
    BrowseTree,
    ClientErrorCode,
    ClientEvents,
    ClientOptions,
    ClientState,
    ClientStateInfo,
    DataDirectoryEntry,
    DataSetMemberValue,
    ReadValue,
} from './types';
