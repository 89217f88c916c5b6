/**
 * Every encoding choice of the IEC 61850-8-2 payload codec that the public record leaves open,
 * in one place (../shared/design/iec61850-8-2-wire.md §3.4 and §9). The encoder writes the
 * `ENCODER` choice; the decoder accepts every variant listed in `DECODER`. When the normative
 * XSD (Annex G.3, IEC code component IEC_61850-8-2.2018_ed1.0.XSD.2018A1) is in hand, change
 * this module and nothing else.
 *
 * Labels as in the note: [C] confirmed, [I] inferred, [P] our proposal.
 */

/** 8-2 payload namespace, version 2018 revision A release 1 (note header, S1) [C]. */
export const NS_SCSM_8_2 = 'http://www.iec.ch/61850/2018/SCSM_8_2';

/** How a floating-point value is written (open question 5; note §4.1). */
export type FloatForm =
    /** MMS FloatingPoint: exponent-width octet (08 single, 0B double) then IEEE 754 big endian (8-1-identical). */
    | 'prefixed'
    /** Only the IEEE 754 octets, as S1's "4-octet IEEE 754 hex" wording reads. */
    | 'raw';

/** How an INTEGER with named numbers (DataAccessError, ServiceError classes, reject codes) is written (open question 4). */
export type NamedNumberForm = 'identifier' | 'decimal';

export interface EncoderChoices {
    /**
     * Association-context element directly inside the stanza when E2E security is off, and its
     * association-id attribute (open question 1; §3.4 [P]: stand-in named after the 62351-4 boundary).
     */
    readonly contextElement: string;
    readonly assoIdAttribute: string;
    /** Service wrappers inside the PDUs (open question 2; §3.4 [P], S3 convention). */
    readonly confirmedRequestWrapper: string;
    readonly confirmedResponseWrapper: string;
    readonly unconfirmedWrapper: string;
    /** Separator in PDU root names: `confirmed-RequestPDU` (S1 hyphens everywhere [C]). */
    readonly pduNameSeparator: '-' | '_';
    /** Simple components written as XML attributes rather than child elements (open question 3; §3.3-§3.4 [I]). */
    readonly attributeComponents: ReadonlySet<string>;
    /** Text of a BOOLEAN carried in an attribute (open question 3, "assumed"). */
    readonly attributeTrue: string;
    readonly attributeFalse: string;
    /** Named numbers (open question 4; §3.4 [P]: `<identifier/>`). */
    readonly namedNumbers: NamedNumberForm;
    /** floating-point octets (open question 5; §4.1 [P]: prefixed, 8-1-identical). */
    readonly floatForm: FloatForm;
    /** Case of hex digits in OCTET STRING and friends (§4.1: emit upper case, accept both). */
    readonly hexUpperCase: boolean;
    /** GetVariableAccessAttributes response type element (open question 6; §5.5 [P]). */
    readonly typeSpecificationElement: string;
    /** Width of Quality bit strings (open question 10; §4.1: emit 13, accept 13-16). */
    readonly qualityBits: number;
    /** Initiate detail elements (open question 6; §5.9 [I]: the 9506-2:2003 names). */
    readonly initRequestDetail: string;
    readonly initResponseDetail: string;
}

/** What the encoder writes. */
export const ENCODER: EncoderChoices = Object.freeze({
    contextElement: 'ApplData',
    assoIdAttribute: 'assoID',
    confirmedRequestWrapper: 'ConfirmedServiceRequest',
    confirmedResponseWrapper: 'ConfirmedServiceResponse',
    unconfirmedWrapper: 'UnconfirmedService',
    pduNameSeparator: '-',
    attributeComponents: new Set(['specificationWithResult', 'moreFollows', 'scopeOfDelete']),
    attributeTrue: 'true',
    attributeFalse: 'false',
    namedNumbers: 'identifier',
    floatForm: 'prefixed',
    hexUpperCase: true,
    typeSpecificationElement: 'typeSpecification',
    qualityBits: 13,
    initRequestDetail: 'initRequestDetail',
    initResponseDetail: 'initResponseDetail',
} satisfies EncoderChoices);

