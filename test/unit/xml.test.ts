import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
    el,
    escapeAttr,
    escapeText,
    findInvalidChar,
    NS_XML,
    parseXml,
    serialize,
    serializedSize,
    XmlElement,
    XmlError,
    type XmlErrorCode,
} from '../../src/protocols/xml';

/** Runs `fn`, expects an XmlError with `code` whose message matches `pattern`, and returns it. */
function expectXmlError(fn: () => unknown, code: XmlErrorCode, pattern: RegExp): XmlError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(
        caught instanceof XmlError,
        `expected an XmlError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
    );
    assert.equal(caught.name, 'XmlError');
    assert.equal(caught.code, code, `wrong code for: ${caught.message}`);
    assert.match(caught.message, pattern);
    return caught;
}

/** A plain-object picture of a tree, for structural comparison. */
interface Shape {
    name: string;
    ns: string;
    attrs: Record<string, string>;
    children: Array<Shape | string>;
}

function shape(e: XmlElement): Shape {
    return {
        name: e.name,
        ns: e.ns,
        attrs: { ...e.attrs },
        children: e.children.map((c) => (typeof c === 'string' ? c : shape(c))),
    };
}

function nested(depth: number): string {
    return `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
}

function withAttributes(count: number): string {
    return `<a ${Array.from({ length: count }, (_, i) => `a${i}="${i}"`).join(' ')}/>`;
}

