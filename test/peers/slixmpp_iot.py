#!/usr/bin/python3
"""
A real XEP-0323 / XEP-0325 peer for DERlink's interoperability tests: Debian's slixmpp 1.8.3
(python3-slixmpp), as a sensor/control device or as a client. Driven by JSON lines:

  both modes:  print {"event": "online", "jid": ..., "pid": ...} once logged in.
  device mode: prints {"event": "set", "fields": {...}} whenever a control parameter changes.
               --profile heatpump (default): sensor and control node Device01 for the tests;
               --profile meter (or SLIXMPP_IOT_PROFILE=meter): sensor node Device01 with three
               momentary numeric fields (Voltage V, Current A, Power kW) and no control, for the
               readout benchmark; it leaves when its stdin closes (or on {"cmd": "quit"}), so it
               does not outlive a benchmark that was killed.
  client mode: reads commands from stdin and prints one {"id": n, ...} answer per command:
               {"id": 1, "cmd": "readout", "to": JID, "fields": [...], "nodes": [...], "flags": {...}}
               {"id": 2, "cmd": "set", "to": JID, "fields": [[name, type, value], ...], "message": false}
               {"id": 3, "cmd": "load", "to": JID, "concurrency": C, "warmup": s, "seconds": s,
                "expect": {name: [value, unit], ...}, "cpu_pids": {"device": pid, ...},
                "readout_timeout": s, "nodes": [...], "fields": [...], "flags": {...}}
                 closed-loop readouts for the benchmark (see Peer.load); answers
                 {"id": 3, "completed", "seconds", "latencies_ms": [...],
                  "cpu_seconds": {"client": s, "device": s, ...}, "secure", "version"}
                 or {"id": 3, "error": ...} (a readout failed, timed out or brought other fields).
               {"cmd": "quit"}

Run with /usr/bin/python3 (the Debian interpreter that has slixmpp).
"""
import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import time

import slixmpp
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


