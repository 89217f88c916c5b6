import type { ObjectDefinition, Operations, ResourceDefinition } from './ddf';
import type { ResourceType } from './tlv';

/**
 * The built-in LwM2M object definitions: Security (0), Server (1), Device (3), Digital Output
 * (3201), Voltage (3316) and Current (3317), the standard objects the SPMP draft uses (design note
 * B.2). Facts from the OMA LwM2M registry (OpenMobileAlliance/lwm2m-registry, branch prod,
 * snapshot b62ffc2, 2024-02-22), one row per resource: ID, name, operations, Single/Multiple,
 * Mandatory/Optional, type, range, units. Tests cross-check every row against the registry's DDF
 * files (../shared/lwm2m-registry); further DDF files load through parseDdf.
 */

type Row = [number, string, Operations, 'S' | 'M', 'M' | 'O', ResourceType, string?, string?];

function obj(
    id: number,
    name: string,
    urn: string,
    version: string,
    lwm2mVersion: string,
    multiple: 'S' | 'M',
    mandatory: 'M' | 'O',
    rows: readonly Row[],
): ObjectDefinition {
    return {
        id,
        name,
        urn,
        version,
        lwm2mVersion,
        multiple: multiple === 'M',
        mandatory: mandatory === 'M',
        resources: rows.map(([rid, rname, operations, m, man, type, range, units]) => {
            const r: ResourceDefinition = {
                id: rid,
                name: rname,
                operations,
                multiple: m === 'M',
                mandatory: man === 'M',
                type,
            };
            if (range) r.range = range;
            if (units !== undefined) r.units = units;
            return r;
        }),
    };
}

/** The built-in object definitions by object ID. */
/** The resources 3316 Voltage and 3317 Current share row for row in the registry (IPSO sensor template). */
const IPSO_SENSOR_ROWS: readonly Row[] = [
    [5700, 'Sensor Value', 'R', 'S', 'M', 'float'],
    [5701, 'Sensor Units', 'R', 'S', 'O', 'string'],
    [5601, 'Min Measured Value', 'R', 'S', 'O', 'float'],
    [5602, 'Max Measured Value', 'R', 'S', 'O', 'float'],
    [5603, 'Min Range Value', 'R', 'S', 'O', 'float'],
    [5604, 'Max Range Value', 'R', 'S', 'O', 'float'],
    [5605, 'Reset Min and Max Measured Values', 'E', 'S', 'O', 'none'],
    [5821, 'Current Calibration', 'RW', 'S', 'O', 'float'],
    [5750, 'Application Type', 'RW', 'S', 'O', 'string'],
    [5518, 'Timestamp', 'R', 'S', 'O', 'time'],
    [6050, 'Fractional Timestamp', 'R', 'S', 'O', 'float', '0..1', 's'],
    [6042, 'Measurement Quality Indicator', 'R', 'S', 'O', 'integer', '0..23'],
    [6049, 'Measurement Quality Level', 'R', 'S', 'O', 'integer', '0..100'],
];

