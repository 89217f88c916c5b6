/**
 * Green Button (NAESB REQ.21 ESPI 4.0) output: the ESPI model and Atom writer, a bounded history, the REST resource
 * router and an HTTPS server with Basic authentication for the home LAN (design note greenbutton-lwm2m part A).
 * Nothing here imports Node-RED.
 */

export * from './atom';
export * from './codes';
export * from './errors';
export * from './history';
export * from './local-time';
export * from './reading-type';
export * from './readings';
export * from './selfsigned';
export * from './server';
export * from './service';
export * from './uuid';
