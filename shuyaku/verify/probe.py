"""The probe `tests/infra/test_migrated.py` runs on a source guest, and how its answers are judged.

One python3 process per source host tries all of that host's cases at once (a refused case costs its whole
timeout, so trying them one after another would take minutes per guest under TCG). Only the standard library
runs on the guest. A case answers one of:
- `connected` (with the first line the peer sent: the guest listener names its host and port),
- `timeout` (nothing came back: a filter dropped it), `unreachable` (a router said no route),
- `reset` (an RST: the packets reached the target's host, which merely had no listener there),
- `proxy-refused` (the proxy would not CONNECT), `error`.
"""

from __future__ import annotations

import json
from typing import Any

from shuyaku.contracts.verify import ConnectionCase

PROBE = r"""
import errno, json, socket, sys, threading
cases, timeout, out = json.loads(sys.argv[1]), float(sys.argv[2]), {}
gate = threading.Semaphore(32)

def line(s, rest):
    try:
        while b"\n" not in rest and len(rest) < 512:
            chunk = s.recv(512)
            if not chunk:
                break
            rest += chunk
    except OSError:
        pass
    return rest.split(b"\n")[0].decode("utf-8", "replace").strip()

def one(c):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        rest = b""
        if c.get("via"):
            s.connect((c["via"]["address"], c["via"]["port"]))
            target = "%s:%d" % (c["address"], c["port"])
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = s.recv(1024)
                if not chunk:
                    break
                head += chunk
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            if status.split(" ")[1:2] != ["200"]:
                out[c["id"]] = ["proxy-refused", status[:200]]
                return
            rest = head.split(b"\r\n\r\n", 1)[1]
        else:
            s.connect((c["address"], c["port"]))
        out[c["id"]] = ["connected", line(s, rest)[:200]]
    except socket.timeout:
        out[c["id"]] = ["timeout", ""]
    except ConnectionRefusedError:
        out[c["id"]] = ["reset", ""]
    except OSError as e:
        gone = e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH)
        out[c["id"]] = ["unreachable" if gone else "error", str(e)[:200]]
    finally:
        s.close()

def guarded(c):
    with gate:
        one(c)

threads = [threading.Thread(target=guarded, args=(c,)) for c in cases]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(json.dumps(out))
"""


def payload(cases: list[ConnectionCase]) -> str:
    """The probe's argument: only what a connection needs."""
    return json.dumps([{"id": c.id, "address": c.address, "port": c.port,
                        "via": c.via.model_dump() if c.via else None} for c in cases])


def parse_answers(stdout: str) -> dict[str, tuple[str, str]]:
    data: Any = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    return {str(k): (str(v[0]), str(v[1])) for k, v in data.items()}


def judge(case: ConnectionCase, outcome: str, detail: str) -> str | None:
    """None when the answer is what the case expects; else why not, in Japanese then English."""
    where = f"{case.source_host} → {case.target} {case.address}:{case.port}" + (" (proxy)" if case.via else "")
    if case.expect == "allow":
        if outcome != "connected":
            return (f"{where}: 計画どおりなら接続できるはずが {outcome} でした {detail} / "
                    f"planned, so it should connect, but got {outcome} {detail}").strip()
        if case.banner and not detail.startswith(case.banner):
            return (f"{where}: 接続先が期待した応答をしません（{detail!r}）/ the peer did not answer as the target's "
                    f"listener does (got {detail!r}, expected {case.banner!r}...)")
        return None
    if outcome in ("timeout", "unreachable"):
        return None
    if outcome == "reset":
        return (f"{where}: RST が返りました。拒否されるべき通信が宛先ホストまで届いています / an RST came back: "
                "the packets reached the target's host, which no filter should let them do")
    return (f"{where}: 拒否されるべき通信が {outcome} でした {detail} / must be refused, but got {outcome} "
            f"{detail}").strip()
