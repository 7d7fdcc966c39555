"""A queue served round-robin by network, then by address within the network.

Waiting password checks are kept here (issuer/sign_in/hash_limiter.py), so that a flood from a few
addresses cannot make everyone else wait behind it: each network with something waiting gets
one turn per round, and within a network each address gets one turn of the network's turns.
256 addresses of one /24 are therefore one turn, not 256, and a login from an address that is
not flooding waits for about one check per active network.

A network or address joins the end of the rotation when its first item arrives, and leaves it
when its last is taken. The queue holds no locks: one event loop owns it.
"""

from collections import OrderedDict, deque
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self) -> None:
        # Rotation order is insertion order: the first entry is served next.
        self._networks: OrderedDict[str, OrderedDict[str, deque[T]]] = OrderedDict()
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def push(self, network: str, address: str, item: T) -> None:
        addresses = self._networks.setdefault(network, OrderedDict())
        addresses.setdefault(address, deque()).append(item)
        self._length += 1

    def pop(self) -> T | None:
        """The next item in turn, or None when empty."""
        if not self._networks:
            return None
        network, addresses = next(iter(self._networks.items()))
        address, items = next(iter(addresses.items()))
        item = items.popleft()
        self._length -= 1
        _to_the_back(addresses, address, keep=bool(items))
        _to_the_back(self._networks, network, keep=bool(addresses))
        return item

    def discard(self, network: str, address: str, item: T) -> bool:
        """Removes a waiting item (its request went away); False if it was not waiting."""
        addresses = self._networks.get(network)
        items = addresses.get(address) if addresses is not None else None
        if addresses is None or items is None or item not in items:
            return False
        items.remove(item)
        self._length -= 1
        if not items:
            del addresses[address]
        if not addresses:
            del self._networks[network]
        return True

    def ahead_of_new(self, network: str, address: str) -> int:
        """How many waiting items would be served before one pushed now for `address`.

        Its address's own queue goes first (m items); every other address of its network gives
        up to m + 1 items before it, and every other network up to as many as the network
        takes turns until then. Never less than the truth; more by at most one turn per
        network for each address of its network, as rounds already under way are counted
        whole."""
        addresses = self._networks.get(network, OrderedDict())
        own = len(addresses.get(address, ()))
        in_network = own + sum(
            min(len(items), own + 1) for other, items in addresses.items() if other != address
        )
        turns = in_network + 1  # the network's turns until the new item is served
        elsewhere = sum(
            min(sum(map(len, others.values())), turns)
            for name, others in self._networks.items()
            if name != network
        )
        return in_network + elsewhere


def _to_the_back(rotation: "OrderedDict[str, T]", key: str, *, keep: bool) -> None:
    if keep:
        rotation.move_to_end(key)
    else:
        del rotation[key]
