"""Forward TCP ports of this machine's loopback into a network namespace's loopback.

    python3 nsforward.py NAMESPACE PORT [PORT ...]

The dev cloud's APIs listen on 127.0.0.1 only; the administrator's terminal (a namespace on the LGWAN wire) must
reach them and the bastion both, as an operator's machine does. This process stays in the machine's own
namespace, opens one listener per port inside NAMESPACE (setns on the main thread, before any other thread
exists, then back), and copies each connection to the same port here. It prints "ready" once every port listens.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def listeners(namespace: str, ports: list[int]) -> list[socket.socket]:
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        setns(target)
        try:
            return [socket.create_server(("127.0.0.1", p)) for p in ports]
        finally:
            setns(own)
    finally:
        os.close(own)
        os.close(target)


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def serve(listener: socket.socket, port: int) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


def main() -> int:
    namespace, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    threads = [threading.Thread(target=serve, args=(sock, port), daemon=True)
               for sock, port in zip(listeners(namespace, ports), ports, strict=True)]
    for th in threads:
        th.start()
    print("ready", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
