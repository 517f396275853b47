#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A small QMP client (python3 standard library only) for the inner guest.

Usage: qmp.py SOCKET COMMAND [ARGS]

  query-status                   print the run state ("running", ...)
  query-balloon                  print the guest's current RAM size in bytes
                                 (the balloon's "actual" value)
  balloon BYTES [--wait SECS]    set the balloon target to BYTES of guest RAM;
                                 with --wait, wait until "actual" is within 1 MiB
                                 of the target (exit 3 on timeout, printing the
                                 last value seen)
  system_reset                   reset the guest (a reboot; RAM is kept)
  quit                           stop QEMU
  wait-event NAME [--timeout S]  wait for one QMP event, print it as JSON
  hmp COMMAND...                 run a human monitor command ("info registers")
                                 and print its output

BYTES accepts a plain number or a K/M/G suffix (powers of 1024).
Exit status: 0 ok, 1 usage or QMP error, 2 cannot connect, 3 timeout.
"""

import json
import socket
import sys
import time

MIB = 1024 * 1024


class QMPError(Exception):
    """QEMU answered a command with an error."""


class QMP:
    """One QMP session on a unix socket: greeting, qmp_capabilities, then
    commands; events that arrive meanwhile are queued for wait_event()."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        greeting = self._read_msg(timeout)
        if "QMP" not in greeting:
            raise QMPError("no QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def _read_msg(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from QEMU within %.0f s" % timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU closed the QMP socket")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=10.0, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read_msg(timeout)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError("%s: %s" % (name, reply["error"].get("desc", reply["error"])))
            return reply.get("return")

    def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s event within %.0f s" % (name, timeout))
            self.events.append(self._read_msg(left))

    def balloon_actual(self):
        return int(self.cmd("query-balloon")["actual"])

    def balloon(self, target, wait=None, tolerance=MIB):
        """Set the target; with wait (seconds), return the final actual
        value, or raise TimeoutError carrying the last value seen."""
        self.cmd("balloon", value=int(target))
        if wait is None:
            return None
        deadline = time.monotonic() + wait
        while True:
            actual = self.balloon_actual()
            if abs(actual - target) <= tolerance:
                return actual
            if time.monotonic() >= deadline:
                err = TimeoutError("balloon actual %d MiB, target %d MiB after %.0f s"
                                   % (actual // MIB, target // MIB, wait))
                err.actual = actual
                raise err
            time.sleep(0.5)


def parse_bytes(text):
    mult = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().rstrip("B").rstrip("I")
    if text and text[-1] in mult:
        return int(float(text[:-1]) * mult[text[-1]])
    return int(text)


def option(args, name, default):
    if name in args:
        i = args.index(name)
        value = float(args[i + 1])
        del args[i:i + 2]
        return value
    return default


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) < 3 else sys.stdout)
        return 1 if len(argv) < 3 else 0
    path, command, args = argv[1], argv[2], argv[3:]
    try:
        q = QMP(path)
    except (OSError, ConnectionError, TimeoutError, QMPError) as e:
        print("qmp.py: cannot talk QMP on %s: %s" % (path, e), file=sys.stderr)
        return 2
    try:
        if command == "query-balloon":
            print(q.balloon_actual())
        elif command == "balloon" and args:
            wait = option(args, "--wait", None)
            target = parse_bytes(args[0])
            actual = q.balloon(target, wait)
            if actual is not None:
                print(actual)
        elif command == "query-status":
            print(q.cmd("query-status")["status"])
        elif command == "system_reset":
            q.cmd("system_reset")
        elif command == "quit":
            q.cmd("quit")
        elif command == "hmp" and args:
            print(q.cmd("human-monitor-command",
                        **{"command-line": " ".join(args)}), end="")
        elif command == "wait-event" and args:
            timeout = option(args, "--timeout", 30.0)
            print(json.dumps(q.wait_event(args[0], timeout)))
        else:
            print("qmp.py: unknown command or missing argument: %s %s"
                  % (command, " ".join(args)), file=sys.stderr)
            return 1
    except TimeoutError as e:
        if getattr(e, "actual", None) is not None:
            print(e.actual)
        print("qmp.py: timeout: %s" % e, file=sys.stderr)
        return 3
    except (QMPError, ConnectionError, OSError) as e:
        print("qmp.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        q.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
