"""Named crash points for the crash-safety tests: `CITEQA_FAULT=put:committed` makes the process kill itself
(SIGKILL, as a power cut would stop it) when it reaches that point; `CITEQA_FAULT_SLEEP=name:seconds` sleeps
there instead, so a test can kill it from outside. Unset in normal use: one dict lookup per point."""

from __future__ import annotations

import os
import signal
import time


def point(name: str) -> None:
    if os.environ.get("CITEQA_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    spec = os.environ.get("CITEQA_FAULT_SLEEP", "")
    if spec and spec.rsplit(":", 1)[0] == name:
        time.sleep(float(spec.rsplit(":", 1)[1]))
