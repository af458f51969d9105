"""A pytest plugin for `make bench`: appends each test's phases and seconds to the JSON-lines file
named by $TL_KIT_TEST_TIMES, so the benchmark can say what each part of `make test` costs
(loaded with `PYTEST_ADDOPTS="-p tests.timing"`; without the variable it writes nothing)."""

from __future__ import annotations

import json
import os


def pytest_runtest_logreport(report) -> None:
    path = os.environ.get("TL_KIT_TEST_TIMES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"nodeid": report.nodeid, "when": report.when, "seconds": report.duration,
                                  "backend": os.environ.get("KERAS_BACKEND")}) + "\n")