export const OBJECTS: ReadonlyMap<number, ObjectDefinition> = new Map(
    [
        // urn:oma:lwm2m:oma:0:1.2 (LWM2M Security), LwM2M 1.1
        obj(0, 'LWM2M Security', 'urn:oma:lwm2m:oma:0:1.2', '1.2', '1.1', 'M', 'M', [
            [0, 'LWM2M  Server URI', '', 'S', 'M', 'string', '0..255'],
            [1, 'Bootstrap-Server', '', 'S', 'M', 'boolean'],
            [2, 'Security Mode', '', 'S', 'M', 'integer', '0..4'],
            [3, 'Public Key or Identity', '', 'S', 'M', 'opaque'],
            [4, 'Server Public Key', '', 'S', 'M', 'opaque'],
            [5, 'Secret Key', '', 'S', 'M', 'opaque'],
            [6, 'SMS Security Mode', '', 'S', 'O', 'integer', '0..255'],
            [7, 'SMS Binding Key Parameters', '', 'S', 'O', 'opaque', '6'],
            [8, 'SMS Binding Secret Key(s)', '', 'S', 'O', 'opaque', '16,32,48'],
            [9, 'LwM2M Server SMS Number', '', 'S', 'O', 'string'],
            [10, 'Short Server ID', '', 'S', 'O', 'integer', '1..65534'],
            [11, 'Client Hold Off Time', '', 'S', 'O', 'integer', '', 's'],
            [12, 'Bootstrap-Server Account Timeout', '', 'S', 'O', 'integer', '', 's'],
            [13, 'Matching Type', '', 'S', 'O', 'unsigned', '0..3'],
            [14, 'SNI', '', 'S', 'O', 'string'],
            [15, 'Certificate Usage', '', 'S', 'O', 'unsigned', '0..3'],
            [16, 'DTLS/TLS Ciphersuite', '', 'M', 'O', 'unsigned'],
            [17, 'OSCORE Security Mode', '', 'S', 'O', 'objlnk'],
            [18, 'Groups To Use by Client', '', 'M', 'O', 'unsigned', '0..65535'],
            [19, 'Signature Algorithms Supported by Server', '', 'M', 'O', 'unsigned', '0..65535'],
            [20, 'Signature Algorithms To Use by Client', '', 'M', 'O', 'unsigned', '0..65535'],
            [21, 'Signature Algorithm Certs Supported by Server', '', 'M', 'O', 'unsigned', '0..65535'],
            [22, 'TLS 1.3 Features To Use by Client', '', 'S', 'O', 'unsigned', '0..65535'],
            [23, 'TLS Extensions Supported by Server', '', 'S', 'O', 'unsigned', '0..65535'],
            [24, 'TLS Extensions To Use by Client', '', 'S', 'O', 'unsigned', '0..65535'],
            [25, 'Secondary LwM2M Server URI', '', 'M', 'O', 'string', '0..255'],
            [26, 'MQTT Server', '', 'S', 'O', 'objlnk'],
            [27, 'LwM2M COSE Security', '', 'M', 'O', 'objlnk'],
            [28, 'RDS Destination Port', '', 'S', 'O', 'integer', '0..15'],
            [29, 'RDS Source Port', '', 'S', 'O', 'integer', '0..15'],
            [30, 'RDS Application ID', '', 'S', 'O', 'string'],
        ]),
        // urn:oma:lwm2m:oma:1:1.2 (LwM2M Server), LwM2M 1.2
        obj(1, 'LwM2M Server', 'urn:oma:lwm2m:oma:1:1.2', '1.2', '1.2', 'M', 'M', [
            [0, 'Short Server ID', 'R', 'S', 'M', 'integer', '1..65534'],
            [1, 'Lifetime', 'RW', 'S', 'M', 'integer', '', 's'],
            [2, 'Default Minimum Period', 'RW', 'S', 'O', 'integer', '', 's'],
            [3, 'Default Maximum Period', 'RW', 'S', 'O', 'integer', '', 's'],
            [4, 'Disable', 'E', 'S', 'O', 'none'],
            [5, 'Disable Timeout', 'RW', 'S', 'O', 'integer', '', 's'],
            [6, 'Notification Storing When Disabled or Offline', 'RW', 'S', 'M', 'boolean'],
            [7, 'Binding', 'RW', 'S', 'M', 'string'],
            [8, 'Registration Update Trigger', 'E', 'S', 'M', 'none'],
            [9, 'Bootstrap-Request Trigger', 'E', 'S', 'O', 'none'],
            [10, 'APN Link', 'RW', 'S', 'O', 'objlnk'],
            [11, 'TLS-DTLS Alert Code', 'R', 'S', 'O', 'unsigned', '0..255'],
            [12, 'Last Bootstrapped', 'R', 'S', 'O', 'time'],
            [13, 'Registration Priority Order', 'R', 'S', 'O', 'unsigned'],
            [14, 'Initial Registration Delay Timer', 'RW', 'S', 'O', 'unsigned', '', 's'],
            [15, 'Registration Failure Block', 'R', 'S', 'O', 'boolean'],
            [16, 'Bootstrap on Registration Failure', 'R', 'S', 'O', 'boolean'],
            [17, 'Communication Retry Count', 'RW', 'S', 'O', 'unsigned'],
            [18, 'Communication Retry Timer', 'RW', 'S', 'O', 'unsigned', '', 's'],
            [19, 'Communication Sequence Delay Timer', 'RW', 'S', 'O', 'unsigned', '', 's'],
            [20, 'Communication Sequence Retry Count', 'RW', 'S', 'O', 'unsigned'],
            [21, 'Trigger', 'RW', 'S', 'O', 'boolean'],
            [
                22,
                'Preferred Transport',
                'RW',
                'S',
                'O',
                'string',
                'The possible values are those listed in the LwM2M Core Specification',
            ],
            [23, 'Mute Send', 'RW', 'S', 'O', 'boolean'],
            [24, 'Alternate APN Links', 'RW', 'M', 'O', 'objlnk'],
            [25, 'Supported Server Versions', 'RW', 'M', 'O', 'string'],
            [26, 'Default Notification Mode', 'RW', 'S', 'O', 'integer', '0..1'],
            [27, 'Profile ID Hash Algorithm', 'RW', 'S', 'O', 'unsigned', '0..255'],
        ]),
        // urn:oma:lwm2m:oma:3:1.2 (Device), LwM2M 1.1
        obj(3, 'Device', 'urn:oma:lwm2m:oma:3:1.2', '1.2', '1.1', 'S', 'M', [
            [0, 'Manufacturer', 'R', 'S', 'O', 'string'],
            [1, 'Model Number', 'R', 'S', 'O', 'string'],
            [2, 'Serial Number', 'R', 'S', 'O', 'string'],
            [3, 'Firmware Version', 'R', 'S', 'O', 'string'],
            [4, 'Reboot', 'E', 'S', 'M', 'none'],
            [5, 'Factory Reset', 'E', 'S', 'O', 'none'],
            [6, 'Available Power Sources', 'R', 'M', 'O', 'integer', '0..7'],
            [7, 'Power Source Voltage', 'R', 'M', 'O', 'integer'],
            [8, 'Power Source Current', 'R', 'M', 'O', 'integer'],
            [9, 'Battery Level', 'R', 'S', 'O', 'integer', '0..100', '/100'],
            [10, 'Memory Free', 'R', 'S', 'O', 'integer'],
            [11, 'Error Code', 'R', 'M', 'M', 'integer', '0..32'],
            [12, 'Reset Error Code', 'E', 'S', 'O', 'none'],
            [13, 'Current Time', 'RW', 'S', 'O', 'time'],
            [14, 'UTC Offset', 'RW', 'S', 'O', 'string'],
            [15, 'Timezone', 'RW', 'S', 'O', 'string'],
            [16, 'Supported Binding and Modes', 'R', 'S', 'M', 'string'],
            [17, 'Device Type', 'R', 'S', 'O', 'string'],
            [18, 'Hardware Version', 'R', 'S', 'O', 'string'],
            [19, 'Software Version', 'R', 'S', 'O', 'string'],
            [20, 'Battery Status', 'R', 'S', 'O', 'integer', '0..6'],
            [21, 'Memory Total', 'R', 'S', 'O', 'integer'],
            [22, 'ExtDevInfo', 'R', 'M', 'O', 'objlnk'],
        ]),
        // urn:oma:lwm2m:ext:3201:1.1 (Digital Output), LwM2M 1.0
        obj(3201, 'Digital Output', 'urn:oma:lwm2m:ext:3201:1.1', '1.1', '1.0', 'M', 'O', [
            [5550, 'Digital Output State', 'RW', 'S', 'M', 'boolean'],
            [5551, 'Digital Output Polarity', 'RW', 'S', 'O', 'boolean'],
            [5750, 'Application Type', 'RW', 'S', 'O', 'string'],
            [5518, 'Timestamp', 'R', 'S', 'O', 'time'],
            [6050, 'Fractional Timestamp', 'R', 'S', 'O', 'float', '0..1', 's'],
        ]),
        // urn:oma:lwm2m:ext:3316:1.1 (Voltage), LwM2M 1.0
        obj(3316, 'Voltage', 'urn:oma:lwm2m:ext:3316:1.1', '1.1', '1.0', 'M', 'O', IPSO_SENSOR_ROWS),
        // urn:oma:lwm2m:ext:3317:1.1 (Current), LwM2M 1.0
        obj(3317, 'Current', 'urn:oma:lwm2m:ext:3317:1.1', '1.1', '1.0', 'M', 'O', IPSO_SENSOR_ROWS),
    ].map((o) => [o.id, o]),
);
