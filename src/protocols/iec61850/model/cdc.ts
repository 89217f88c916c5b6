import type { Fc } from './fc';
import type { BasicType } from './types';

/**
 * Common data classes (IEC 61850-7-3 Ed2) used by the heat-pump and typical DER models: the
 * key attributes of each class with type, FC, trigger options and presence. Source: the 7-3
 * NSD summary of ../shared/design/iec61850-8-2-wire.md §7 and 7-3 Ed2. `clause` is the 7-3
 * clause of the CDC group (7.3 status, 7.4 measurands, 7.5 controllable status, 7.6
 * controllable analogue, 7.7 status settings, 7.8 analogue settings, 7.9 description); per-CDC
 * sub-clause numbers are not verified against the paid text.
 *
 * Not complete: optional attributes for substitution (subEna, subVal…), blocking (blkEna),
 * statistics and Ed2.1 additions are left out; the SCL import reads the real DOTypes.
 */
export type Trigger = 'dchg' | 'qchg' | 'dupd';

export interface CdcAttribute {
    name: string;
    /** A basic type, or the name of a constructed attribute type (7-3 §6: AnalogueValue, Unit, Originator…). */
    type: BasicType | string;
    fc: Fc;
    trg?: Trigger;
    presence: 'M' | 'O';
}

export interface CdcInfo {
    clause: string;
    attributes: CdcAttribute[];
}

type Row = [name: string, type: string, fc: Fc, trg: Trigger | '', presence: 'M' | 'O'];

const qt = (fc: Fc): Row[] => [
    ['q', 'Quality', fc, 'qchg', 'M'],
    ['t', 'Timestamp', fc, '', 'M'],
];
const desc: Row[] = [
    ['d', 'VISIBLE STRING', 'DC', '', 'O'],
    ['dU', 'UNICODE STRING', 'DC', '', 'O'],
];
const ctlStatus: Row[] = [
    ['origin', 'Originator', 'ST', '', 'O'],
    ['ctlNum', 'INT8U', 'ST', '', 'O'],
    ['stSeld', 'BOOLEAN', 'ST', 'dchg', 'O'],
];
const ctlService = (ctlVal: string): Row[] => [
    ['SBO', 'VISIBLE STRING', 'CO', '', 'O'],
    ['SBOw', `Oper(${ctlVal})`, 'CO', '', 'O'],
    ['Oper', `Oper(${ctlVal})`, 'CO', '', 'O'],
    ['Cancel', `Cancel(${ctlVal})`, 'CO', '', 'O'],
    ['ctlModel', 'ENUMERATED', 'CF', 'dchg', 'M'],
    ['sboTimeout', 'INT32U', 'CF', 'dchg', 'O'],
    ['operTimeout', 'INT32U', 'CF', 'dchg', 'O'],
];
const setting = (name: string, type: string): Row[] => [[name, type, 'SP', 'dchg', 'M'], ...desc];

