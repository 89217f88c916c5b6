import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { NS_SCSM_8_2 } from '../../src/protocols/iec61850/mms/constants';
import {
    DATA_ACCESS_ERRORS,
    MmsError,
    type MmsReason,
    nameOf,
    REJECT_REASONS,
    SERVICE_ERROR_CLASSES,
} from '../../src/protocols/iec61850/mms/errors';
import {
    decodeConfirmedErrorPdu,
    decodeNamedNumber,
    decodeRejectPdu,
    encodeConfirmedErrorPdu,
    encodeRejectPdu,
} from '../../src/protocols/iec61850/mms/pdu';
import { el, parseXml, serialize, type XmlElement } from '../../src/protocols/xml';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iec61850', 'mms');

/** The PDU inside the fixture's stanza and ApplData wrapper. */
function pduOf(name: string): XmlElement {
    const stanza = parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'));
    const appl = stanza.child('ApplData', NS_SCSM_8_2);
    assert.ok(appl);
    return appl.elements()[0] as XmlElement;
}

function expectMmsError(fn: () => unknown, reason: MmsReason): MmsError {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof MmsError, String(err));
        assert.equal(err.reason, reason, err.message);
        return err;
    }
    assert.fail('expected an MmsError');
}

function shape(e: XmlElement): unknown {
    const kids = e.elements();
    return kids.length === 0 ? [e.local, e.text().trim()] : [e.local, kids.map(shape)];
}

describe('iec61850 mms code tables (wire note §4.3)', () => {
    test('the values the note gives', () => {
        assert.equal(DATA_ACCESS_ERRORS['object-non-existent'], 10);
        assert.equal(DATA_ACCESS_ERRORS['temporarily-unavailable'], 2);
        assert.equal(nameOf(DATA_ACCESS_ERRORS, 11), 'object-value-invalid');
        assert.equal(Object.keys(DATA_ACCESS_ERRORS).length, 12);
        assert.equal(SERVICE_ERROR_CLASSES.access?.['object-non-existent'], 2);
        assert.equal(SERVICE_ERROR_CLASSES.service?.['pdu-size'], 3);
        assert.equal(SERVICE_ERROR_CLASSES.file?.['file-non-existent'], 7);
        assert.equal(SERVICE_ERROR_CLASSES.initiate?.['nesting-level-insufficient'], 7);
        assert.equal(REJECT_REASONS['confirmed-requestPDU']?.['unrecognized-service'], 1);
        assert.equal(REJECT_REASONS['confirmed-responsePDU']?.['invalid-invokeID'], 2);
        assert.equal(REJECT_REASONS['pdu-error']?.['illegal-acse-mapping'], 2);
        for (const table of [
            DATA_ACCESS_ERRORS,
            ...Object.values(SERVICE_ERROR_CLASSES),
            ...Object.values(REJECT_REASONS),
        ]) {
            const values = Object.values(table);
            assert.equal(new Set(values).size, values.length, 'named numbers are unique');
        }
    });

    test('named numbers read in both forms', () => {
        assert.equal(decodeNamedNumber(el('failure', {}, el('object-non-existent')), DATA_ACCESS_ERRORS, 'f'), 10);
        assert.equal(decodeNamedNumber(el('failure', {}, ' 10 '), DATA_ACCESS_ERRORS, 'f'), 10);
        assert.equal(decodeNamedNumber(el('failure', {}, '42'), DATA_ACCESS_ERRORS, 'f'), 42);
        expectMmsError(
            () => decodeNamedNumber(el('failure', {}, el('nope')), DATA_ACCESS_ERRORS, 'f'),
            'unknown-element',
        );
        expectMmsError(
            () => decodeNamedNumber(el('failure', {}, el('toString')), DATA_ACCESS_ERRORS, 'f'),
            'unknown-element',
        );
        expectMmsError(() => decodeNamedNumber(el('failure', {}, 'ten'), DATA_ACCESS_ERRORS, 'f'), 'bad-lexical');
    });
});

describe('iec61850 mms error PDUs: golden vectors of §5.8', () => {
    test('confirmed-ErrorPDU decodes, and re-encodes to the same structure', () => {
        const xml = pduOf('5.8-error-pdu.xml');
        const pdu = decodeConfirmedErrorPdu(xml);
        assert.deepEqual(pdu, {
            invokeID: 46,
            serviceError: {
                errorClass: { class: 'access', code: 2 },
                additionalDescription: 'domain HP9LD unknown',
            },
        });
        assert.deepEqual(shape(encodeConfirmedErrorPdu(pdu)), shape(xml));
        const numeric = parseXml(
            '<confirmed_ErrorPDU><invokeID>46</invokeID><serviceError><errorClass><access>2</access></errorClass></serviceError></confirmed_ErrorPDU>',
        );
        assert.deepEqual(decodeConfirmedErrorPdu(numeric).serviceError.errorClass, { class: 'access', code: 2 });
    });

    test('rejectPDU decodes, and re-encodes to the same structure', () => {
        const xml = pduOf('5.8-reject-pdu.xml');
        const pdu = decodeRejectPdu(xml);
        assert.deepEqual(pdu, { originalInvokeID: 47, rejectReason: { pdu: 'confirmed-requestPDU', code: 1 } });
        assert.deepEqual(shape(encodeRejectPdu(pdu)), shape(xml));
        assert.equal(
            serialize(encodeRejectPdu({ rejectReason: { pdu: 'pdu-error', code: 7 } })),
            '<rejectPDU><rejectReason><pdu-error>7</pdu-error></rejectReason></rejectPDU>',
        );
    });

    test('malformed error PDUs yield typed errors', () => {
        const bad: Array<[string, MmsReason]> = [
            ['<confirmed-ErrorPDU><serviceError/></confirmed-ErrorPDU>', 'missing-element'],
            ['<confirmed-ErrorPDU><invokeID>-1</invokeID></confirmed-ErrorPDU>', 'out-of-range'],
            [
                '<confirmed-ErrorPDU><invokeID>1</invokeID><serviceError><errorClass><bogus>1</bogus></errorClass></serviceError></confirmed-ErrorPDU>',
                'unknown-element',
            ],
            [
                '<confirmed-ErrorPDU><invokeID>1</invokeID><serviceError><errorClass><access>2</access></errorClass></serviceError><extra/></confirmed-ErrorPDU>',
                'unknown-element',
            ],
            ['<read/>', 'unknown-element'],
        ];
        for (const [xml, reason] of bad) expectMmsError(() => decodeConfirmedErrorPdu(parseXml(xml)), reason);
        expectMmsError(
            () => decodeRejectPdu(parseXml('<rejectPDU><rejectReason><bogus>1</bogus></rejectReason></rejectPDU>')),
            'unknown-element',
        );
        expectMmsError(() => decodeRejectPdu(parseXml('<rejectPDU/>')), 'missing-element');
    });
});
