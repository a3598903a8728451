"""Run the Python end-to-end tests (tests/integration/test_*.py).

Each module's test_* functions take one argument, the shared PostgreSQL
server (harness.Postgres); they build their own harness.Env.  Prints one
PASS/FAIL line per test, tracebacks for failures, and the closing line
"python: N passed, M failed" that tests/run reads.  IW_TEST=substring runs
only matching tests.
"""

import glob
import importlib.util
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    pattern = os.environ.get("IW_TEST", "")
    tests = []
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        mod = load(path)
        for name in sorted(dir(mod)):
            fn = getattr(mod, name)
            if name.startswith("test_") and callable(fn):
                full = "%s.%s" % (mod.__name__, name)
                if pattern in full:
                    tests.append((full, fn))
    passed = failed = 0
    if not tests:
        print("python: 0 passed, 0 failed")
        return 0
    pg = harness.Postgres()
    try:
        for full, fn in tests:
            t0 = time.time()
            try:
                fn(pg)
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)" % (full, time.time() - t0))
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print("PASS %s (%.1fs)" % (full, time.time() - t0))
            sys.stdout.flush()
    finally:
        pg.stop()
    print("python: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
