import type { XmlElement } from '../xml';
import type { StanzaError } from '../xmpp';
import type {
    ControlFailure,
    ControlRequest,
    ControlResult,
    Field,
    Generation,
    NodeRef,
    ParameterDescription,
    ReadoutError,
    ReadoutEvent,
    ReadoutRequest,
    Tokens,
} from './model';

/**
 * The contract between the XMPP IoT engines and one wire generation. Engines build stanzas
 * around what these return (IQ, message); codecs build only the payload elements. Readers
 * throw StanzaError('bad-request', text) for a payload they cannot use; the text names the
 * problem (the engines send it back to the peer).
 */

/** XEP-0323 sensor data (G0/G1) and its IEEE/NF successors (G2/G3). */
export interface SensorDataCodec {
    readonly generation: Generation;
    /** The namespace this codec writes. */
    readonly ns: string;

    // ---- client side ----
    /** The `<req>` payload of an IQ get. */
    request(req: ReadoutRequest): XmlElement;
    /** The cancel payload and the IQ type to send it in (G0/G1: get; G2/G3: set). */
    cancel(id: string): { type: 'get' | 'set'; payload: XmlElement };
    /**
     * Reads one element a device sent about a readout: the payload of an IQ result or of a
     * message (accepted, started, fields, failure, done, cancelled, resp), or a `<rejected>` found
     * in an IQ error. Undefined for elements of other kinds.
     */
    readEvent(element: XmlElement): ReadoutEvent | undefined;

    // ---- device side ----
    readRequest(element: XmlElement): ReadoutRequest;
    /** The id a cancel element names. */
    readCancel(element: XmlElement): string;
    accepted(id: string, queued: boolean): XmlElement;
    started(id: string): XmlElement;
    /**
     * The payload(s) of one data message: G0/G1 give a `<fields>` (and a `<failure>` when there
     * are errors), G2/G3 one `<resp>`. `last` marks the final part (G0/G1 done="true" on the last
     * element; G2/G3 no `more`).
     */
    data(id: string, fields: readonly Field[], errors: readonly ReadoutError[], last: boolean): XmlElement[];
    /** A separate end marker (message). */
    done(id: string): XmlElement;
    /** The payload of the IQ result answering a cancel; undefined for an empty result (G2/G3). */
    cancelled(id: string): XmlElement | undefined;
    /**
     * The error answering a refused request. G0/G1 add a `<rejected seqnr><error>text</error></rejected>`
     * payload (2013-era clients such as slixmpp read only that) next to the RFC 6120 condition.
     */
    rejection(id: string, error: StanzaError): StanzaError;
}

/** XEP-0325 control (G0/G1) and its IEEE/NF successors (G2/G3). */
export interface ControlCodec {
    readonly generation: Generation;
    readonly ns: string;
    /** G0/G1 define a message form (set without acknowledgement); G2/G3 do not. */
    readonly supportsMessageSet: boolean;

    // ---- client side ----
    /** The `<set>` payload (for an IQ set, or a message when `req.unacknowledged`). */
    set(req: ControlRequest): XmlElement;
    /** Reads the payload of the IQ result of a set (undefined payload: an empty result). */
    readSetResult(payload: XmlElement | undefined): ControlResult;
    /** Reads the IQ error answering a set (v0.1/v0.2 setResponse codes, v0.3+ paramError, G2/G3). */
    readSetError(stanza: XmlElement): ControlFailure;
    getForm(nodes: readonly NodeRef[], tokens?: Tokens): XmlElement;
    /** Reads the IQ result of getForm (G0/G1 getFormResponse wrapper or the bare form). */
    readForm(payload: XmlElement): ParameterDescription[];

    // ---- device side ----
    /** Reads a set (IQ or message); the type of each parameter element is kept for validation. */
    readSet(element: XmlElement): ControlRequest;
    readGetForm(element: XmlElement): { nodes: NodeRef[]; tokens?: Tokens };
    /** The IQ result payload of a successful set (undefined: an empty result). */
    setResult(result: ControlResult): XmlElement | undefined;
    /** The error answering a failed set (G0/G1 also carry a `setResponse` with the old responseCode). */
    setError(failure: ControlFailure): StanzaError;
    /** The IQ result payload of getForm: a jabber:x:data form (wrapped in getFormResponse for G0/G1 v0.1/0.2). */
    form(parameters: readonly ParameterDescription[], title: string): XmlElement;
}

