/**
 * The ZigBee Smart Energy metering core (design note zigbee-sep §9.1): the Simple Metering attribute table,
 * pure conversions, the read-only transport seam, the slot poller and a simulated meter. Nothing here imports
 * Node-RED or zigbee-herdsman.
 */

export * from './attributes';
export * from './convert';
export * from './poller';
export * from './simulator';
export * from './transport';
