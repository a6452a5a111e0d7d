"""`ledger_client.heap.frozen_heap`: what an audit batch freezes; garbage is still freed."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from ledger_client.heap import frozen_heap


class _Node:
    """A gc-tracked object that can sit in a reference cycle and be weakly referenced."""

    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture(autouse=True)
def _unfrozen() -> None:
    assert gc.get_freeze_count() == 0, "some earlier code left the heap frozen"


def test_the_heap_is_frozen_inside_and_thawed_after() -> None:
    with frozen_heap() as keep:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        made_inside = [_Node() for _ in range(1000)]
        keep()  # what the block built and keeps joins the frozen objects
        assert gc.get_freeze_count() >= frozen + 1000
        del made_inside
    assert gc.get_freeze_count() == 0


def test_nested_and_concurrent_holders_thaw_only_when_the_last_exits() -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with frozen_heap():
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    with frozen_heap():
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0  # the outer block still holds it
    assert gc.get_freeze_count() > 0  # the other thread still holds it
    release.set()
    holder.join(5)
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_are_still_collected() -> None:
    with frozen_heap():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None


def test_a_failing_block_still_thaws_the_heap() -> None:
    with pytest.raises(RuntimeError, match="boom"), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
