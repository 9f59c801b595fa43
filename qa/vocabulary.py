"""Index -> its surface vocabulary {lower-case word: chunks holding it}, for spelling correction.

Computed once per Index object (an Index never changes; a write makes a new one). The Store protocol's
`vocabulary()` gives the same mapping once answering reads through a Store.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping

from index.model import Index

_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_LOCK = threading.Lock()
_LAST: list[tuple[Index, Mapping[str, int]]] = []


def vocabulary_of(texts: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(set(_WORD.findall(t.lower().replace("’", "'"))))
    return dict(counts)


def index_vocabulary(index: Index) -> Mapping[str, int]:
    with _LOCK:
        if _LAST and _LAST[0][0] is index:
            return _LAST[0][1]
    texts = [index.documents[c.doc_id].title + "\n" + index.chunk_text(r) for r, c in enumerate(index.chunks)]
    vocab = vocabulary_of(texts)
    with _LOCK:
        _LAST[:] = [(index, vocab)]
    return vocab
