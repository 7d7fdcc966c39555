"""How the services' settings read durations and lists from the environment."""

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """Seconds as a number, or a string such as `90`, `30s`, `15m`, `1h`, `30d`.

    Anything else is returned unchanged for pydantic to reject with its own message.
    """
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def parse_list(value: object) -> object:
    """A comma- or space-separated string as a list; a JSON list is also accepted."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            return value  # pydantic parses JSON lists itself
        return [item for item in re.split(r"[,\s]+", stripped) if item]
    return value
