#!/usr/bin/env python3
"""scripts/test_summary.py BUILDDIR... - one closing line for `make test`:
the results of every meson test run (plain, sanitizers, valgrind) added
up as "N passed, N failed"."""
import json
import sys

passed = failed = skipped = 0
for builddir in sys.argv[1:]:
    try:
        with open(f"{builddir}/meson-logs/testlog.json") as f:
            for line in f:
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        print(f"{builddir}: no test log", file=sys.stderr)
        failed += 1
line = f"{passed} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
