import crypto from 'node:crypto';

/** The URL namespace of RFC 4122 Appendix C (6ba7b811-9dad-11d1-80b4-00c04fd430c8). */
const NAMESPACE_URL = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/**
 * A name-based version-5 UUID (RFC 4122 §4.3, SHA-1) in the URL namespace. GBA's "Generating Persistent UUIDs"
 * asks for ids that are permanent and repeatable; the name we hash is the entry's absolute self href, so the same
 * resource gets the same id on every request and after a restart (design note A.2.2).
 */
export function uuidV5Url(name: string): string {
    const hash = crypto.createHash('sha1').update(NAMESPACE_URL).update(name, 'utf8').digest();
    const b = hash.subarray(0, 16);
    b[6] = ((b[6] as number) & 0x0f) | 0x50;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
