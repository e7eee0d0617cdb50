"""Run a command and report its wall time, CPU time and peak RSS as JSON on file descriptor FD.

    python -I -S benchmarks/spawn.py FD COMMAND [ARG...]

Linux counts the memory a child shares with its parent before `exec` in the child's
`ru_maxrss`, so a command started directly by a benchmark that holds a large database in
memory would report at least the benchmark's size. Started from this small process, it
reports its own. It exits with the command's exit code; the command is killed if this
process dies (a benchmark's timeout kills this one).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    report_fd, command = int(argv[0]), argv[1:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    report = {
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_kb": usage.ru_maxrss,
    }
    os.write(report_fd, json.dumps(report).encode())
    os.close(report_fd)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
