"""The round-robin queue in front of the password checks: turns by network, then address."""

from hypothesis import given
from hypothesis import strategies as st

from issuer.sign_in.fair_queue import FairQueue

# (network, address) pairs: three networks of three addresses each.
Source = tuple[int, int]
sources = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), max_size=40)


def _queue(pushed: list[Source]) -> FairQueue[object]:
    queue: FairQueue[object] = FairQueue()
    for network, address in pushed:
        queue.push(f"n{network}", f"a{network}.{address}", object())
    return queue


@given(sources, st.tuples(st.integers(0, 3), st.integers(0, 2)))
def test_ahead_of_new_counts_what_is_served_first(pushed: list[Source], new: Source) -> None:
    """`ahead_of_new` (what admission uses) is never less than the items really served before
    a new one, and more by at most one turn per network for each address of its network (the
    rounds already under way): admission errs on the side of a shorter queue."""
    queue = _queue(pushed)
    network, address = f"n{new[0]}", f"a{new[0]}.{new[1]}"
    estimate = queue.ahead_of_new(network, address)
    mine = object()
    queue.push(network, address, mine)
    served = 0
    while queue.pop() is not mine:
        served += 1
    networks = len({n for n, _ in pushed} | {new[0]})
    addresses = len({a for n, a in pushed if n == new[0]} | {new[1]})
    assert served <= estimate <= served + networks * addresses


@given(sources)
def test_every_item_is_served_once_and_the_queue_empties(pushed: list[Source]) -> None:
    queue = _queue(pushed)
    assert len(pushed) == len(queue)
    served = [queue.pop() for _ in pushed]
    assert len(set(map(id, served))) == len(pushed)
    assert 0 == len(queue)
    assert queue.pop() is None


def test_discard_removes_only_the_waiting_item() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("n", "a", "first")
    queue.push("n", "a", "second")
    queue.discard("n", "a", "first")
    queue.discard("n", "a", "never pushed")
    queue.discard("elsewhere", "b", "second")
    assert ["second", None] == [queue.pop(), queue.pop()]
