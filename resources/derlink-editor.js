/**
 * Editor helpers shared by the edit dialogs of @derlink/node-red. Node-RED serves this package's
 * resources/ directory at resources/@derlink/node-red/, and each editor file that uses these
 * helpers loads this file with
 *
 *     <script src="resources/@derlink/node-red/derlink-editor.js"></script>
 *
 * The editor loads such scripts before it runs the inline scripts of the module's editor files.
 *
 * Message keys stay in each node's own catalog. Validators run without a node, so they take the
 * full prefix of the node's catalog ('@derlink/node-red/iot-sensor:iot-sensor.') and use
 * <prefix>errors.*; the dialog helpers take the node and use its catalog as node._() does, under
 * the node's type (<type>.pick.*).
 */
window.DERlinkEditor = (function () {
    /** A JID (the local part optional, for a server or component). */
    var JID = /^([^"&'\/:<>@\s]+@)?[^\s@\/]+(\/.+)?$/;

    /** Values separated by white space or commas. */
    function list(v) {
        return String(v || '').split(/[\s,]+/).filter(function (p) { return p !== ''; });
    }
    function blank(v) {
        return v === undefined || v === null || String(v).trim() === '';
    }
    /** The text of a saved JSON list (blank for an empty list); throws where it is not JSON. */
    function parseList(text) {
        return JSON.parse(String(text || '').trim() || '[]');
    }
    /** A validator result: true, or where it fails the message <ns>errors.<key> (false without opt). */
    function check(ok, opt, ns, key, subs) {
        return ok || (opt ? RED._(ns + 'errors.' + key, subs) : false);
    }

    // Validators (as `validate` of a property in defaults; `this` is the node).

    /** A number from min to max, or blank for the default. */
    function num(ns, min, max) {
        return function (v, opt) {
            if (blank(v)) { return true; }
            var n = Number(String(v).trim());
            return check(isFinite(n) && n >= min && n <= max, opt, ns, 'range', { min: min, max: max });
        };
    }
    /** One of values, or blank for the default. */
    function oneOf(ns, values, key) {
        return function (v, opt) {
            return check(!v || values.indexOf(v) !== -1, opt, ns, key);
        };
    }
    /** A JID, or blank (errors.jid). */
    function jid(ns) {
        return function (v, opt) {
            var text = String(v || '').trim();
            return check(!text || JID.test(text), opt, ns, 'jid');
        };
    }
    /**
     * A JSON list that problemOf (list -> {key, subs} or null) finds nothing wrong with; text that
     * is not JSON is errors.<jsonKey>.
     */
    function jsonList(ns, jsonKey, problemOf) {
        return function (v, opt) {
            var parsed;
            try {
                parsed = parseList(v);
            } catch (err) {
                return check(false, opt, ns, jsonKey);
            }
            var problem = problemOf(parsed);
            return !problem || check(false, opt, ns, problem.key, problem.subs);
        };
    }

    /** Who may use a sensor or actuator (property `access`), and the checks of what each needs. */
    var ACCESS = ['roster', 'allowlist', 'anyone', 'provisioning'];
    function access(ns) {
        return function (v, opt) {
            return check(v === undefined || ACCESS.indexOf(v) !== -1, opt, ns, 'access');
        };
    }
    /** With access `allowlist`: at least one entry, each a JID or a domain. */
    function allowlist(ns) {
        return function (v, opt) {
            if (this.access !== 'allowlist') { return true; }
            var parts = list(v);
            if (parts.length === 0) { return check(false, opt, ns, 'allowlist'); }
            for (var i = 0; i < parts.length; i++) {
                if (/[@\/]/.test(parts[i]) && !JID.test(parts[i])) {
                    return check(false, opt, ns, 'allowlist-entry', { value: parts[i] });
                }
            }
            return true;
        };
    }
    /** With access `provisioning`: the provisioning server's JID. */
    function provisioning(ns) {
        return function (v, opt) {
            if (this.access !== 'provisioning') { return true; }
            return check(JID.test(String(v || '').trim()), opt, ns, 'provisioning');
        };
    }

    // Saved lists: JSON text in a hidden input, edited as an editableList.

    /** JSON with sorted keys, to tell whether an edited list says the same as the saved text. */
    function canonical(v) {
        if (Array.isArray(v)) { return '[' + v.map(canonical).join(',') + ']'; }
        if (v && typeof v === 'object') {
            return '{' + Object.keys(v).sort().map(function (k) { return JSON.stringify(k) + ':' + canonical(v[k]); }).join(',') + '}';
        }
        return JSON.stringify(v);
    }
    /** The saved text when it parses to the same list (no change for an unchanged dialog), else the new JSON. */
    function sameOrNew(savedText, items) {
        try {
            if (canonical(parseList(savedText)) === canonical(items)) { return savedText; }
        } catch (err) {
            // Broken saved text: replaced below.
        }
        return JSON.stringify(items);
    }
    /** Adds the saved list's items to an editableList; shows `broken` where the text is no JSON list. */
    function fillList(editableList, savedText, broken) {
        var saved;
        try {
            saved = parseList(savedText);
        } catch (err) {
            saved = null;
        }
        if (Array.isArray(saved)) {
            saved.forEach(function (item) { editableList.editableList('addItem', item && typeof item === 'object' ? item : {}); });
        } else {
            broken.show();
        }
    }
    /**
     * Gives an editableList the height the tray of size `size` has left: the dialog's height less
     * the other visible rows and the list row's own label and tips; at least min.
     */
    function fitList(size, editableList, rowClass, min) {
        var height = size.height;
        $('#dialog-form > div.form-row:not(.' + rowClass + ')').each(function () {
            if ($(this).is(':visible')) { height -= $(this).outerHeight(true); }
        });
        var row = $('#dialog-form > div.' + rowClass);
        var tips = row.children('.form-tips:visible');
        height -= row.children('label').outerHeight(true) + (tips.length ? tips.outerHeight(true) : 0) +
            parseInt(row.css('marginTop'), 10) + parseInt(row.css('marginBottom'), 10);
        editableList.editableList('height', Math.max(min, height));
    }

    // Dialog widgets.

    /**
     * Makes a text input a typedInput drop-down of fixed values, each labelled node._(keyPrefix + value);
     * `multiple` for a comma-separated choice of several.
     */
    function select(node, input, values, keyPrefix, multiple) {
        var type = {
            value: String(input.attr('id')).replace(/^node-(config-)?input-/, ''),
            options: values.map(function (v) {
                return { value: v, label: node._(keyPrefix + v) };
            })
        };
        if (multiple) { type.multiple = true; }
        input.typedInput({ types: [type] });
    }
    /** The message of a failed admin request: the route's error (and code), else the HTTP status. */
    function errorText(xhr) {
        var body = xhr.responseJSON;
        if (body && body.error) { return body.code ? body.error + ' (' + body.code + ')' : body.error; }
        return xhr.responseText || xhr.statusText || String(xhr.status);
    }
    /** The id of the account chosen in the dialog, or '' after telling the user to choose one. */
    function chosenAccount(node) {
        var account = $('#node-input-account').val();
        if (!account || account === '_ADD_') {
            RED.notify(node._(node.type + '.pick.no-account'), 'warning');
            return '';
        }
        return account;
    }
    /** Offers the account's online peers and roster in a small menu below the button. */
    function pickPeer(node, button, input) {
        var account = chosenAccount(node);
        if (!account) { return; }
        var key = node.type + '.pick.';
        button.prop('disabled', true);
        $.getJSON('derlink/xmpp-account/' + encodeURIComponent(account) + '/peers').done(function (data) {
            var options = [];
            var seen = {};
            function add(icon, peer, note) {
                if (!peer || seen[peer]) { return; }
                seen[peer] = true;
                var label = $('<span>');
                $('<i>').addClass('fa fa-fw ' + icon).css('margin-right', '4px').appendTo(label);
                $('<span>').text(peer).appendTo(label);
                if (note) {
                    $('<span>').text(' ' + note).css({ color: 'var(--red-ui-secondary-text-color)', 'font-size': '0.9em' }).appendTo(label);
                }
                options.push({ value: peer, label: label });
            }
            (data.online || []).forEach(function (p) {
                add('fa-circle', p.jid, node._(key + 'online') + (p.show && p.show !== 'online' ? ' (' + p.show + ')' : ''));
            });
            (data.roster || []).forEach(function (r) {
                add('fa-address-book-o', r.jid, r.name || node._(key + 'roster'));
            });
            if (options.length === 0) {
                RED.notify(node._(key + 'none'), 'warning');
                return;
            }
            RED.popover.menu({
                options: options,
                maxHeight: 300,
                onselect: function (opt) { input.val(opt.value).trigger('change'); }
            }).show({ target: button, align: 'left', offset: [button.outerWidth(), 2] });
        }).fail(function (xhr) {
            RED.notify(node._(key + 'failed', { error: errorText(xhr) }), 'error');
        }).always(function () {
            button.prop('disabled', false);
        });
    }
    /** Makes `button` (labelled <type>.label.pick) fill `input` with a peer of the chosen account. */
    function pickButton(node, button, input) {
        button.attr('aria-label', node._(node.type + '.label.pick'));
        RED.popover.tooltip(button, node._(node.type + '.label.pick'));
        button.on('click', function (evt) {
            evt.preventDefault();
            pickPeer(node, button, input);
        });
    }

    return {
        JID: JID,
        ACCESS: ACCESS,
        list: list,
        blank: blank,
        parseList: parseList,
        num: num,
        oneOf: oneOf,
        jid: jid,
        jsonList: jsonList,
        access: access,
        allowlist: allowlist,
        provisioning: provisioning,
        canonical: canonical,
        sameOrNew: sameOrNew,
        fillList: fillList,
        fitList: fitList,
        select: select,
        errorText: errorText,
        chosenAccount: chosenAccount,
        pickPeer: pickPeer,
        pickButton: pickButton
    };
})();