describe('XmlElement namespaces', () => {
    test('the default namespace declared on an element applies to it and its unprefixed descendants', () => {
        const doc = parseXml('<iq xmlns="jabber:client"><query><item/></query></iq>');
        assert.equal(doc.ns, 'jabber:client');
        const item = doc.child('query')?.child('item');
        assert.ok(item);
        assert.equal(item.ns, 'jabber:client');
    });

    test('a prefixed name resolves through its xmlns:p declaration; prefix and local are split', () => {
        const doc = parseXml('<p:sensor xmlns:p="urn:example:p"/>');
        assert.equal(doc.prefix, 'p');
        assert.equal(doc.local, 'sensor');
        assert.equal(doc.ns, 'urn:example:p');
        assert.ok(doc.is('sensor', 'urn:example:p'));
        assert.ok(!doc.is('sensor', 'urn:other'));
        assert.ok(doc.is('sensor'));
    });

    test('prefixes declared on an ancestor are inherited; a nearer default declaration overrides an outer one', () => {
        const doc = parseXml(
            '<root xmlns="urn:outer" xmlns:x="urn:x"><mid xmlns="urn:inner"><x:leaf/><plain/></mid><other/></root>',
        );
        const mid = doc.child('mid');
        assert.ok(mid);
        assert.equal(mid.ns, 'urn:inner');
        assert.equal(mid.child('leaf')?.ns, 'urn:x');
        assert.equal(mid.child('plain')?.ns, 'urn:inner');
        assert.equal(doc.child('other')?.ns, 'urn:outer');
    });

    test('xmlns="" undeclares the default namespace for a subtree', () => {
        const doc = parseXml('<a xmlns="urn:a"><b xmlns=""><c/></b></a>');
        assert.equal(doc.child('b')?.ns, '');
        assert.equal(doc.child('b')?.child('c')?.ns, '');
    });

    test('an undeclared prefix has no namespace', () => {
        const doc = parseXml('<a><q:b/></a>');
        const b = doc.elements()[0];
        assert.ok(b);
        assert.equal(b.ns, '');
        assert.equal(b.lookupNs('q'), undefined);
    });

    test('scope on the root supplies bindings from outside, after the root’s own declarations', () => {
        const doc = parseXml('<message><body>hi</body><s:x/></message>', {
            scope: { '': 'jabber:client', s: 'urn:scoped' },
        });
        assert.equal(doc.ns, 'jabber:client');
        assert.equal(doc.child('body')?.ns, 'jabber:client');
        assert.equal(doc.child('x')?.ns, 'urn:scoped');

        const own = parseXml('<message xmlns="urn:own"><body/></message>', { scope: { '': 'jabber:client' } });
        assert.equal(own.ns, 'urn:own', 'the root’s own xmlns wins over scope');
        assert.equal(own.child('body')?.ns, 'urn:own');
    });

    test('scope is consulted only on the root of the tree, not on an attached child', () => {
        const root = el('r', {}, el('c'));
        const child = root.child('c');
        assert.ok(child);
        child.scope = { '': 'urn:ignored' };
        assert.equal(child.ns, '');
        root.scope = { '': 'urn:root' };
        assert.equal(child.ns, 'urn:root');
    });

    test('the xml: prefix is always bound to the XML namespace, without a declaration', () => {
        const doc = parseXml('<a xml:lang="en"><xml:thing/></a>');
        assert.equal(NS_XML, 'http://www.w3.org/XML/1998/namespace');
        assert.equal(doc.lookupNs('xml'), NS_XML);
        assert.equal(doc.elements()[0]?.ns, NS_XML);
        assert.equal(doc.attr('xml:lang'), 'en');
    });

    test('prefixes that are names of Object.prototype members resolve to no namespace (not to a function)', () => {
        // toXmlElement (stream.ts) always sets a scope object, so a peer's stanza can carry such prefixes.
        const doc = parseXml('<message><constructor:x/><toString:y/><hasOwnProperty:z/></message>', {
            scope: { '': 'jabber:client' },
        });
        for (const child of doc.elements()) {
            assert.equal(typeof child.ns, 'string', `<${child.name}> has a ${typeof child.ns} namespace`);
            assert.equal(child.ns, '');
            assert.equal(child.lookupNs(child.prefix), undefined);
        }
    });

    test('clone is deep and detached, and keeps the namespaces in scope where it was taken', () => {
        const doc = parseXml(
            '<r xmlns="urn:r" xmlns:p="urn:p"><p:a xmlns:q="urn:q" k="v"><q:b/><c>text</c></p:a></r>',
            {
                scope: { s: 'urn:s' },
            },
        );
        const a = doc.child('a', 'urn:p');
        assert.ok(a);
        const copy = a.clone();
        assert.equal(copy.parent, undefined);
        assert.equal(copy.ns, 'urn:p');
        assert.equal(copy.child('b')?.ns, 'urn:q');
        assert.equal(copy.child('c')?.ns, 'urn:r', 'default namespace inherited from the old root');
        assert.equal(copy.lookupNs('s'), 'urn:s', 'binding from the old root’s scope');
        assert.equal(copy.childText('c'), 'text');
        assert.equal(copy.child('b')?.parent, copy);

        copy.attrs.k = 'changed';
        copy.append(el('d'));
        const cCopy = copy.child('c');
        assert.ok(cCopy);
        cCopy.append('more');
        assert.equal(a.attr('k'), 'v');
        assert.equal(a.elements().length, 2);
        assert.equal(a.childText('c'), 'text');
        assert.equal(a.parent, doc);
    });

    test('clone of a standalone element carries no outside bindings', () => {
        const copy = el('a', { xmlns: 'urn:a' }, el('b')).clone();
        assert.equal(copy.ns, 'urn:a');
        assert.equal(copy.child('b')?.ns, 'urn:a');
        assert.equal(copy.lookupNs('p'), undefined);
    });

    test('clone copes with a very deep tree (like serialize, without call-stack recursion)', () => {
        const root = new XmlElement('r');
        let cur = root;
        for (let i = 0; i < 100_000; i++) {
            const next = new XmlElement('c');
            cur.append(next);
            cur = next;
        }
        let copy: XmlElement | undefined;
        assert.doesNotThrow(() => {
            copy = root.clone();
        });
        assert.equal(copy?.toString().length, root.toString().length);
    });

    test('child, childrenNamed, elements, text and childText', () => {
        const doc = parseXml('<a xmlns="urn:a" xmlns:o="urn:o">one<b>x</b>two<o:b>y</o:b><b>z</b></a>');
        assert.equal(doc.text(), 'onetwo');
        assert.equal(doc.elements().length, 3);
        assert.equal(doc.childrenNamed('b').length, 3);
        assert.equal(doc.childrenNamed('b', 'urn:a').length, 2);
        assert.equal(doc.child('b', 'urn:o')?.text(), 'y');
        assert.equal(doc.childText('b'), 'x');
        assert.equal(doc.childText('missing'), undefined);
        assert.equal(doc.child('b', 'urn:none'), undefined);
    });

    test('remove detaches a child and reports whether it was there', () => {
        const b = el('b');
        const a = el('a', {}, b, 'text');
        assert.equal(a.remove(b), true);
        assert.equal(b.parent, undefined);
        assert.equal(a.toString(), '<a>text</a>');
        assert.equal(a.remove(b), false);
    });
});

