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

    /**
     * Puts `text` into a textarea; when it already holds something, asks first (a modal notice with
     * `question` and a `replace` button label) so a preset never silently overwrites the user's work.
     */
    function replaceText(area, text, question, replace) {
        if (!String(area.val() || '').trim()) {
            area.val(text).trigger('change');
            return;
        }
        var ask = RED.notify(question, {
            type: 'warning',
            modal: true,
            fixed: true,
            buttons: [
                { text: RED._('common.label.cancel'), click: function () { ask.close(); } },
                {
                    text: replace,
                    class: 'primary',
                    click: function () {
                        ask.close();
                        area.val(text).trigger('change');
                    }
                }
            ]
        });
    }

    return {
        JID: JID,
        ACCESS: ACCESS,
        list: list,
        replaceText: replaceText,
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

/**
 * LwM2M additions (appended for lwm2m-request, lwm2m-events, spmp-rules and lwm2m-device): a
 * whole-number validator, the endpoint-name pattern, and the pickers that ask the deployed
 * lwm2m-server config node (GET derlink/lwm2m-server/<id>/registrations and .../objects; an
 * undeployed one answers 404). Messages come from each node's catalog: <type>.label.pick-endpoint,
 * <type>.label.pick-path and <type>.pick.* (no-server, no-endpoint, not-deployed, failed, none,
 * not-registered, count).
 */
(function (E) {
    /** An LwM2M endpoint name (Core §6.2.1): 1 to 128 printable ASCII characters, no spaces. */
    var ENDPOINT = /^[\x21-\x7e]{1,128}$/;
    /** An LwM2M path /O, /O/I, /O/I/R or /O/I/R/RI, IDs 0..65534 (the leading slash optional). */
    function isPath(text, least) {
        var body = String(text || '').trim().replace(/^\//, '').replace(/\/$/, '');
        if (body === '') { return false; }
        var parts = body.split('/');
        if (parts.length < (least || 1) || parts.length > 4) { return false; }
        return parts.every(function (p) { return /^(0|[1-9][0-9]{0,4})$/.test(p) && Number(p) < 65535; });
    }
    /** A whole number from min to max, or blank for the default (errors.whole). */
    function whole(ns, min, max) {
        return function (v, opt) {
            if (E.blank(v)) { return true; }
            var n = Number(String(v).trim());
            var ok = isFinite(n) && Math.floor(n) === n && n >= min && n <= max;
            return ok || (opt ? RED._(ns + 'errors.whole', { min: min, max: max }) : false);
        };
    }
    /** The id of the lwm2m-server chosen in `serverInput`, or '' after telling the user to choose one. */
    function chosenServer(node, serverInput) {
        var id = serverInput.val();
        if (!id || id === '_ADD_') {
            RED.notify(node._(node.type + '.pick.no-server'), 'warning');
            return '';
        }
        return id;
    }
    /** Tells why an admin request failed: 404 is a server node that is not deployed (yet). */
    function failed(node, xhr) {
        if (xhr.status === 404) {
            RED.notify(node._(node.type + '.pick.not-deployed'), 'warning');
        } else {
            RED.notify(node._(node.type + '.pick.failed', { error: E.errorText(xhr) }), 'error');
        }
    }
    function get(serverId, what) {
        return $.getJSON('derlink/lwm2m-server/' + encodeURIComponent(serverId) + '/' + what);
    }
    function muted(text) {
        return $('<span>').text(' ' + text).css({ color: 'var(--red-ui-secondary-text-color)', 'font-size': '0.9em' });
    }

    /**
     * Makes `button` offer the endpoints registered at the chosen server in a menu below it. One
     * fills `input`; with `multiple` it is added to the names already there (comma-separated).
     */
    function endpointButton(node, button, input, serverInput, multiple) {
        var title = node._(node.type + '.label.pick-endpoint');
        button.attr('aria-label', title);
        RED.popover.tooltip(button, title);
        button.on('click', function (evt) {
            evt.preventDefault();
            var serverId = chosenServer(node, serverInput);
            if (!serverId) { return; }
            button.prop('disabled', true);
            get(serverId, 'registrations').done(function (data) {
                var regs = (data.registrations || []).slice().sort(function (a, b) {
                    return a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0;
                });
                if (regs.length === 0) {
                    RED.notify(node._(node.type + '.pick.none'), 'warning');
                    return;
                }
                var options = regs.map(function (r) {
                    var label = $('<span>');
                    $('<i>').addClass('fa fa-fw ' + (r.queueMode ? 'fa-moon-o' : 'fa-circle')).css('margin-right', '4px').appendTo(label);
                    $('<span>').text(r.endpoint).appendTo(label);
                    muted(r.address + ':' + r.port + ', LwM2M ' + r.version + (r.queueMode ? ', Q' : '') + ', ' +
                        node._(node.type + '.pick.count', { count: Object.keys(r.objects || {}).length })).appendTo(label);
                    return { value: r.endpoint, label: label };
                });
                RED.popover.menu({
                    options: options,
                    maxHeight: 300,
                    onselect: function (opt) {
                        if (multiple) {
                            var names = E.list(input.val());
                            if (names.indexOf(opt.value) === -1) { names.push(opt.value); }
                            input.val(names.join(', ')).trigger('change');
                        } else {
                            input.val(opt.value).trigger('change');
                        }
                    }
                }).show({ target: button, align: 'left', offset: [button.outerWidth(), 2] });
            }).fail(function (xhr) {
                failed(node, xhr);
            }).always(function () {
                button.prop('disabled', false);
            });
        });
    }

    /** The tree items of one registration: object -> instance (registered) -> resource (definitions). */
    function treeItems(reg, objects, leafOnly) {
        var defs = {};
        (objects || []).forEach(function (o) { defs[o.id] = o; });
        return Object.keys(reg.objects || {}).map(Number).sort(function (a, b) { return a - b; }).map(function (id) {
            var def = defs[id];
            var version = reg.versions && reg.versions[id] ? ' v' + reg.versions[id] : '';
            var object = {
                label: '/' + id + (def ? ' ' + def.name : ''),
                sublabel: (def ? (def.multiple ? 'multiple' : 'single') : '?') + version,
                icon: 'fa fa-cube',
                path: '/' + id,
                pickable: !leafOnly,
                search: ('/' + id + ' ' + (def ? def.name : '')).toLowerCase()
            };
            var instances = reg.objects[id] || [];
            if (instances.length > 0) {
                object.children = instances.slice().sort(function (a, b) { return a - b; }).map(function (i) {
                    var instance = {
                        label: '/' + id + '/' + i,
                        icon: 'fa fa-clone',
                        path: '/' + id + '/' + i,
                        pickable: !leafOnly,
                        search: object.search + ' /' + id + '/' + i
                    };
                    if (def && def.resources.length > 0) {
                        instance.children = def.resources.map(function (r) {
                            var ops = r.operations || '-';
                            return {
                                label: '/' + id + '/' + i + '/' + r.id + ' ' + r.name,
                                sublabel: ops + ' ' + (r.type === 'none' ? '' : r.type) + (r.multiple ? '[]' : '') + (r.units ? ' ' + r.units : ''),
                                icon: ops.indexOf('E') !== -1 ? 'fa fa-play' : ops.indexOf('W') !== -1 ? 'fa fa-pencil' : 'fa fa-eye',
                                path: '/' + id + '/' + i + '/' + r.id,
                                pickable: true,
                                search: (object.search + ' /' + id + '/' + i + '/' + r.id + ' ' + r.name).toLowerCase()
                            };
                        });
                    }
                    return instance;
                });
            }
            return object;
        });
    }

    /**
     * Makes `button` open `panel` (a form-row holding a filter input and a treeList div) with the
     * objects, instances and resources of the endpoint in `endpointInput` as registered at the chosen
     * server; picking an item fills `pathInput`. `leafOnly`: only resources can be picked.
     */
    function pathTree(node, button, panel, serverInput, endpointInput, pathInput, leafOnly) {
        var title = node._(node.type + '.label.pick-path');
        var filter = panel.find('input');
        var tree = panel.find('.derlink-lwm2m-tree');
        button.attr('aria-label', title);
        RED.popover.tooltip(button, title);
        tree.css({ height: '240px', 'margin-top': '4px' }).treeList({ data: [] });
        tree.on('treelistselect', function (evt, item) {
            if (!item || !item.pickable) { return; }
            pathInput.val(item.path).trigger('change');
            if (!item.children) { panel.hide(); }
        });
        filter.on('input', function () {
            var words = String(filter.val() || '').toLowerCase().split(/\s+/).filter(function (w) { return w; });
            tree.treeList('filter', words.length === 0 ? null : function (item) {
                return words.every(function (w) { return item.search.indexOf(w) !== -1; });
            });
        });
        button.on('click', function (evt) {
            evt.preventDefault();
            if (panel.is(':visible')) { panel.hide(); return; }
            var serverId = chosenServer(node, serverInput);
            if (!serverId) { return; }
            var endpoint = String(endpointInput.val() || '').trim();
            if (!endpoint) {
                RED.notify(node._(node.type + '.pick.no-endpoint'), 'warning');
                return;
            }
            button.prop('disabled', true);
            $.when(get(serverId, 'registrations'), get(serverId, 'objects')).done(function (regs, defs) {
                var reg = (regs[0].registrations || []).filter(function (r) { return r.endpoint === endpoint; })[0];
                if (!reg) {
                    RED.notify(node._(node.type + '.pick.not-registered', { endpoint: endpoint }), 'warning');
                    return;
                }
                filter.val('');
                tree.treeList('data', treeItems(reg, defs[0].objects, leafOnly));
                panel.show();
                filter.trigger('focus');
            }).fail(function (xhr) {
                failed(node, xhr);
            }).always(function () {
                button.prop('disabled', false);
            });
        });
    }

    E.LWM2M_ENDPOINT = ENDPOINT;
    E.isLwm2mPath = isPath;
    E.whole = whole;
    E.lwm2mEndpointButton = endpointButton;
    E.lwm2mPathTree = pathTree;
})(window.DERlinkEditor);

/**
 * Green Button additions (greenbutton-out and greenbutton-server): the validators of the settings both
 * nodes share, checked as src/shared/greenbutton-config.ts checks them at run time. Messages come from
 * each node's catalog: <type>.errors.id, .base-url and .timezone.
 */
(function (E) {
    /** Subscription and UsagePoint ids, which go into the resource URIs. */
    var ESPI_ID = /^[A-Za-z0-9_-]{1,64}$/;
    /** An absolute URL of one of `protocols`, with no user, query, fragment or trailing slash. */
    function isBaseUrl(text, protocols) {
        var s = String(text || '').trim();
        try {
            var u = new URL(s);
            return protocols.indexOf(u.protocol) !== -1 && !u.search && !u.hash && !u.username && !u.password &&
                s.slice(-1) !== '/' && s.indexOf('?') === -1 && s.indexOf('#') === -1;
        } catch (err) {
            return false;
        }
    }
    function message(opt, ns, key, subs) {
        return opt ? RED._(ns + 'errors.' + key, subs) : false;
    }
    /** Blank (the default 1), or 1 to 64 letters, digits, _ or - (errors.id). */
    function espiId(ns) {
        return function (v, opt) {
            return E.blank(v) || ESPI_ID.test(String(v).trim()) || message(opt, ns, 'id');
        };
    }
    /** Blank (the Node-RED host's zone), or an IANA time zone the browser knows (errors.timezone). */
    function timeZone(ns) {
        return function (v, opt) {
            if (E.blank(v)) { return true; }
            var s = String(v).trim();
            try {
                Intl.DateTimeFormat(undefined, { timeZone: s });
                return true;
            } catch (err) {
                return message(opt, ns, 'timezone', { zone: s });
            }
        };
    }

    E.isBaseUrl = isBaseUrl;
    E.espiId = espiId;
    E.timeZone = timeZone;
})(window.DERlinkEditor);
