"""`make bench`: every benchmark in one run, each against its goal, as ratios."""

import sys

from benchmarks import machine, password_grant, signing, users_me


def main() -> int:
    print(f"machine: {machine.describe()}")
    met = True
    for benchmark in (signing, password_grant, users_me):
        line, ratio, goal = benchmark.run()
        print(("ok   " if ratio >= goal else "MISS ") + line, flush=True)
        met = met and ratio >= goal
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
