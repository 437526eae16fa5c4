"""Running an engine command with its output masked: live lines for the user, the tail kept for the message.

Whatever the engine prints passes through `backend.mask` before it reaches a terminal, a CI log or an error
message, whether the output is captured or shown as it comes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from shuyaku.deploy.backend import mask

TAIL_LINES = 200


def _pump(stream: IO[str], sink: IO[str], tail: deque[str], hidden: Sequence[str]) -> None:
    for line in stream:
        line = mask(line, list(hidden))
        tail.append(line)
        sink.write(line)
        sink.flush()


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float | None, capture: bool,
        hidden: Sequence[str] = (), stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cmd` (its standard input from the file `stdin`, else none); with `capture` return its masked output,
    otherwise show it masked as it comes and return the last lines of each stream."""
    with open(stdin or os.devnull, "rb") as source:
        return _run(cmd, cwd=cwd, env=env, timeout=timeout, capture=capture, hidden=hidden, source=source)


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float | None, capture: bool,
         hidden: Sequence[str], source: IO[bytes]) -> subprocess.CompletedProcess[str]:
    if capture:
        done = subprocess.run(cmd, cwd=cwd, env=env, text=True, timeout=timeout, capture_output=True, stdin=source)
        return subprocess.CompletedProcess(cmd, done.returncode, mask(done.stdout or "", list(hidden)),
                                           mask(done.stderr or "", list(hidden)))
    out: deque[str] = deque(maxlen=TAIL_LINES)
    err: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(cmd, cwd=cwd, env=env, text=True, bufsize=1, stdin=source, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, out, hidden), daemon=True),
                 threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, err, hidden), daemon=True)]
        for p in pumps:
            p.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            for p in pumps:
                p.join(timeout=10)
    return subprocess.CompletedProcess(cmd, code, "".join(out), "".join(err))
