"""Progress bars that can be switched off for scripts (``--quiet``) and tests."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int | None = None, desc: str = "", enabled: bool = True, **kw: Any) -> tqdm:
    return tqdm(
        total=total, desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
        leave=False, **kw,
    )