describe('el builder', () => {
    test('attributes whose value is undefined or null are left out; numbers and booleans become strings', () => {
        const e = el('iq', { type: 'get', to: undefined, from: null, id: 7, zero: 0, yes: true, no: false, empty: '' });
        assert.deepEqual(e.attrs, { type: 'get', id: '7', zero: '0', yes: 'true', no: 'false', empty: '' });
        assert.equal(e.toString(), '<iq type="get" id="7" zero="0" yes="true" no="false" empty=""/>');
    });

    test('children: undefined, null and false are skipped, nested arrays are flattened in order, numbers become text', () => {
        const items = [1, 2].map((n) => el('item', { n }));
        const e = el('list', {}, undefined, null, false, [el('first'), [items, [null, 'text', 0]]], 3.5);
        assert.equal(e.toString(), '<list><first/><item n="1"/><item n="2"/>text03.5</list>');
        for (const c of e.elements()) assert.equal(c.parent, e);
    });

    test('append chains and sets the parent of appended elements', () => {
        const child = el('c');
        const parent = el('p', { xmlns: 'urn:p' }).append(child, 'x');
        assert.equal(child.parent, parent);
        assert.equal(child.ns, 'urn:p');
        assert.equal(parent.toString(), '<p xmlns="urn:p"><c/>x</p>');
    });

    test('an element without children serialises self-closed', () => {
        assert.equal(el('ping', { xmlns: 'urn:xmpp:ping' }).toString(), '<ping xmlns="urn:xmpp:ping"/>');
    });
});

