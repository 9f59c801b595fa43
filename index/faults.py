"""Named crash points for the crash-safety tests: `CITEQA_FAULT=put:committed` makes the process kill itself
(SIGKILL, as a power cut would stop it) when it reaches that point; `CITEQA_FAULT_SLEEP=name:seconds` sleeps
there instead, so a test can kill it from outside. Unset in normal use."""

from __future__ import annotations

import os
import signal
import time

from index.settings import Settings


def point(name: str) -> None:
    s = Settings.from_env()
    if s.fault == name:
        os.kill(os.getpid(), signal.SIGKILL)
    spec = s.fault_sleep
    if spec and spec.rsplit(":", 1)[0] == name:
        time.sleep(float(spec.rsplit(":", 1)[1]))
