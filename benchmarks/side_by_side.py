"""Two checkouts' benchmarks in one run, alternating, so that a change is judged against the code
before it on the same machine at the same time (these machines are noisy: compare the ratios).

    .venv/bin/python -m benchmarks.side_by_side BEFORE_DIR AFTER_DIR [benchmark ...]

Each directory is a checkout with its own `.venv` (scripts/install). Each benchmark runs in the
before checkout, then in the after one, then again in each (two rounds), each time as its own
process with that checkout's interpreter and code; both sets of lines are printed together."""

import subprocess
import sys
from pathlib import Path

from benchmarks import machine

# The paths a layout or refactoring change could slow: signing, the token grants, and the
# verifier's fresh and cached paths through the resource API.
DEFAULT = ("signing", "client_credentials", "password_grant", "refresh_grant", "users_me")
ROUNDS = 2
TIMEOUT = 600  # seconds per benchmark run: each one bounds its own load far below this

_RUN = "import sys; from benchmarks import {name} as b; r = b.run(); " + (
    "figures = [(r[0], r[1] >= r[2])] if isinstance(r, tuple) else r; "
    "[print(('ok   ' if ok else 'MISS ') + line, flush=True) for line, ok in figures]"
)


def run_in(checkout: Path, name: str) -> list[str]:
    python = checkout / ".venv" / "bin" / "python"
    result = subprocess.run(  # our own checkouts' interpreters
        [str(python), "-c", _RUN.format(name=name)],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return [f"FAILED ({result.returncode}): {tail}"]
    return result.stdout.strip().splitlines()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    names = argv[2:] or list(DEFAULT)
    print(f"machine: {machine.describe()}")
    print(f"before: {before}\nafter:  {after}")
    for name in names:
        print(f"\n## {name}", flush=True)
        for round_ in range(1, ROUNDS + 1):
            for label, checkout in (("before", before), ("after ", after)):
                for line in run_in(checkout, name):
                    print(f"{label} #{round_} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