const ROWS: Record<string, [clause: string, rows: Row[]]> = {
    SPS: ['7.3', [['stVal', 'BOOLEAN', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    DPS: ['7.3', [['stVal', 'CODED ENUM', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    INS: ['7.3', [['stVal', 'INT32', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    ENS: ['7.3', [['stVal', 'ENUMERATED', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    BCR: [
        '7.3',
        [
            ['actVal', 'INT64', 'ST', 'dchg', 'M'],
            ['frVal', 'INT64', 'ST', 'dupd', 'O'],
            ['frTm', 'Timestamp', 'ST', '', 'O'],
            ...qt('ST'),
            ['units', 'Unit', 'CF', 'dchg', 'O'],
            ['pulsQty', 'FLOAT32', 'CF', 'dchg', 'M'],
            ...desc,
        ],
    ],
    ORS: ['7.3', [['stVal', 'ObjectReference', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    TCS: ['7.3', [['stVal', 'Timestamp', 'ST', 'dchg', 'M'], ...qt('ST'), ...desc]],
    MV: [
        '7.4',
        [
            ['instMag', 'AnalogueValue', 'MX', '', 'O'],
            ['mag', 'AnalogueValue', 'MX', 'dchg', 'M'],
            ['range', 'ENUMERATED', 'MX', 'dchg', 'O'],
            ...qt('MX'),
            ['units', 'Unit', 'CF', 'dchg', 'O'],
            ['db', 'INT32U', 'CF', 'dchg', 'O'],
            ['rangeC', 'RangeConfig', 'CF', 'dchg', 'O'],
            ...desc,
        ],
    ],
    CMV: [
        '7.4',
        [
            ['instCVal', 'Vector', 'MX', '', 'O'],
            ['cVal', 'Vector', 'MX', 'dchg', 'M'],
            ['range', 'ENUMERATED', 'MX', 'dchg', 'O'],
            ...qt('MX'),
            ['units', 'Unit', 'CF', 'dchg', 'O'],
            ['db', 'INT32U', 'CF', 'dchg', 'O'],
            ...desc,
        ],
    ],
    SPC: [
        '7.5',
        [['stVal', 'BOOLEAN', 'ST', 'dchg', 'O'], ...qt('ST'), ...ctlStatus, ...ctlService('BOOLEAN'), ...desc],
    ],
    DPC: [
        '7.5',
        [['stVal', 'CODED ENUM', 'ST', 'dchg', 'M'], ...qt('ST'), ...ctlStatus, ...ctlService('BOOLEAN'), ...desc],
    ],
    INC: ['7.5', [['stVal', 'INT32', 'ST', 'dchg', 'M'], ...qt('ST'), ...ctlStatus, ...ctlService('INT32'), ...desc]],
    ENC: [
        '7.5',
        [['stVal', 'ENUMERATED', 'ST', 'dchg', 'M'], ...qt('ST'), ...ctlStatus, ...ctlService('ENUMERATED'), ...desc],
    ],
    APC: [
        '7.6',
        [
            ['mxVal', 'AnalogueValue', 'MX', 'dchg', 'O'],
            ...qt('MX'),
            ...ctlStatus.filter((r) => r[0] !== 'stSeld'),
            ...ctlService('AnalogueValue'),
            ['units', 'Unit', 'CF', 'dchg', 'O'],
            ['minVal', 'AnalogueValue', 'CF', 'dchg', 'O'],
            ['maxVal', 'AnalogueValue', 'CF', 'dchg', 'O'],
            ['stepSize', 'AnalogueValue', 'CF', 'dchg', 'O'],
            ...desc,
        ],
    ],
    SPG: ['7.7', setting('setVal', 'BOOLEAN')],
    ING: ['7.7', setting('setVal', 'INT32')],
    ENG: ['7.7', setting('setVal', 'ENUMERATED')],
    ORG: ['7.7', setting('setSrcRef', 'ObjectReference')],
    TSG: ['7.7', [['setTm', 'Timestamp', 'SP', 'dchg', 'O'], ['setCal', 'CalendarTime', 'SP', 'dchg', 'O'], ...desc]],
    ASG: [
        '7.8',
        [
            ['setMag', 'AnalogueValue', 'SP', 'dchg', 'M'],
            ['units', 'Unit', 'CF', 'dchg', 'O'],
            ['minVal', 'AnalogueValue', 'CF', 'dchg', 'O'],
            ['maxVal', 'AnalogueValue', 'CF', 'dchg', 'O'],
            ...desc,
        ],
    ],
    DPL: [
        '7.9',
        [
            ['vendor', 'VISIBLE STRING', 'DC', '', 'M'],
            ['hwRev', 'VISIBLE STRING', 'DC', '', 'O'],
            ['swRev', 'VISIBLE STRING', 'DC', '', 'O'],
            ['serNum', 'VISIBLE STRING', 'DC', '', 'O'],
            ['model', 'VISIBLE STRING', 'DC', '', 'O'],
            ['location', 'VISIBLE STRING', 'DC', '', 'O'],
        ],
    ],
    LPL: [
        '7.9',
        [
            ['vendor', 'VISIBLE STRING', 'DC', '', 'M'],
            ['swRev', 'VISIBLE STRING', 'DC', '', 'M'],
            ['d', 'VISIBLE STRING', 'DC', '', 'O'],
            ['configRev', 'VISIBLE STRING', 'DC', '', 'O'],
            ['paramRev', 'INT32', 'ST', 'dchg', 'O'],
            ['valRev', 'INT32', 'ST', 'dchg', 'O'],
            ['ldNs', 'VISIBLE STRING', 'EX', '', 'O'],
            ['lnNs', 'VISIBLE STRING', 'EX', '', 'O'],
        ],
    ],
};

export const CDCS: Readonly<Record<string, CdcInfo>> = Object.freeze(
    Object.fromEntries(
        Object.entries(ROWS).map(([cdc, [clause, rows]]) => [
            cdc,
            Object.freeze({
                clause: `IEC 61850-7-3 Ed2 §${clause}`,
                attributes: rows.map(([name, type, fc, trg, presence]) =>
                    Object.freeze(trg ? { name, type, fc, trg, presence } : { name, type, fc, presence }),
                ),
            }),
        ]),
    ),
);
