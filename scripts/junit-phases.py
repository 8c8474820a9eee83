#!/usr/bin/env python3
"""Reads a cargo-nextest JUnit report and prints, for scripts/test.sh:
`counts PASSED FAILED`, then one `group NAME ...` line per test group (unit tests, end-to-end
scenarios, zombienet): its number of tests and its wall time, from the start of the run to the
end of its last test (the groups run side by side), with its longest test."""

import sys
import xml.etree.ElementTree as ElementTree
from datetime import datetime


def group_of(suite: str, test: str) -> str:
    if suite.startswith("bittensor-e2e"):
        return "zombienet" if test.startswith("zombienet::") else "end-to-end"
    return "unit"


def main(path: str) -> None:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        print(f"no test report at {path}: {error}")
        print("counts 0 1")
        return
    passed = failed = 0
    groups: dict[str, list[tuple[float, float, str]]] = {}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            if case.find("skipped") is not None:
                continue
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            else:
                passed += 1
            start = datetime.fromisoformat(case.get("timestamp", "").replace("Z", "+00:00"))
            seconds = float(case.get("time", "0"))
            name = case.get("name", "")
            groups.setdefault(group_of(suite.get("name", ""), name), []).append(
                (start.timestamp(), seconds, name)
            )
    run_start = min((start for cases in groups.values() for start, _, _ in cases), default=0.0)
    print(f"counts {passed} {failed}")
    for name in ("unit", "end-to-end", "zombienet"):
        cases = groups.get(name)
        if not cases:
            continue
        wall = max(start + seconds for start, seconds, _ in cases) - run_start
        _, longest_seconds, longest = max(cases, key=lambda case: case[1])
        print(
            f"group {name:<10} {wall:5.0f} s  {len(cases):3d} test{'s' if len(cases) != 1 else ''}, "
            f"longest {longest} "
            f"({longest_seconds:.0f} s)"
        )


if __name__ == "__main__":
    main(sys.argv[1])
