"""The Milvus pipeline tests (tests/test_milvus.py: indexing, the gold set against FAISS, uploads and deletes,
resuming, round trips, the BM25 fallback, one-line errors) again on Milvus's own engine at 2.4 and 2.5.

milvus-lite 2.4.x and 2.5.x embed the Milvus server's C++ engine (the 3.x default is a Python rewrite); `make
milvus-versions` installs each in `.milvus-versions/<version>`, and each run puts one first on PYTHONPATH, so the
same client (pymilvus, pinned) meets a 2.4 engine without BM25 functions and a 2.5 engine with them. Milvus 2.3 is
the real standalone server of tests/test_milvus_server.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("2.4.12", "2.5.1")


@pytest.mark.slow
@pytest.mark.milvus
@pytest.mark.parametrize("version", VERSIONS)
def test_the_milvus_pipeline_passes_on(version: str) -> None:
    folder = ROOT / ".milvus-versions" / version
    if not (folder / ".done").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"milvus-lite {version} is missing under CI=true: `make milvus-versions` installs it")
        pytest.skip(f"milvus-lite {version} is not installed: run `make milvus-versions`")
    env = {**os.environ, "PYTHONPATH": str(folder)}
    seen = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m, milvus_lite; print(m.version('milvus-lite'))"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert seen.stdout.strip() == version, seen.stderr[-2000:]  # the engine under test is that version's
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "tests/test_milvus.py"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        cwd=ROOT,
    )
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in tail and " failed" not in tail and " error" not in tail, tail
