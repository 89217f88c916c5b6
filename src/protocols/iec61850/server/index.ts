/**
 * The IED (server) side of IEC 61850-8-2: one model served over an XMPP session with the
 * resource `IEC`. Nothing here knows Node-RED.
 */

export { MAIN_ATTRIBUTES } from '../model/values';
export { type DataSetEntry, dataSetReference, memberReference } from './datasets';
export { indexModel, lnFcs, type ModelIndex, type Target, ValueStore } from './namespace';
export { Iec61850Server, mainAttribute, NS_DERLINK_8_2_ERRORS } from './server';
export type {
    AssociationEvent,
    AssociationInfo,
    DataSetEvent,
    ServerAccessConfig,
    ServerEvents,
    ServerOptions,
    UpdateResult,
    WriteDecision,
    WriteItem,
    WriteRequest,
} from './types';
