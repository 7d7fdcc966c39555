"""`make bench`: every benchmark in one run, each against its goal, as ratios.

A benchmark's `run()` gives one (line, ratio, goal), or a list of (line, goal met) for one
with several goals (the login flood)."""

import sys

from benchmarks import (
    abuse,
    client_credentials,
    fresh_tokens,
    http_protocols,
    login_flood,
    machine,
    oidc_code_flow,
    password_grant,
    postgres_store,
    refresh_grant,
    signing,
    users_me,
    workers,
)


def main() -> int:
    print(f"machine: {machine.describe()}")
    met = True
    benchmarks = (
        signing,
        password_grant,
        client_credentials,
        refresh_grant,
        oidc_code_flow,
        users_me,
        fresh_tokens,
        workers,
        login_flood,
        abuse,
        http_protocols,
        postgres_store,
    )
    for benchmark in benchmarks:
        result = benchmark.run()
        figures = [(result[0], result[1] >= result[2])] if isinstance(result, tuple) else result
        for line, ok in figures:
            print(("ok   " if ok else "MISS ") + line, flush=True)
            met = met and ok
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
