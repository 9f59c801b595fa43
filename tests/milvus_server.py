"""A real Milvus standalone server for tests and benchmarks: the `milvus` PyPI package's `milvus-server`
(Milvus 2.3.x with embedded etcd), on free ports, every component registered at 127.0.0.1.

    server = start(tmp / "milvus")      # about 40 s on 2 cores
    server.uri                          # "http://127.0.0.1:40123"
    server.kill()                       # a crash: SIGKILL to the whole server
    server.stop()

By default each component announces "the first unicastable address" of the machine and the others dial it;
`<component>.ip=127.0.0.1` keeps that traffic on loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
PORTS = (
    "etcd_port",
    "root_coord_port",
    "proxy_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)


def executable() -> str | None:
    """`milvus-server` beside this Python (the venv), else on PATH; None when the package is missing."""
    return shutil.which("milvus-server", path=str(Path(sys.executable).parent)) or shutil.which("milvus-server")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def command(exe: str, data: Path, ports: dict[str, int]) -> list[str]:
    cmd = [exe, "--data", str(data)]
    for key, port in ports.items():
        cmd += [f"--{key.replace('_', '-')}", str(port)]
    for c in COMPONENTS:
        cmd += ["--extra-config", f"{c}.ip=127.0.0.1"]
    return cmd


@dataclass
class MilvusServer:
    uri: str
    proc: subprocess.Popen
    data: Path
    cmd: list[str]  # the launcher command, every port fixed in it: `restart` runs it again
    ports: list[int]

    def log_tail(self, chars: int = 3000) -> str:
        logs = self.data / "logs"
        parts = (
            [p.read_text(errors="replace")[-chars:] for p in sorted(logs.glob("milvus-std*.log"))]
            if logs.is_dir()
            else []
        )
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGINT to the launcher's process group (it stops the server), SIGKILL after 30 s."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the whole server, as a crash or the kernel's OOM killer would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def restart(self, timeout: float = 240, ports_free: float = 180) -> None:
        """Start the server again after `kill`, on the same ports and data. The `milvus` launcher checks each port
        by binding it without SO_REUSEADDR and, when that fails, silently takes the next free one: after a crash
        with clients connected the dead server's sockets sit in TIME_WAIT for about 60 s, and a restart within
        that time listened on every port + 1, where no client looks. So it waits until every port binds."""
        deadline = time.monotonic() + ports_free
        while taken := [p for p in self.ports if not _bindable(p)]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ports {taken} still taken after {ports_free:.0f}s")
            time.sleep(1)
        _wait_peer_port_free(ports_free)
        with open(self.data / "launcher.log", "a") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        _wait_ready(self, timeout)


def _bindable(port: int, reuse: bool = False) -> bool:
    """Whether `port` binds on 127.0.0.1; without `reuse` (SO_REUSEADDR) as the `milvus` launcher binds it, where a
    socket in TIME_WAIT blocks it."""
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


ETCD_PEER_PORT = 2380  # embedded etcd's peer port: fixed, so one milvus-server per machine at a time


def _wait_peer_port_free(timeout: float) -> None:
    """Wait while another milvus-server on this machine holds embedded etcd's fixed peer port."""
    deadline = time.monotonic() + timeout
    while not _bindable(ETCD_PEER_PORT, reuse=True):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"port {ETCD_PEER_PORT} (embedded etcd) stayed taken for {timeout:.0f}s: "
                "another milvus-server runs on this machine"
            )
        time.sleep(2)


def start(data: Path, timeout: float = 240, wait_for_other: float = 900) -> MilvusServer:
    """`wait_for_other`: how long to wait for another milvus-server on this machine to stop first."""
    exe = executable()
    if exe is None:
        raise FileNotFoundError("milvus-server not found: pip install 'citeqa[dev]' (the `milvus` package)")
    _wait_peer_port_free(wait_for_other)
    data.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(PORTS, free_ports(len(PORTS))))
    cmd = command(exe, data, ports)
    out = open(data / "launcher.log", "w")  # noqa: SIM115 - the child keeps writing to it
    proc = subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out.close()
    server = MilvusServer(f"http://127.0.0.1:{ports['proxy_port']}", proc, data, cmd, list(ports.values()))
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: MilvusServer, timeout: float) -> None:
    from pymilvus import MilvusClient

    port = int(server.uri.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"milvus-server exited with {server.proc.returncode}:\n{server.log_tail()}")
        with socket.socket() as s:
            up = s.connect_ex(("127.0.0.1", port)) == 0
        if up:
            try:
                client = MilvusClient(uri=server.uri, timeout=10)
                client.list_collections()
                client.close()
                return
            except Exception as exc:  # the proxy listens before the coordinators are ready
                last = exc
        time.sleep(1)
    raise TimeoutError(f"milvus-server not ready in {timeout:.0f}s (last: {last!r}):\n{server.log_tail()}")


class Counting:
    """Wraps a MilvusClient and counts the calls that reach the server, per method."""

    CALLS = ("search", "hybrid_search", "get", "query", "query_iterator", "insert", "upsert", "delete", "flush")

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str):  # noqa: ANN204
        attr = getattr(self.inner, name)
        if name == "_get_connection":  # the store's column inserts go through the connection: batch_insert
            return lambda *a, **kw: _CountingConnection(attr(*a, **kw), self.calls)
        if name not in self.CALLS:
            return attr

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


class _CountingConnection:
    """The client's connection, counting its column inserts (index/milvus_insert.py) as "insert"."""

    def __init__(self, inner: object, calls: list[str]) -> None:
        self.inner, self.calls = inner, calls

    def __getattr__(self, name: str):  # noqa: ANN204
        attr = getattr(self.inner, name)
        if name != "batch_insert":
            return attr

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self.calls.append("insert")
            return attr(*args, **kwargs)

        return counted
