#!/usr/bin/python3
"""
A real XEP-0323 / XEP-0325 peer for DERlink's interoperability tests: Debian's slixmpp 1.8.3
(python3-slixmpp), as a sensor/control device or as a client. Driven by JSON lines:

  device mode: prints {"event": "online", "jid": ...} once logged in, and
               {"event": "set", "fields": {...}} whenever a control parameter changes.
  client mode: reads commands from stdin and prints one {"id": n, ...} answer per command:
               {"id": 1, "cmd": "readout", "to": JID, "fields": [...], "nodes": [...], "flags": {...}}
               {"id": 2, "cmd": "set", "to": JID, "fields": [[name, type, value], ...], "message": false}
               {"cmd": "quit"}

Run with /usr/bin/python3 (the Debian interpreter that has slixmpp).
"""
import argparse
import asyncio
import json
import logging
import ssl
import sys

from slixmpp import ClientXMPP
from slixmpp.plugins.xep_0323.device import Device as SensorDevice
from slixmpp.plugins.xep_0325.device import Device as ControlDevice


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class HeatPump(SensorDevice):
    """Sensor node Device01 with the fields the tests read."""

    def __init__(self, node_id, control):
        super().__init__(node_id)
        self.control = control
        self._add_field(name="Temperature", typename="numeric", unit="°C")
        self._add_field(name="Power", typename="numeric", unit="W")
        self._add_field(name="Energy", typename="numeric", unit="kWh")
        self._add_field(name="Output", typename="boolean")
        self._add_field(name="Setpoint", typename="numeric", unit="°C")

    def refresh(self, fields):
        self._add_field_momentary_data("Temperature", "20.9", flags={"automaticReadout": "true"})
        self._add_field_momentary_data("Power", "0.0", flags={"automaticReadout": "true"})
        self._add_field_momentary_data("Energy", "1234.500", flags={"automaticReadout": "true"})
        self._add_field_momentary_data("Output", str(self.control._get_field_value("Output")).lower(), flags={"status": "true"})
        self._add_field_momentary_data("Setpoint", str(self.control._get_field_value("Setpoint")), flags={"status": "true"})


class Switch(ControlDevice):
    def __init__(self, node_id):
        super().__init__(node_id)
        self._add_control_field(name="Output", typename="boolean", value="false")
        self._add_control_field(name="Setpoint", typename="double", value="21")

    def _set_field_value(self, name, value):
        super()._set_field_value(name, value)
        emit({"event": "set", "name": name, "value": value})


class Peer(ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.register_plugin("xep_0030")
        # threaded=False: slixmpp's threaded readout sends from a worker thread, which an asyncio
        # loop does not notice until something else wakes it (seconds late).
        self.register_plugin("xep_0323", {"threaded": False})
        self.register_plugin("xep_0325")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", lambda _e: emit({"event": "error", "error": "auth failed"}))
        # slixmpp quirk: the XEP-0323 and XEP-0325 plugins each count from "1" and use the count as
        # the IQ id, so a readout and a set collide ("already a scheduled event IqTimeout_1").
        self.plugin["xep_0325"].last_seqnr = 100000
        if args.ca:
            self.ssl_context = ssl.create_default_context(cafile=args.ca)

    async def on_start(self, _event):
        self.send_presence(ppriority=0)
        await self.get_roster()
        if self.args.mode == "device":
            switch = Switch("Device01")
            self.plugin["xep_0325"].register_node("Device01", switch, commTimeout=10)
            self.plugin["xep_0323"].register_node("Device01", HeatPump("Device01", switch), commTimeout=10)
            self.auto_authorize = True
            self.auto_subscribe = True
        else:
            # Keep a reference: asyncio holds tasks weakly and may destroy an unreferenced one.
            self.reader_task = asyncio.ensure_future(self.read_commands())
        emit({"event": "online", "jid": str(self.boundjid)})

    async def read_commands(self):
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.disconnect()
                return
            cmd = json.loads(line)
            if cmd.get("cmd") == "quit":
                self.disconnect()
                return
            try:
                self.run_command(cmd)
            except Exception as err:  # report, keep the peer alive
                emit({"id": cmd.get("id"), "error": repr(err)})

    def run_command(self, cmd):
        n = cmd.get("id")
        if cmd["cmd"] == "readout":
            collected = {"id": n, "results": [], "fields": []}

            def callback(from_jid, result, nodeId=None, timestamp=None, fields=None, error_msg=None):
                collected["results"].append(result)
                if fields:
                    for f in fields:
                        collected["fields"].append(dict(f, nodeId=nodeId, timestamp=timestamp))
                if error_msg:
                    collected["error"] = error_msg
                if result in ("done", "rejected", "failure", "cancelled"):
                    emit(collected)

            self.plugin["xep_0323"].request_data(
                self.boundjid.full, cmd["to"], callback,
                nodeIds=cmd.get("nodes"), fields=cmd.get("fields"), flags=cmd.get("flags", {"momentary": "true"}))
        elif cmd["cmd"] == "set":
            fields = [tuple(f) for f in cmd["fields"]]
            if cmd.get("message"):
                self.plugin["xep_0325"].set_command(self.boundjid.full, cmd["to"], fields, nodeIds=cmd.get("nodes"))
                emit({"id": n, "sent": True})
            else:
                def callback(from_jid, result, nodeIds=None, fields=None, error_msg=None):
                    emit({"id": n, "result": result, "nodeIds": nodeIds, "fields": fields, "error": error_msg})

                self.plugin["xep_0325"].set_request(self.boundjid.full, cmd["to"], callback, fields, nodeIds=cmd.get("nodes"))
        else:
            emit({"id": n, "error": "unknown command " + str(cmd.get("cmd"))})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["device", "client"])
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--ca")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR, stream=sys.stderr,
                        format="%(levelname)s %(message)s")
    peer = Peer(args)
    peer.connect(address=(args.host, args.port))
    peer.loop.run_until_complete(peer.disconnected)


if __name__ == "__main__":
    main()