describe('serialisation', () => {
    test('text escapes &, < and >', () => {
        assert.equal(el('a', {}, 'x<y & z>w ]]> "q" \'s\'').toString(), '<a>x&lt;y &amp; z&gt;w ]]&gt; "q" \'s\'</a>');
        assert.equal(escapeText('a&b'), 'a&amp;b');
    });

    test('attribute values escape &, <, >, both quotes, tab, newline and carriage return', () => {
        assert.equal(el('a', { v: `"'<&>` }).toString(), '<a v="&quot;&apos;&lt;&amp;&gt;"/>');
        assert.equal(escapeAttr('a\tb\nc\rd'), 'a&#9;b&#10;c&#13;d');
    });

    test('attribute values with quotes, tab, newline and CR round-trip through parseXml unchanged', () => {
        const value = 'tab\there\nnew line\r\nCRLF "double" \'single\' <lt> &amp; & done';
        const back = parseXml(el('a', { v: value }).toString());
        assert.equal(back.attr('v'), value);
    });

    test('text with markup characters round-trips through parseXml unchanged', () => {
        const value = 'if a < b && c > d then "x" \'y\' ]]> end\n\ttabbed';
        assert.equal(parseXml(el('a', {}, value).toString()).text(), value);
    });

    test('text containing a carriage return round-trips (a raw CR would be normalised away by the reader)', () => {
        // XML 1.0 §2.11: a parser turns CR and CRLF into LF, so a CR in character data must be written as &#13;.
        const value = 'line one\r\nline two\rline three';
        const xml = el('a', {}, value).toString();
        assert.ok(!xml.includes('\r'), `serialised text still holds a raw CR: ${JSON.stringify(xml)}`);
        assert.equal(parseXml(xml).text(), value);
    });

    test('characters XML 1.0 forbids are refused in text and attribute values with XML_INVALID_CHAR naming the character', () => {
        const cases: Array<[string, RegExp]> = [
            ['\u0001', /U\+0001/],
            ['\u0000', /U\+0000/],
            ['\u001F', /U\+001F/],
            ['a\uD800b', /U\+D800/],
            ['a\uDC00', /U\+DC00/],
            ['\uFFFE', /U\+FFFE/],
            ['\uFFFF', /U\+FFFF/],
        ];
        for (const [bad, names] of cases) {
            expectXmlError(() => el('a', {}, `ok ${bad}`).toString(), 'XML_INVALID_CHAR', names);
            expectXmlError(() => el('a', { v: bad }).toString(), 'XML_INVALID_CHAR', names);
            expectXmlError(() => escapeText(bad), 'XML_INVALID_CHAR', /Text/);
            expectXmlError(() => escapeAttr(bad), 'XML_INVALID_CHAR', /Attribute value/);
        }
    });

    test('tab, newline, CR, a surrogate pair and U+FFFD are allowed', () => {
        const ok = 'a\tb\nc\rd \u{1F600} \uFFFD \uE000';
        assert.equal(findInvalidChar(ok), -1);
        assert.doesNotThrow(() => el('a', { v: ok }, ok).toString());
    });

    test('findInvalidChar reports the offset of the first forbidden character', () => {
        assert.equal(findInvalidChar('abc\u0002def\u0003'), 3);
        assert.equal(findInvalidChar('x\uDBFF'), 1, 'high surrogate at the end');
        assert.equal(findInvalidChar('\uDC00x'), 0, 'lone low surrogate');
    });

    test('a forbidden character deep in the tree is refused, not written', () => {
        const tree = el('a', {}, el('b', {}, el('c', { ok: 'yes' }, 'fine'), el('d', {}, 'bad\u0008')));
        expectXmlError(() => serialize(tree), 'XML_INVALID_CHAR', /U\+0008/);
    });

    test('invalid element and attribute names are refused with XML_INVALID_CHAR naming the name', () => {
        for (const name of ['', '1abc', '-a', 'a b', 'a<b', 'a>b', 'a"b', 'a:b:c', ':a', 'a:', 'a/b', 'a&b']) {
            expectXmlError(() => el(name).toString(), 'XML_INVALID_CHAR', /Element name .* is not a valid XML name/);
        }
        const e = expectXmlError(() => el('a', { 'bad name': 'x' }).toString(), 'XML_INVALID_CHAR', /Attribute name/);
        assert.match(e.message, /"bad name"/);
        assert.doesNotThrow(() => el('p:valid-name_1.x', { 'xml:lang': 'en', 'q:a-b': '1' }).toString());
    });

    test('names holding a lone surrogate or a forbidden character are refused', () => {
        expectXmlError(() => el('a\uD800').toString(), 'XML_INVALID_CHAR', /a valid XML name|U\+D800/);
        expectXmlError(() => el('a', { 'b\uDC00': '1' }).toString(), 'XML_INVALID_CHAR', /a valid XML name|U\+DC00/);
    });

    test('serialize handles a 100000-deep tree without exhausting the call stack', () => {
        const root = new XmlElement('r');
        let cur = root;
        for (let i = 0; i < 100_000; i++) {
            const next = new XmlElement('c');
            cur.append(next);
            cur = next;
        }
        cur.append('leaf');
        const xml = root.toString();
        assert.ok(xml.startsWith('<r><c><c>'));
        assert.ok(xml.includes('<c>leaf</c></c>'));
        assert.ok(xml.endsWith('</c></c></r>'));
        assert.equal(xml.length, '<r></r>'.length + 100_000 * '<c></c>'.length + 'leaf'.length);
    });
});

