import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { Lwm2mServer } from '../protocols/lwm2m';
import { configFailed } from './account-user';
import { NodeError } from './errors';

/** The config node's side as a user node sees it (see nodes/lwm2m-server.ts). */
export interface ServerConfigNode extends Node {
    lwm2mServer(): Promise<Lwm2mServer>;
    lwm2mEvents: NodeJS.EventEmitter;
    lwm2mDefinitions: ReadonlyMap<number, import('../protocols/lwm2m').ObjectDefinition>;
    lwm2mProblem?: string;
}

function isServerConfig(n: unknown): n is ServerConfigNode {
    return typeof (n as ServerConfigNode | null)?.lwm2mServer === 'function';
}

/**
 * Connects a node to its lwm2m-server config node and shows the server's state: a ring while it
 * starts, red with the reason when it cannot run. Undefined (and a CONFIG error for every input)
 * when no server is configured.
 */
export function useLwm2mServer(RED: NodeAPI, node: Node, id: string | undefined): ServerConfigNode | undefined {
    const config = id ? RED.nodes.getNode(id) : null;
    if (!isServerConfig(config)) {
        configFailed(
            node,
            new NodeError('CONFIG', 'No LwM2M server is configured for this node'),
            RED._('lwm2m-server.status.no-server'),
            'ring',
        );
        return undefined;
    }
    node.status({ fill: 'yellow', shape: 'ring', text: RED._('lwm2m-server.status.starting') });
    config.lwm2mServer().catch((err: Error) => {
        node.status({ fill: 'red', shape: 'dot', text: RED._('lwm2m-server.status.failed') });
        node.error(`LwM2M server: ${err.message}`);
    });
    return config;
}

export type Msg = NodeMessageInFlow & Record<string, unknown>;
