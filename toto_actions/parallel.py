"""Work over items on a few threads, results in the items' order: the sync's requests wait on
GitHub, not on the CPU."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel(workers: int, items: Sequence[T], work: Callable[[T], R]) -> list[R]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))
