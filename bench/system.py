"""The machine and processes a benchmark ran on: facts for the report, memory of a process (from /proc)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def proc_status_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS (now) or VmHWM (peak) of a process in MiB, from /proc/<pid>/status; NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    mem = proc_meminfo_gb()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    from index.build import library_versions

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "commit": commit.stdout.strip() or "?",
        "versions": library_versions(),
    }


def proc_meminfo_gb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        return float("nan")
