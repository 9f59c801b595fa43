"""The one progress bar of the command line: a `progress(done, total)` callback (what index.build, qa.sync and
qa.beir report through) drawing a tqdm bar on stderr, opened on the first call, e.g.
    indexing:  42%|████▏     | 2163/5183 [00:31<00:44, 68.2doc/s]"""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    def __init__(self, unit: str, quiet: bool = False, desc: str = "indexing") -> None:
        self.unit, self.quiet, self.desc = unit, quiet, desc
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            # disable=None: drawn on a terminal only, so logs and pipes stay clean
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, disable=self.quiet or None, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