class Meter(SensorDevice):
    """Sensor node Device01 with three momentary numeric fields: the benchmark's device, the same
    field set as the DERlink device it is compared with."""

    FIELDS = (("Voltage", "230.1", "V"), ("Current", "5.42", "A"), ("Power", "1.247", "kW"))

    def __init__(self, node_id):
        super().__init__(node_id)
        for name, _value, unit in self.FIELDS:
            self._add_field(name=name, typename="numeric", unit=unit)

    def refresh(self, fields):
        for name, value, _unit in self.FIELDS:
            self._add_field_momentary_data(name, value, flags={"automaticReadout": "true"})


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
        if self.args.mode == "device" and self.args.profile == "meter":
            self.plugin["xep_0323"].register_node("Device01", Meter("Device01"), commTimeout=10)
            self.reader_task = asyncio.ensure_future(self.read_commands())
        elif self.args.mode == "device":
            switch = Switch("Device01")
            self.plugin["xep_0325"].register_node("Device01", switch, commTimeout=10)
            self.plugin["xep_0323"].register_node("Device01", HeatPump("Device01", switch), commTimeout=10)
            self.auto_authorize = True
            self.auto_subscribe = True
        else:
            # Keep a reference: asyncio holds tasks weakly and may destroy an unreferenced one.
            self.reader_task = asyncio.ensure_future(self.read_commands())
        emit({"event": "online", "jid": str(self.boundjid), "pid": os.getpid()})

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
        elif cmd["cmd"] == "load":
            # Keep a reference, as for the reader task.
            self.load_task = asyncio.ensure_future(self.run_load(cmd))
        else:
            emit({"id": n, "error": "unknown command " + str(cmd.get("cmd"))})

    async def run_load(self, cmd):
        n = cmd.get("id")
        limit = float(cmd.get("warmup", 0)) + float(cmd["seconds"]) + 30
        try:
            answer = await asyncio.wait_for(self.load(cmd), limit)
        except asyncio.TimeoutError:
            answer = {"error": "load did not finish within %s s" % limit}
        except Exception as err:  # report, keep the peer alive
            answer = {"error": repr(err)}
        emit(dict(answer, id=n))

    async def load(self, cmd):
        """Closed loop, as test/bench/lib.ts runLoad: `concurrency` workers, each starting its next
        readout when one is done, for `warmup` seconds unrecorded and then `seconds` recorded.
        Counts the readouts that end inside the window and the latencies of those that also start
        in it; CPU (utime + stime) of this process and of `cpu_pids` is taken at the window's
        edges. Every readout must bring exactly the fields of `expect` ({name: [value, unit]});
        the first one that does not, fails or takes longer than `readout_timeout` stops the load."""
        loop = asyncio.get_running_loop()
        concurrency = max(1, int(cmd.get("concurrency", 1)))
        warmup = float(cmd.get("warmup", 0))
        seconds = float(cmd["seconds"])
        expect = cmd.get("expect")
        readout_timeout = float(cmd.get("readout_timeout", 10))
        flags = cmd.get("flags", {"momentary": "true"})
        pids = {name: int(pid) for name, pid in cmd.get("cpu_pids", {}).items()}
        latencies = []
        problems = []
        state = {"phase": "warmup", "start": None, "end": float("inf"), "completed": 0}
        cpu = {}

        def readout():
            done = loop.create_future()
            got = []

            def callback(from_jid, result, nodeId=None, timestamp=None, fields=None, error_msg=None):
                if done.done():
                    return
                if fields:
                    got.extend(fields)
                if result == "done":
                    done.set_result(got)
                elif result in ("rejected", "failure", "cancelled"):
                    done.set_exception(RuntimeError("readout %s: %s" % (result, error_msg)))

            def expire():
                if not done.done():
                    done.set_exception(RuntimeError("readout not done within %s s" % readout_timeout))

            timer = loop.call_later(readout_timeout, expire)
            done.add_done_callback(lambda _f: timer.cancel())
            # All momentary fields, none named: slixmpp's device answers only the last of several named fields.
            self.plugin["xep_0323"].request_data(
                self.boundjid.full, cmd["to"], callback,
                nodeIds=cmd.get("nodes"), fields=cmd.get("fields"), flags=dict(flags))
            return done

        def wrong(fields):
            if expect is None:
                return None
            seen = {f.get("name"): [f.get("value"), f.get("unit")] for f in fields}
            if len(fields) != len(expect) or seen != expect:
                return "a readout brought %s, not %s" % (json.dumps(seen), json.dumps(expect))
            return None

        async def worker():
            while state["phase"] != "stop" and not problems:
                t0 = time.perf_counter()
                try:
                    fields = await readout()
                except Exception as err:
                    problems.append(str(err))
                    return
                t1 = time.perf_counter()
                problem = wrong(fields)
                if problem:
                    problems.append(problem)
                    return
                start = state["start"]
                if start is not None and start <= t1 <= state["end"]:
                    state["completed"] += 1
                    if t0 >= start:
                        latencies.append((t1 - t0) * 1000)

        def cpu_now():
            out = {"client": time.process_time()}
            for name, pid in pids.items():
                out[name] = proc_cpu_seconds(pid)
            return out

        def open_window():
            cpu["start"] = cpu_now()
            state["start"] = time.perf_counter()
            state["phase"] = "measure"

        def close_window():
            state["end"] = time.perf_counter()
            cpu["end"] = cpu_now()
            state["phase"] = "stop"

        timers = [loop.call_later(warmup, open_window), loop.call_later(warmup + seconds, close_window)]
        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            for timer in timers:
                timer.cancel()
        if problems:
            return {"error": problems[0], "completed": state["completed"]}
        if "end" not in cpu:
            return {"error": "the load stopped before its window closed"}
        return {
            "completed": state["completed"],
            "seconds": state["end"] - state["start"],
            "latencies_ms": [round(x, 4) for x in latencies],
            "cpu_seconds": {k: cpu["end"][k] - cpu["start"][k] for k in cpu["end"]},
            "secure": self.transport is not None and self.transport.get_extra_info("ssl_object") is not None,
            "version": slixmpp.__version__,
        }


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    # The command name (field 2) is in parentheses and may hold spaces; utime and stime are fields 14, 15.
    rest = stat[stat.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["device", "client"])
    # Also from the environment: test/support/slixmpp.ts starts the peer with a fixed argument list.
    parser.add_argument("--profile", choices=["heatpump", "meter"],
                        default=os.environ.get("SLIXMPP_IOT_PROFILE", "heatpump"))
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
