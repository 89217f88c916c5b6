/**
 * The part of the stock xmpp.js client (0.14, ESM, untyped) that the benchmarks use as their
 * baseline. Only test/bench loads @xmpp/client; DERlink itself never does.
 */
declare module '@xmpp/client' {
    import type { EventEmitter } from 'node:events';

    export interface Element {
        name: string;
        attrs: Record<string, string>;
        children: Array<Element | string>;
        is(name: string, xmlns?: string): boolean;
        getChild(name: string, xmlns?: string): Element | undefined;
        getChildText(name: string, xmlns?: string): string | null;
        text(): string;
        remove(child: Element | string, xmlns?: string): Element;
        toString(): string;
    }

    export function xml(
        name: string,
        attrs?: Record<string, string | undefined> | null,
        ...children: Array<Element | string>
    ): Element;

    export interface IqContext {
        stanza: Element;
        /** The request's payload. */
        element: Element;
        from: string;
    }

    export interface Client extends EventEmitter {
        status: string;
        isSecure(): boolean;
        start(): Promise<{ toString(): string }>;
        stop(): Promise<void>;
        iqCaller: {
            request(stanza: Element, timeoutMs?: number): Promise<Element>;
            get(payload: Element, to?: string, timeoutMs?: number): Promise<Element | undefined>;
        };
        iqCallee: {
            get(
                ns: string,
                name: string,
                handler: (ctx: IqContext) => Element | undefined | Promise<Element | undefined>,
            ): void;
        };
        streamManagement: { enabled: boolean };
        reconnect: { stop(): void };
    }

    export interface ClientOptions {
        service: string;
        domain?: string;
        username?: string;
        password?: string;
        resource?: string;
        timeout?: number;
    }

    export function client(options: ClientOptions): Client;
}
