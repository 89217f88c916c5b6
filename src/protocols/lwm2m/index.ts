/**
 * The LwM2M protocol core (OMA LightweightM2M 1.1 over CoAP): content-format codecs first. Nothing
 * here knows Node-RED.
 */
export { type CborLimits, type CborValue, decodeCbor, encodeCbor } from './cbor';
export { DDF_TYPES, type ObjectDefinition, type Operations, parseDdf, type ResourceDefinition } from './ddf';
export { Lwm2mError, type Lwm2mErrorCode, type Lwm2mReason } from './errors';
export { type CoreLink, decodeLinkFormat, encodeLinkFormat, type LinkFormatLimits } from './link-format';
export { decodeLwm2mJson } from './lwm2m-json';
export { OBJECTS } from './objects';
export { formatPath, type Lwm2mPath, parsePath } from './path';
export { decodePlain, encodePlain } from './plain';
export { decodeSenmlCbor, encodeSenmlCbor, SENML_CBOR_LABELS } from './senml-cbor';
export { decodeSenmlJson, encodeSenmlJson, type SenmlLimits, type SenmlRecord, type SenmlValue } from './senml-json';
export {
    decodeTlv,
    decodeValue,
    encodeTlv,
    encodeValue,
    MAX_TLV_LENGTH,
    type ObjectLink,
    type ResourceType,
    type ResourceValue,
    TLV_KINDS,
    type Tlv,
    type TlvKind,
    type TlvLimits,
} from './tlv';