describe('parseXml', () => {
    test('a document round-trips: parse, serialise, parse gives the same tree', () => {
        const source = `<?xml version="1.0" encoding="UTF-8"?>
<SCL xmlns="http://www.iec.ch/61850/2003/SCL" xmlns:ext="urn:example:ext" version="2007">
  <Header id="demo" ext:note="a &amp; b &lt; c"/>
  <IED name="IED1" desc="caf&#233; &#x1F600;">
    <ext:Info lang="en">Tom &lt;3 &quot;quoted&quot; &apos;s&apos;</ext:Info>
    <Empty/>
  </IED>
</SCL>`;
        const first = parseXml(source);
        assert.equal(first.ns, 'http://www.iec.ch/61850/2003/SCL');
        const ied = first.child('IED');
        assert.ok(ied);
        assert.equal(ied.attr('desc'), 'café 😀');
        assert.equal(ied.childText('Info', 'urn:example:ext'), 'Tom <3 "quoted" \'s\'');
        assert.equal(first.child('Header')?.attr('ext:note'), 'a & b < c');
        const second = parseXml(first.toString());
        assert.deepEqual(shape(second), shape(first));
        assert.equal(second.toString(), first.toString());
    });

    test('a built tree round-trips through toString and parseXml', () => {
        const tree = el(
            'iq',
            { xmlns: 'jabber:client', type: 'set', id: 'a&b' },
            el(
                'query',
                { xmlns: 'urn:example:q' },
                el('item', { jid: 'x@y', name: 'Ünïcödé "name"' }, 'text <1>'),
                el('empty'),
            ),
        );
        assert.deepEqual(shape(parseXml(tree.toString())), shape(tree));
    });

    test('CDATA is kept verbatim: no entity decoding inside, and it merges with adjacent text', () => {
        const doc = parseXml('<a><![CDATA[&amp; <b> &foo; & ]]]]><![CDATA[>]]></a>');
        assert.equal(doc.text(), '&amp; <b> &foo; & ]]>');
        const mixed = parseXml('<a>x &lt; <![CDATA[<y>]]> z</a>');
        assert.equal(mixed.text(), 'x < <y> z');
        assert.equal(mixed.children.length, 1);
    });

    test('comments and processing instructions are dropped', () => {
        const doc = parseXml(
            '<?xml version="1.0"?><!-- before --><a><!-- inside & <b/> -->x<?pi some data?>y</a><!-- after -->',
        );
        assert.deepEqual(doc.children, ['xy']);
        assert.equal(doc.toString(), '<a>xy</a>');
    });

    test('a processing instruction whose data holds "&" is well-formed and is dropped', () => {
        const doc = parseXml('<?xml-stylesheet type="text/xsl" href="style.xsl?a=1&b=2"?><a>ok</a>');
        assert.equal(doc.text(), 'ok');
    });

    test('the five predefined entities and numeric character references are decoded in text and attributes', () => {
        const doc = parseXml(
            '<a v="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;">&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1f600;&#9;</a>',
        );
        assert.equal(doc.attr('v'), '<>&"\'AB😀');
        assert.equal(doc.text(), '<>&"\'AB😀\t');
    });

    test('character references with leading zeros are valid XML and decode', () => {
        assert.equal(parseXml('<a>&#x0000000041;&#0000000066;</a>').text(), 'AB');
    });

    test('attribute values are normalised (literal tab/newline become spaces) while &#9; and &#10; survive', () => {
        const doc = parseXml('<a v="x\ty\nz" w="x&#9;y&#10;z&#13;"/>');
        assert.equal(doc.attr('v'), 'x y z');
        assert.equal(doc.attr('w'), 'x\ty\nz\r');
    });

    test('line ends in text are normalised to LF (XML 1.0 §2.11)', () => {
        assert.equal(parseXml('<a>x\r\ny\rz</a>').text(), 'x\ny\nz');
    });

    test('an undeclared entity is XML_MALFORMED with its line and column', () => {
        const e = expectXmlError(() => parseXml('<a>\n  x &foo; y</a>'), 'XML_MALFORMED', /Undeclared entity &foo;/);
        assert.equal(e.line, 2);
        assert.equal(e.column, 5);
        assert.match(e.message, /line 2, column 5/);
        assert.equal(e.context, 'x &foo; y</a>');
    });

    test('a bare "&" is XML_MALFORMED with its line and column', () => {
        const e = expectXmlError(() => parseXml('<a>\n<b>\n fish & chips</b></a>'), 'XML_MALFORMED', /Bare "&"/);
        assert.equal(e.line, 3);
        assert.equal(e.column, 7);
    });

    test('an undeclared entity in an attribute value is XML_MALFORMED at the reference', () => {
        const e = expectXmlError(() => parseXml('<a>\n  <b c="&bar;"/></a>'), 'XML_MALFORMED', /&bar;/);
        assert.equal(e.line, 2);
        assert.equal(e.column, 9);
    });

    test('a reference to a character XML forbids is XML_MALFORMED naming the reference', () => {
        for (const ref of [
            '&#1;',
            '&#0;',
            '&#x1F;',
            '&#xD800;',
            '&#xFFFE;',
            '&#xFFFF;',
            '&#x110000;',
            '&#X41;',
            '&#;',
            '&#xZZ;',
        ]) {
            const e = expectXmlError(
                () => parseXml(`<a>\n <b>${ref}</b></a>`),
                'XML_MALFORMED',
                new RegExp(ref.replace(/[#;]/g, '.')),
            );
            assert.equal(e.line, 2);
            assert.equal(e.column, 5);
        }
    });

    test('a raw character XML forbids is XML_INVALID_CHAR with its position', () => {
        const e = expectXmlError(() => parseXml('<a>\nok\u0001</a>'), 'XML_INVALID_CHAR', /U\+0001/);
        assert.equal(e.line, 2);
        assert.equal(e.column, 3);
        expectXmlError(() => parseXml('<a>\uD800</a>'), 'XML_INVALID_CHAR', /U\+D800/);
        expectXmlError(() => parseXml('<a b="\uFFFE"/>'), 'XML_INVALID_CHAR', /U\+FFFE/);
    });

    test('a DOCTYPE is XML_FORBIDDEN at its position', () => {
        const e = expectXmlError(
            () => parseXml('<?xml version="1.0"?>\n<!DOCTYPE note SYSTEM "note.dtd">\n<note/>'),
            'XML_FORBIDDEN',
            /<!DOCTYPE>.*not accepted/,
        );
        assert.equal(e.line, 2);
        assert.equal(e.column, 1);
    });

    test('the billion laughs document is refused as XML_FORBIDDEN without expanding anything', () => {
        const lines = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', ' <!ENTITY lol "lol">'];
        for (let i = 1; i <= 9; i++) {
            const prev = i === 1 ? 'lol' : `lol${i - 1}`;
            lines.push(` <!ENTITY lol${i} "${`&${prev};`.repeat(10)}">`);
        }
        lines.push(']>', '<lolz>&lol9;</lolz>');
        const started = process.hrtime.bigint();
        const e = expectXmlError(() => parseXml(lines.join('\n')), 'XML_FORBIDDEN', /DOCTYPE/);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        assert.ok(ms < 1000, `refusal took ${ms} ms`);
        assert.ok(!e.message.includes('lollol'), 'nothing was expanded into the message');
        assert.equal(e.line, 2);
    });

    test('an ENTITY declaration outside a DOCTYPE is XML_FORBIDDEN too', () => {
        expectXmlError(() => parseXml('<a/>\n<!ENTITY x "y">'), 'XML_FORBIDDEN', /<!ENTITY>/);
    });

    test('maxBytes counts UTF-8 bytes of strings and Uint8Arrays and names the limit', () => {
        const doc = `<a>${'é'.repeat(600)}</a>`; // 1207 bytes, 607 characters
        const e = expectXmlError(() => parseXml(doc, { maxBytes: 1000 }), 'XML_LIMIT', /1207 bytes.*limit of 1000/);
        assert.equal(e.line, undefined);
        expectXmlError(() => parseXml(new TextEncoder().encode(doc), { maxBytes: 1000 }), 'XML_LIMIT', /limit of 1000/);
        assert.equal(parseXml(doc, { maxBytes: 1207 }).text().length, 600);
    });

    test('maxDepth: the root is depth 1; one level more is XML_LIMIT naming the depth and the limit', () => {
        assert.doesNotThrow(() => parseXml(nested(5), { maxDepth: 5 }));
        expectXmlError(() => parseXml(nested(6), { maxDepth: 5 }), 'XML_LIMIT', /nested 6 deep.*limit of 5/);
        expectXmlError(() => parseXml(nested(2000)), 'XML_LIMIT', /limit of 64/);
    });

    test('a 100000-deep document is refused with XML_LIMIT promptly, without blowing the stack', () => {
        // In a child process, so that a parser stuck for minutes fails this test instead of hanging the suite.
        const mod = path.resolve(__dirname, '../../src/protocols/xml/index.ts');
        const script = `
            const { parseXml } = require(${JSON.stringify(mod)});
            const n = 100000;
            const started = Date.now();
            let out;
            try { parseXml('<a>'.repeat(n) + '</a>'.repeat(n)); out = { ok: true }; }
            catch (e) { out = { name: e.name, code: e.code, message: String(e.message).slice(0, 300) }; }
            out.ms = Date.now() - started;
            console.log(JSON.stringify(out));`;
        const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
            encoding: 'utf8',
            timeout: 10_000,
            cwd: path.resolve(__dirname, '../..'),
        });
        assert.equal(r.signal, null, `parseXml did not finish within 10 s (killed by ${r.signal})`);
        assert.equal(r.status, 0, r.stderr);
        const result = JSON.parse(r.stdout.trim()) as { name?: string; code?: string; message?: string; ms: number };
        assert.equal(result.name, 'XmlError', JSON.stringify(result));
        assert.equal(result.code, 'XML_LIMIT', JSON.stringify(result));
        assert.match(result.message ?? '', /limit of 64/);
    });

    test('an unclosed deeply nested document is XML_MALFORMED with a readable message', () => {
        // maxDepth raised so that the document reaches the well-formedness check rather than the depth limit.
        const e = expectXmlError(() => parseXml('<a>'.repeat(1000), { maxDepth: 2000 }), 'XML_MALFORMED', /./);
        assert.ok(e.message.length < 500, `message is ${e.message.length} characters long`);
    });

    test('maxAttributes counts namespace declarations and names the limit', () => {
        assert.doesNotThrow(() => parseXml(withAttributes(64)));
        expectXmlError(() => parseXml(withAttributes(65)), 'XML_LIMIT', /<a> has 65 attributes.*limit of 64/);
        expectXmlError(
            () => parseXml('<a xmlns="u" xmlns:p="v" b="1"/>', { maxAttributes: 2 }),
            'XML_LIMIT',
            /3 attributes.*limit of 2/,
        );
    });

    test('maxElements counts every element and names the limit', () => {
        const doc = (n: number) => `<a>${'<b/>'.repeat(n - 1)}</a>`;
        assert.doesNotThrow(() => parseXml(doc(100), { maxElements: 100 }));
        expectXmlError(() => parseXml(doc(101), { maxElements: 100 }), 'XML_LIMIT', /more than 100 elements/);
    });

    test('a limit that is not a number is refused instead of silently switching the check off', () => {
        let caught: unknown;
        try {
            parseXml(nested(100), { maxDepth: Number.NaN });
        } catch (err) {
            caught = err;
        }
        assert.ok(caught instanceof Error, 'a NaN maxDepth let a 100-deep document through');
        assert.match(caught.message, /maxDepth|limit/);
    });

    test('several roots, no root, or text outside the root are XML_MALFORMED', () => {
        expectXmlError(() => parseXml('<a/><b/>'), 'XML_MALFORMED', /root/);
        expectXmlError(() => parseXml('<a></a>\n<b></b>'), 'XML_MALFORMED', /root/);
        expectXmlError(() => parseXml(''), 'XML_MALFORMED', /./);
        expectXmlError(() => parseXml('   \n  '), 'XML_MALFORMED', /./);
        expectXmlError(() => parseXml('<!-- only a comment -->'), 'XML_MALFORMED', /./);
        expectXmlError(() => parseXml('junk<a/>'), 'XML_MALFORMED', /./);
        expectXmlError(() => parseXml('<a></a>junk'), 'XML_MALFORMED', /text|root/i);
    });

    test('text after a self-closed root is XML_MALFORMED as well', () => {
        expectXmlError(() => parseXml('<a/>junk'), 'XML_MALFORMED', /text|root/i);
        expectXmlError(() => parseXml('<a/>\ntrailing text\n'), 'XML_MALFORMED', /text|root/i);
    });

    test('malformed documents report line, column and a context snippet', () => {
        const e = expectXmlError(() => parseXml('<a>\n  <b>\n  </c>\n</a>'), 'XML_MALFORMED', /closing tag/);
        assert.equal(e.line, 3);
        assert.equal(e.context, '</c>');
        assert.match(e.message, /\(line 3, column \d+\): <\/c>$/);

        const unterminated = expectXmlError(() => parseXml('<a>\n<b c="1"'), 'XML_MALFORMED', /Unterminated tag/);
        assert.equal(unterminated.line, 2);
        assert.equal(unterminated.context, '<b c="1"');
        expectXmlError(() => parseXml('<a>\n<!-- open'), 'XML_MALFORMED', /Unterminated comment.*line 2/);
        expectXmlError(() => parseXml('<a>\n<![CDATA[ open'), 'XML_MALFORMED', /Unterminated CDATA.*line 2/);
        expectXmlError(() => parseXml('<a b=1/>'), 'XML_MALFORMED', /line 1/);
        expectXmlError(() => parseXml('<a b="1" b="2"/>'), 'XML_MALFORMED', /repeated/);
    });

    test('tag syntax is checked by the prescan itself: names, attributes, nesting, declaration', () => {
        const cases: Array<[string, RegExp]> = [
            ['<1a/>', /valid element name/],
            ['<a b="1"c="2"/>', /Unexpected character/],
            ['<a b/>', /has no value/],
            ['<a b=\'1\' 2="x"/>', /Invalid attribute name/],
            ['<a b="x<y"/>', /"<" in the value/],
            ['<a></a></b>', /no open element|root|text/i],
            ['<a><b></a></b>', /Expected closing tag <\/b>, found <\/a>/],
            ['<a>< /a>', /valid element name/],
            ['<a></ a>', /Malformed closing tag/],
            ['<a>\n<b>\n<c/>', /Element <b> is not closed.*line 2/],
            ['<a><?xml version="1.0"?></a>', /only allowed at the start/],
        ];
        for (const [doc, pattern] of cases) expectXmlError(() => parseXml(doc), 'XML_MALFORMED', pattern);
        assert.equal(parseXml('\uFEFF<?xml version="1.0"?><a  b = "1"\n c=\'2\' />').attrs.c, '2');
        assert.equal(parseXml('<a><?pi data?></a >').local, 'a');
    });

    test('the context of an error on a very long line is trimmed around the error', () => {
        const e = expectXmlError(
            () => parseXml(`<a>${'x'.repeat(300)}&bad;${'y'.repeat(300)}</a>`),
            'XML_MALFORMED',
            /&bad;/,
        );
        assert.equal(e.column, 304);
        assert.ok(e.context !== undefined && e.context.length <= 82, `context is ${e.context?.length} characters`);
        assert.ok(e.context?.includes('&bad;'));
        assert.ok(e.context?.startsWith('…') && e.context.endsWith('…'));
    });

    test('whitespace between elements is dropped; whitespace-only text of a leaf and mixed content are kept', () => {
        const doc = parseXml('<a>\n  <b> x </b>\n  <c>   </c>\n  <d>one <e/> two</d>\n</a>');
        assert.equal(doc.children.length, 3);
        assert.ok(doc.children.every((c) => typeof c !== 'string'));
        assert.equal(doc.childText('b'), ' x ');
        assert.equal(doc.childText('c'), '   ');
        assert.deepEqual(doc.child('d')?.children.map(String), ['one ', '<e/>', ' two']);
    });

    test('keepWhitespace keeps whitespace between elements', () => {
        const doc = parseXml('<a>\n  <b/>\n</a>', { keepWhitespace: true });
        assert.deepEqual(doc.children.map(String), ['\n  ', '<b/>', '\n']);
    });

    test('Uint8Array input is decoded as UTF-8 (a BOM is skipped)', () => {
        const bytes = new TextEncoder().encode('<a v="é">ü 😀</a>');
        assert.equal(parseXml(bytes).text(), 'ü 😀');
        assert.equal(parseXml(bytes).attr('v'), 'é');
        const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
        assert.equal(parseXml(withBom).name, 'a');
        assert.equal(parseXml(Buffer.from(bytes)).text(), 'ü 😀');
    });

    test('the scope option is applied to the root', () => {
        const doc = parseXml('<presence/>', { scope: { '': 'jabber:client' } });
        assert.deepEqual(doc.scope, { '': 'jabber:client' });
        assert.equal(doc.ns, 'jabber:client');
    });

    test('input that is neither a string nor bytes gives a clear error, not a TypeError from deep inside', () => {
        for (const bad of [null, undefined, 42, {}, ['<a/>']]) {
            let caught: unknown;
            try {
                parseXml(bad as unknown as string);
            } catch (err) {
                caught = err;
            }
            assert.ok(caught instanceof Error, `parseXml(${String(bad)}) did not throw`);
            assert.match(
                caught.message,
                /string|Uint8Array|bytes/i,
                `unclear message for ${JSON.stringify(bad)}: ${caught.message}`,
            );
        }
    });
});

describe('serializedSize', () => {
    test('equals the UTF-8 length of the serialisation, escapes and non-ASCII included', () => {
        const trees = [
            el('a'),
            el(
                'iq',
                { type: 'get', id: 'x"1\'<&>', to: 'hp1@example.com/IEC' },
                el('ping', { xmlns: 'urn:xmpp:ping' }),
            ),
            el('m', {}, 'Tab\there & <there> \r\n', el('b', { v: '\t\n\r' }, 'ünïcödé €𝄞'), 'tail'),
            el('deep', {}, el('x', {}, el('y', {}, el('z', { q: '' }, '')))),
        ];
        for (const t of trees) assert.equal(serializedSize(t), Buffer.byteLength(t.toString()), t.toString());
        let big = el('root');
        for (let i = 0; i < 500; i++) big = el('n', { i }, big, `text ${i} & more`);
        assert.equal(serializedSize(big), Buffer.byteLength(big.toString()));
    });
});
