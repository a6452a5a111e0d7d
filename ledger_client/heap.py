"""Keeping CPython's cyclic garbage collector off objects that stay alive.

A full (generation 2) collection walks every object the collector tracks: the
modules of web3 and pydantic, the files of a batch, the results built so far.
Work that allocates many objects triggers such collections every few hundred
thousand allocations, so on a large heap they take a share of the time that
grows with the heap (measured on the audit batch: see `frozen_heap`).
`gc.freeze` moves every object that exists now to a permanent generation that
collections skip; objects made afterwards are collected as usual, so garbage
made by the work itself, cycles included, is still freed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["frozen_heap"]

_lock = threading.Lock()
_holders = 0


@contextmanager
def frozen_heap() -> Iterator[Callable[[], None]]:
    """Freeze the heap as it is for a block (nested or concurrent: until the last one exits).

    Yields `gc.freeze`: call it to add what the block has built and will keep
    (e.g. the results of each chunk). On exit the frozen objects go back to the
    oldest generation; garbage among them is freed by a later full collection.
    A process forked inside inherits the frozen heap, so its collections do not
    touch (and copy) the parent's pages.
    """
    global _holders
    with _lock:
        _holders += 1
        gc.freeze()
    try:
        yield gc.freeze
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.unfreeze()
