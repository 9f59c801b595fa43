"""index/milvus_guard.py on a stand-in client (no server): which pymilvus failures become a one-line
StorageUnavailable, which pass through, and the reload-and-retry of a collection a restarted server has not
loaded yet. The real server's crash is in tests/test_milvus_server.py."""

from __future__ import annotations

from typing import Any

import pytest

from index.errors import StorageUnavailable
from index.milvus_guard import guard

pymilvus_exceptions = pytest.importorskip("pymilvus.exceptions")
MilvusException = pymilvus_exceptions.MilvusException


class Flaky:
    """Raises the queued errors, one per call, then answers; records what was called."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[str, str]] = []
        self.kwargs: dict[str, Any] = {}

    def search(self, collection_name: str, **kw: Any) -> str:
        self.calls.append(("search", collection_name))
        self.kwargs = kw
        if self.errors:
            raise self.errors.pop(0)
        return "hits"

    def load_collection(self, name: str, timeout: float | None = None) -> None:
        self.calls.append(("load_collection", name))


def test_an_unreachable_server_is_one_line_naming_it() -> None:
    down = MilvusException(code=2, message="Fail connecting to server on 127.0.0.1:19530, server unavailable")
    client = guard(Flaky(down), "milvus://127.0.0.1:19530")
    with pytest.raises(StorageUnavailable) as err:
        client.search("c_chunks", data=[])
    assert str(err.value).startswith("the Milvus server milvus://127.0.0.1:19530 is unreachable (Fail connecting")
    assert "\n" not in str(err.value)


def test_a_collection_not_loaded_after_a_restart_is_loaded_and_asked_again() -> None:
    inner = Flaky(MilvusException(code=101, message="failed to search: collection not loaded[collection=7]"))
    assert guard(inner, "x").search("c_chunks", data=[]) == "hits"
    assert inner.calls == [("search", "c_chunks"), ("load_collection", "c_chunks"), ("search", "c_chunks")]


def test_other_errors_pass_through_unchanged() -> None:
    refused = MilvusException(code=1100, message="index type not match")
    with pytest.raises(MilvusException) as err:
        guard(Flaky(refused), "x").search("c_chunks", data=[])
    assert err.value is refused


def test_reads_get_the_deadline_unless_the_caller_gave_one() -> None:
    inner = Flaky()
    client = guard(inner, "x", read_timeout=3)
    client.search("c_chunks", data=[])
    assert inner.kwargs == {"data": [], "timeout": 3}
    client.search("c_chunks", data=[], timeout=120)
    assert inner.kwargs == {"data": [], "timeout": 120}
    client.load_collection("c_chunks")  # not a read: no deadline added
    assert inner.calls[-1] == ("load_collection", "c_chunks")


def test_a_deadline_passed_is_unreachable_in_one_line() -> None:
    import grpc

    late = MilvusException(code=grpc.StatusCode.DEADLINE_EXCEEDED, message="Deadline Exceeded")
    with pytest.raises(StorageUnavailable, match=r"^the Milvus server h:1 is unreachable \(Deadline Exceeded\)"):
        guard(Flaky(late), "h:1", read_timeout=3).search("c_chunks", data=[])
