"""A Milvus server that is down, restarting or unreachable, said in one line instead of a pymilvus traceback.

    client = guard(MilvusClient(uri=...), "milvus://10.0.0.5:19530", read_timeout=30)
    client.search(...)   # server killed -> StorageUnavailable("the Milvus server milvus://10.0.0.5:19530 is
                         #   unreachable: ... Retry once it is back; nothing acknowledged is lost.")  (HTTP 503)

Every call of the client, and of the connection it hands out (`_get_connection()`: column inserts, segment
info), goes through here. Reads (search, hybrid_search, get, query) get a deadline, `read_timeout` seconds with
pymilvus's retries included, unless the caller gave one: a frozen server (SIGSTOP) otherwise held a question for
pymilvus's own 70 s of retries. Two outcomes change:
- the server cannot be reached (connection refused, gRPC UNAVAILABLE or the deadline) -> StorageUnavailable, which
  the routes answer with 503 and the CLI with one line;
- "collection not loaded": a restarted server (Milvus 2.3.5, SIGKILLed and started again on the same data) answered
  the first search after its restart so; the collection is loaded again and the call made once more.
Every other error (a refused schema, a bad filter) passes through unchanged: the store handles those itself.
"""

from __future__ import annotations

from typing import Any

from index.errors import StorageUnavailable

RELOAD_TIMEOUT = 60  # seconds a reload after a server restart may take (5 documents on 2.3.5: under 2 s)
READS = frozenset({"search", "hybrid_search", "get", "query"})


def guard(client: Any, where: str, read_timeout: float | None = None) -> Any:
    return _Guarded(client, where, read_timeout)


def _unreachable(exc: BaseException) -> bool:
    import grpc
    from pymilvus.exceptions import MilvusUnavailableException

    code = exc.code() if isinstance(exc, grpc.RpcError) else getattr(exc, "code", None)
    if isinstance(exc, MilvusUnavailableException) or code == 2:  # pymilvus's Status.CONNECT_FAILED
        return True
    return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _not_loaded(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == 101 or "not loaded" in str(getattr(exc, "message", ""))


class _Guarded:
    def __init__(self, inner: Any, where: str, read_timeout: float | None) -> None:
        import grpc
        from pymilvus.exceptions import MilvusException

        self._inner, self._where, self._read_timeout = inner, where, read_timeout
        self._milvus_error, self._errors = MilvusException, (MilvusException, grpc.RpcError)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name == "_generate_call_context":
            return attr
        if name == "_get_connection":
            return lambda *a, **kw: _Guarded(self._call(attr, a, kw), self._where, self._read_timeout)
        if name in READS and self._read_timeout is not None:
            return lambda *a, **kw: self._call(attr, a, {"timeout": self._read_timeout, **kw})
        return lambda *a, **kw: self._call(attr, a, kw)

    def _call(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return self._reloading(fn, args, kwargs)
        except self._errors as exc:
            if not _unreachable(exc):
                raise
            raise StorageUnavailable(
                f"the Milvus server {self._where} is unreachable ({_reason(exc)}). Retry once it is back; "
                "nothing acknowledged is lost."
            ) from None

    def _reloading(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`fn(*args, **kwargs)`; once more after loading its collection if the server had not loaded it. The
        client and the connection it hands out both have `load_collection(name, timeout=...)`."""
        try:
            return fn(*args, **kwargs)
        except self._milvus_error as exc:
            name = args[0] if args and isinstance(args[0], str) else kwargs.get("collection_name")
            if not (_not_loaded(exc) and isinstance(name, str)):
                raise
            self._inner.load_collection(name, timeout=RELOAD_TIMEOUT)
            return fn(*args, **kwargs)


def _reason(exc: BaseException) -> str:
    import grpc

    if isinstance(exc, grpc.RpcError):  # its str() begins "<_InactiveRpcError of RPC that terminated with:"
        return f"{exc.code().name}: {exc.details()}"[:200]
    return str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
