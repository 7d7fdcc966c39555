"""Recently verified tokens, so the hot path does no RSA or JSON work for a token seen before."""

from collections import OrderedDict
from dataclasses import dataclass

from jwtkit._key_source import KeySource
from jwtkit._principal import Principal


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    principal: Principal
    kid: str
    keys: KeySource  # the key set of the issuer that signed it


class VerifiedTokenCache:
    """Bounded; an entry is good until its token's `exp` and only while its kid is published.

    Keyed by the whole token string, signature included, so a hit is exactly a token that
    passed full verification before.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        # An OrderedDict: evicting the oldest of a plain dict scans the slots its earlier
        # deletions left, which a flood of never-seen tokens makes long.
        self._entries: OrderedDict[str, VerifiedToken] = OrderedDict()

    def get(self, token: str, now: float) -> VerifiedToken | None:
        entry = self._entries.get(token)
        if entry is not None and now >= entry.principal.expires_at:
            del self._entries[token]
            return None
        return entry

    def put(self, token: str, entry: VerifiedToken) -> None:
        if self.max_entries <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)  # the oldest
        self._entries[token] = entry

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def __len__(self) -> int:
        return len(self._entries)
