/**
 * The LwM2M protocol core (OMA LightweightM2M 1.1 over CoAP): content-format codecs, object
 * definitions (OMA and SPMP), the CoAP transport, and the server, bootstrap-server and device roles. Nothing
 * here knows Node-RED.
 */

export {
    ATTRIBUTE_NAMES,
    type AttributeChange,
    type AttributeName,
    type Attributes,
    effectiveAttributes,
    formatAttributeQuery,
    type GateDecision,
    mergeAttributes,
    NotifyGate,
    parseAttributeQuery,
    sameValue,
    validateAttributes,
} from './attributes';
export {
    type BootstrapConfig,
    type BootstrapEvent,
    checkBootstrapConfig,
    type Lwm2mBootstrapOptions,
    Lwm2mBootstrapServer,
    SECURITY_MODES,
    type SecurityInstance,
    type SecurityMode,
    type ServerInstance,
    securityEntries,
    serverEntries,
} from './bootstrap-server';
export { type CborLimits, type CborValue, decodeCbor, encodeCbor } from './cbor';
export { CoapEndpoint, CoapTimeoutError } from './coap/endpoint';
export type * from './coap/types';
export {
    CONTENT_FORMATS,
    contentFormatName,
    DECODABLE_FORMATS,
    decodeContent,
    ENCODABLE_FORMATS,
    encodeContent,
    entriesToTree,
    fromPlain,
    type PlainTree,
    type PlainValue,
    type ResourceEntry,
    type TypeLookup,
    treeToEntries,
    typeLookup,
} from './content';
export { DDF_TYPES, type ObjectDefinition, type Operations, parseDdf, type ResourceDefinition } from './ddf';
export { type DeviceState, type ExecuteEvent, Lwm2mDevice, type Lwm2mDeviceOptions, type WriteEvent } from './device';
export {
    type Caller,
    type ChangeListener,
    coerceValue,
    type DmErrorCode,
    type DmResult,
    ObjectTree,
    type ObjectTreeOptions,
    type ResourceInput,
    SERVER_HIDDEN_OBJECTS,
    type StoredResource,
} from './device-tree';
export { Lwm2mError, type Lwm2mErrorCode, type Lwm2mReason } from './errors';
export { type CoreLink, decodeLinkFormat, encodeLinkFormat, type LinkFormatLimits } from './link-format';
export { decodeLwm2mJson } from './lwm2m-json';
export { OBJECTS } from './objects';
export { formatPath, type Lwm2mPath, parsePath } from './path';
export { decodePlain, encodePlain } from './plain';
export { decodeSenmlCbor, encodeSenmlCbor, SENML_CBOR_LABELS } from './senml-cbor';
export { decodeSenmlJson, encodeSenmlJson, type SenmlLimits, type SenmlRecord, type SenmlValue } from './senml-json';
export {
    type LifetimeBounds,
    type Lwm2mResult,
    Lwm2mServer,
    Lwm2mServerError,
    type Lwm2mServerOptions,
    type NotificationEvent,
    type Registration,
    type RegistrationInfo,
    type RequestOptions,
    type SendEvent,
    type ServerErrorCode,
} from './server';
export {
    checkSpmpTable,
    SMART_LOAD_RULE_RESOURCES,
    SMART_LOAD_RULE_TYPES,
    SPMP_OBJECT_IDS,
    SPMP_TABLE,
    SPMP_TEST_ID_RANGE,
    type SpmpObjectIds,
    type SpmpObjectKey,
    type SpmpObjectSpec,
    type SpmpRow,
    spmpDdf,
    spmpDdfFileName,
    spmpIdsAreTestOnly,
    spmpObjects,
} from './spmp';
export {
    DEFAULT_HYSTERESIS,
    type RuleAction,
    type RuleApplyAction,
    type RuleFromResourcesOptions,
    type RuleRestoreAction,
    type RuleTarget,
    type RuleValue,
    ruleFromResources,
    type SmartLoadRule,
    SmartLoadRuleError,
    SmartLoadRules,
    type SmartLoadRulesOptions,
} from './spmp-rules';
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
