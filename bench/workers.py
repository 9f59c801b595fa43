"""Each heavy measurement runs in its own Python process (`run_worker`) so its peak memory is its own and an
import (torch) in one does not speed up or slow down another; servers listen on a `free_port`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench.system import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_worker(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run `python -m bench.<module> <args>` and return the JSON object it prints last."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"bench.{module} {' '.join(args)} failed ({out.returncode}):\n{tail}")
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["process_s"] = time.perf_counter() - t0
    return result
