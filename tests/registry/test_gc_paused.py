"""The collector paused over a large block, and how it is left."""

from __future__ import annotations

import gc
import weakref

from registry.bulk import gc_paused


def test_a_paused_block_leaves_its_survivors_unwalked_and_frees_its_cycles_later() -> None:
    assert gc.isenabled()
    gc.collect()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            pass
        assert not gc.isenabled(), "an inner block leaves the collector to the outermost"
        rows = [{"n": i} for i in range(100_000)]  # what a report keeps
        cycle: list[object] = []
        cycle.append(cycle)  # garbage in a cycle, made while paused
        del cycle
    assert gc.isenabled()
    # Left without a collection in waiting: the young generation holds none of the block's objects,
    # so the next allocation does not walk the hundred thousand rows.
    assert gc.get_count()[0] < 100
    assert not any(o is rows[0] for o in gc.get_objects(generation=0))
    # The cycle is in the oldest generation and a full collection still frees it.
    assert gc.collect() >= 1
    assert len(rows) == 100_000


def test_a_block_that_keeps_little_frees_its_cycles_on_the_way_out() -> None:
    class Columns:  # stands for a run's arrays, held by a closure over them
        batches: object = None

    def leave_a_cycle() -> weakref.ref[Columns]:
        columns = Columns()

        def batches() -> Columns:
            return columns

        columns.batches = batches  # columns -> batches -> its cell -> columns
        return weakref.ref(columns)

    with gc_paused(collect=True):
        held = leave_a_cycle()
        assert held() is not None  # reference counting alone does not free a cycle
    assert held() is None
    assert gc.isenabled()