/** One node as XEP-0326 describes it (node information, §5.2 of the G0/G1 note). */
export interface ConcentratorNode extends NodeRef {
    displayName?: string;
    nodeType?: string;
    localId?: string;
    logId?: string;
    state: 'None' | 'Information' | 'WarningSigned' | 'WarningUnsigned' | 'ErrorSigned' | 'ErrorUnsigned';
    hasChildren: boolean;
    isReadable: boolean;
    isControllable: boolean;
    hasCommands: boolean;
    parentId?: string;
    lastChanged?: Date;
    /** Presentation parameters (sent when the request asks for parameters). */
    parameters?: Array<{
        id: string;
        name: string;
        type: 'boolean' | 'color' | 'dateTime' | 'double' | 'duration' | 'int' | 'long' | 'string' | 'time';
        value: string;
    }>;
}

export interface DataSource {
    sourceId: string;
    name: string;
    hasChildren: boolean;
    lastChanged?: Date;
}

/** The concentrator commands a small device answers (XEP-0326 §5.5 of the G0/G1 note, and the G2/G3 equivalents). */
export type ConcentratorCommand =
    | { command: 'getCapabilities' }
    | { command: 'getAllDataSources' }
    | { command: 'getRootDataSources' }
    | { command: 'getChildDataSources'; sourceId: string }
    | { command: 'containsNode'; node: NodeRef }
    | { command: 'containsNodes'; nodes: NodeRef[] }
    | { command: 'getNode'; node: NodeRef; parameters: boolean; messages: boolean }
    | { command: 'getNodes'; nodes: NodeRef[]; parameters: boolean; messages: boolean }
    | { command: 'getAllNodes'; sourceId: string; parameters: boolean; messages: boolean }
    | { command: 'getRootNodes'; sourceId: string; parameters: boolean; messages: boolean }
    | { command: 'getChildNodes'; node: NodeRef; parameters: boolean; messages: boolean }
    | { command: 'getAncestors'; node: NodeRef; parameters: boolean; messages: boolean }
    | { command: 'getNodeParametersForEdit'; node: NodeRef }
    /** Any other command: answered NotImplemented. `name` is the element name. */
    | { command: 'unsupported'; name: string };

export type ConcentratorAnswer =
    | { command: 'getCapabilities'; commands: string[] }
    | { command: 'getAllDataSources' | 'getRootDataSources' | 'getChildDataSources'; sources: DataSource[] }
    | { command: 'containsNode'; contains: boolean }
    | { command: 'containsNodes'; contains: boolean[] }
    | { command: 'getNode'; node: ConcentratorNode }
    | {
          command: 'getNodes' | 'getAllNodes' | 'getRootNodes' | 'getChildNodes' | 'getAncestors';
          nodes: ConcentratorNode[];
      }
    | { command: 'getNodeParametersForEdit'; form: ParameterDescription[]; title: string };

/** XEP-0326 result codes (G0/G1 `result`); G2/G3 use RFC 6120 conditions instead. */
export type ConcentratorResult =
    | 'OK'
    | 'NotFound'
    | 'InsufficientPrivileges'
    | 'Locked'
    | 'NotImplemented'
    | 'FormError'
    | 'OtherError';

export interface ConcentratorCodec {
    readonly generation: Generation;
    readonly ns: string;

    // ---- device side ----
    /** Reads a command element (IQ get or set payload); unknown elements give `unsupported`. */
    readCommand(element: XmlElement): ConcentratorCommand;
    /** The IQ result payload answering a command. */
    answer(answer: ConcentratorAnswer): XmlElement;
    /** The error answering a failed command (G0/G1: `<nameResponse result=.../>` in an IQ error, plus an RFC 6120 condition). */
    failure(commandName: string, result: Exclude<ConcentratorResult, 'OK'>, message?: string): StanzaError;

    // ---- client side (tests and the editor's browser) ----
    command(command: Exclude<ConcentratorCommand, { command: 'unsupported' }>): XmlElement;
    /** Reads the IQ result of a command. */
    readAnswer(command: ConcentratorCommand['command'], payload: XmlElement | undefined): ConcentratorAnswer;
    /** Reads the result code of an error answer (G0/G1 `result` attribute; G2/G3 from the condition). */
    readFailure(stanza: XmlElement): { result: Exclude<ConcentratorResult, 'OK'>; message?: string };
}
