"""Run one task in a child process and report its peak RSS.

`python -m benchmarks.measure TASK JSON-ARGS` starts `python -m benchmarks.tasks TASK ...` as its
only child, waits for it, and reads `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` (KiB on
Linux): the peak resident set of that child alone, because this wrapper has no other children.
It prints the task's result with `max_rss_mb` added.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.tasks", *argv], capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        return proc.returncode
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["max_rss_mb"] = rss_kib / 1024
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
