/**
 * XML namespaces the session speaks, each with the document that defines it.
 * Protocol cores add their own; these are the ones the transport needs.
 */
export const NS = Object.freeze({
    /** RFC 6120 §4.8.1: default namespace of client streams. */
    CLIENT: 'jabber:client',
    /** RFC 6120 §4.8.1: stream namespace (`stream:` prefix). */
    STREAM: 'http://etherx.jabber.org/streams',
    /** RFC 6120 §4.9.2: stream error conditions. */
    STREAMS: 'urn:ietf:params:xml:ns:xmpp-streams',
    /** RFC 6120 §5.4: STARTTLS negotiation. */
    TLS: 'urn:ietf:params:xml:ns:xmpp-tls',
    /** RFC 6120 §6.4: SASL negotiation. */
    SASL: 'urn:ietf:params:xml:ns:xmpp-sasl',
    /** RFC 6120 §7: resource binding. */
    BIND: 'urn:ietf:params:xml:ns:xmpp-bind',
    /** RFC 3921 §3 (kept by RFC 6121 as optional): session establishment. */
    SESSION: 'urn:ietf:params:xml:ns:xmpp-session',
    /** RFC 6120 §8.3.3: stanza error conditions. */
    STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
    /** RFC 6121 §2: roster management. */
    ROSTER: 'jabber:iq:roster',
    /** XEP-0198 v1.6: stream management. */
    SM: 'urn:xmpp:sm:3',
    /** XEP-0199: XMPP ping. */
    PING: 'urn:xmpp:ping',
    /** XEP-0030: service discovery, info. */
    DISCO_INFO: 'http://jabber.org/protocol/disco#info',
    /** XEP-0030: service discovery, items. */
    DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
    /** XEP-0203: delayed delivery stamps. */
    DELAY: 'urn:xmpp:delay',
} as const);