/** Every variant the decoder accepts (§3.4 "Decoder tolerance", §4.1, §4.2 divergence table). */
export const DECODER = Object.freeze({
    /** Elements that may wrap the PDU inside the stanza (open question 1): ours, S3's `query`; or none. */
    contextElements: Object.freeze(['ApplData', 'query']),
    /** Namespaces the PDU may be in (S3 uses none). */
    namespaces: Object.freeze([NS_SCSM_8_2, '']),
    /** Separators in PDU root names (S3 writes `confirmed_RequestPDU`). */
    pduNameSeparators: Object.freeze(['-', '_'] as const),
    /** Confirmed-request service wrappers (open question 2), or absent (service follows invokeID). */
    confirmedRequestWrappers: Object.freeze(['ConfirmedServiceRequest', 'confirmedServiceRequest', 'service']),
    confirmedResponseWrappers: Object.freeze(['ConfirmedServiceResponse', 'confirmedServiceResponse', 'service']),
    unconfirmedWrappers: Object.freeze(['UnconfirmedService', 'unconfirmedService', 'service']),
    /** Simple components: as attribute or as child element, both accepted (open question 3). */
    attributeOrChild: true,
    /** Attribute BOOLEAN texts (xs:boolean lexical space). */
    attributeTrue: Object.freeze(['true', '1']),
    attributeFalse: Object.freeze(['false', '0']),
    /** Named numbers as `<identifier/>` and as decimal text, both accepted (open question 4). */
    namedNumbers: Object.freeze(['identifier', 'decimal'] as const),
    /**
     * floating-point hex lengths (open question 5; §4.1): 8 raw single, 10 `08`-prefixed single,
     * 18 `0B`-prefixed double; 16 raw double is our addition so that the `raw` encoder form round-trips.
     */
    floatHexLengths: Object.freeze([8, 10, 16, 18]),
    /** GetVariableAccessAttributes response (open question 6, §4.2 table). */
    typeSpecificationElements: Object.freeze(['typeSpecification', 'typeDescription']),
    /** ObjectName components (§4.2 table: 8-1 vs ISO 9506-2:2003). */
    domainIdElements: Object.freeze(['domainId', 'domainID']),
    itemIdElements: Object.freeze(['itemId', 'itemID']),
    /** Read/Write access specification (§4.2 table: 8-1 module abbreviates it). */
    variableAccessSpecificationElements: Object.freeze(['variableAccessSpecification', 'variableAccessSpecificatn']),
    /** Quality bit-string widths (open question 10). */
    qualityBits: Object.freeze({ min: 13, max: 16 }),
    /** Initiate detail (open question 6; §4.2 table: 8-1 module vs 9506-2:2003). */
    initRequestDetails: Object.freeze(['initRequestDetail', 'mmsInitRequestDetail']),
    initResponseDetails: Object.freeze(['initResponseDetail', 'mmsInitResponseDetail']),
});

/** Exponent-width octet of MMS FloatingPoint (ISO 9506-2 FloatingPoint; §4.1). */
export const FLOAT_EXPONENT_WIDTH = Object.freeze({ single: 0x08, double: 0x0b });

/**
 * Deepest Data nesting the codec accepts (array/structure levels; a scalar is depth 1). The 8-2
 * Initiate negotiates a nesting level, ≥ 5 with the LN model (§2.1); an LN with FC, DO, SDO, DA,
 * BDA levels stays well under 16. [P]
 */
export const MAX_DATA_DEPTH = 32;

/** Longest decimal INTEGER text accepted before any conversion (a 64-bit value has at most 20 digits). [P] */
export const MAX_INTEGER_DIGITS = 40;
