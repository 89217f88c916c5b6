/**
 * The small part of xmpp.js 0.14 (ESM, untyped) that DERlink composes its session from.
 * Only src/protocols/xmpp/stream.ts imports these modules.
 */
declare module '@xmpp/xml' {
    import { EventEmitter } from 'node:events';

    export class Element {
        name: string;
        attrs: Record<string, string>;
        children: Array<Element | string>;
        parent: Element | null | undefined;
    }

    export class Parser extends EventEmitter {
        root: Element | null;
        cursor: Element | null;
        write(data: string): void;
        end(data?: string): void;
        onStartElement(name: string, attrs: Record<string, string>): void;
        onEndElement(name: string): void;
        onText(text: string): void;
    }

    export class XMLError extends Error {}
}

declare module '@xmpp/connection-tcp' {
    import { EventEmitter } from 'node:events';
    import type { Element, Parser } from '@xmpp/xml';

    export interface ConnectionOptions {
        domain: string;
        lang?: string;
        timeout?: number;
        service?: unknown;
    }

    export default class ConnectionTCP extends EventEmitter {
        constructor(options: ConnectionOptions);
        status: string;
        timeout: number;
        options: ConnectionOptions;
        socket: unknown;
        parser: Parser | null;
        root: Element | null;
        NS: string;
        Socket: new () => unknown;
        Parser: new () => Parser;
        isSecure(): boolean;
        connect(service: unknown): Promise<void>;
        open(options: { domain: string; lang?: string }): Promise<Element>;
        restart(): Promise<Element>;
        write(data: string): Promise<void>;
        disconnect(): Promise<unknown>;
        socketParameters(service: unknown): unknown;
        headerElement(): unknown;
        header(element: unknown): string;
        _status(status: string, ...args: unknown[]): void;
        footer(element: unknown): string;
        footerElement(): unknown;
        _attachSocket(socket: unknown): void;
        _detachSocket(): void;
        _attachParser(parser: Parser): void;
        _detachParser(): void;
        _streamError(condition: string, children?: unknown): Promise<unknown>;
        _onSeeOtherHost(error: { element: Element }): Promise<void>;
    }
}
