/**
 * The CoAP transport the LwM2M roles share (RFC 7252, Observe RFC 7641, block-wise RFC 7959): one
 * UDP socket that both serves requests and sends them, as an LwM2M client must (it registers
 * from the socket it is then read on) and a server should (clients behind NAT only hear the
 * address they registered with). Built on the `coap` package; see endpoint.ts.
 */

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

export interface CoapPeer {
    address: string;
    port: number;
}

/** A request that arrived, with its body complete (Block1 already reassembled). */
export interface CoapRequest {
    method: CoapMethod;
    /** Uri-Path segments as sent (`['rd', '5a3f']`, `['3316', '0', '5700']`); `[]` for the root. */
    path: string[];
    /** Uri-Query options, each `k=v` or `k`. */
    query: string[];
    contentFormat?: number;
    accept?: number;
    /** The Observe option: 0 registers an observation, 1 cancels one. */
    observe?: number;
    payload: Buffer;
    peer: CoapPeer;
    token: Buffer;
}

/** What a handler answers. */
export interface CoapReply {
    /** Response code, `2.05`, `4.04`... */
    code: string;
    contentFormat?: number;
    payload?: Uint8Array;
    /** Location-Path segments (Register answers `['rd', id]`). */
    locationPath?: string[];
}

/**
 * Given to the handler of a GET or FETCH with Observe: 0. When the handler answers 2.xx the
 * observation stands, and notifications go out through it until the observer cancels (GET with
 * Observe: 1, or RST to a notification), a confirmable notification goes unanswered, or end().
 */
export interface ObserverHandle {
    /** Sends a notification with the next Observe number; resolves false when the observer is gone. */
    notify(reply: CoapReply, confirmable?: boolean): Promise<boolean>;
    /** Ends the observation (a last response without Observe when `reply` is given). */
    end(reply?: CoapReply): void;
    readonly closed: boolean;
    /** Called once when the observation ends, for whatever reason. */
    onClose(listener: () => void): void;
}

export type RequestHandler = (req: CoapRequest, observer?: ObserverHandle) => CoapReply | Promise<CoapReply>;

/** A request to send. */
export interface OutgoingRequest {
    method: CoapMethod;
    /** `/3/0/1` or `/rd/5a3f`; `/` for the root. Each segment is sent as one Uri-Path option. */
    path: string;
    query?: string[];
    contentFormat?: number;
    accept?: number;
    payload?: Uint8Array;
    /** CON (default) or NON. */
    confirmable?: boolean;
    /** Gives up after this long (default: the endpoint's requestTimeoutMs). */
    timeoutMs?: number;
}

/** A response that arrived (for an observation: the first response or a notification). */
export interface CoapResponse {
    code: string;
    contentFormat?: number;
    payload: Buffer;
    /** Observe sequence number, on observation responses. */
    observe?: number;
    locationPath: string[];
    peer: CoapPeer;
}

/** An observation this endpoint holds on a peer's resource. */
export interface Observation {
    readonly response: CoapResponse;
    /** Proactive cancel: GET with Observe: 1 and the same token. */
    cancel(): Promise<void>;
    /** Reactive cancel: forgets the token, so the next notification gets RST. */
    forget(): void;
}

export interface CoapEndpointOptions {
    /** UDP port; 0 (default) picks a free one. */
    port?: number;
    /** Bind address; default `0.0.0.0` (or `::` for udp6). */
    address?: string;
    type?: 'udp4' | 'udp6';
    /** Largest request body reassembled from Block1 blocks (default 256 KiB); larger gets 4.13. */
    maxBodyBytes?: number;
    /** Block1 uploads in progress at once, over all peers (default 1,000); more get 5.03. */
    maxUploads?: number;
    /** Default time to wait for a response (default 30 s). */
    requestTimeoutMs?: number;
    /** The socket's receive buffer (SO_RCVBUF), bytes; default the system's. */
    receiveBufferBytes?: number;
}

/** Counters a node can show and a test can check. */
export interface CoapEndpointStats {
    /** Datagrams that did not parse as CoAP. */
    malformed: number;
    /** Block1 uploads refused (too large, out of order, too many). */
    uploadsRefused: number;
    /** Requests whose handler threw (answered 5.00). */
    handlerErrors: number;
}
