"""The child process of ``isolation.py``: the document on stdin, JSON on stdout.

``{"reading": {...}}`` or ``{"error": "one sentence"}``; it limits its own CPU time and
address space first, so the limits hold whatever the parsers do.
"""

from __future__ import annotations

import json
import resource
import sys

from service.briefs.documents.limits import CPU_SECONDS, MEMORY
from service.briefs.documents.reader import READING, read
from service.briefs.documents.text import DocumentError

MEMORY_ERROR = "it needs more memory to read than an import may use; it may be damaged"


def _limit() -> None:
    for which, value in ((resource.RLIMIT_CPU, CPU_SECONDS), (resource.RLIMIT_AS, MEMORY)):
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))


def main() -> None:
    _limit()
    data = sys.stdin.buffer.read()
    try:
        answer = {"reading": READING.dump_python(read(data), mode="json")}
    except DocumentError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": MEMORY_ERROR}
    except RecursionError:
        answer = {"error": "it is nested too deeply to read; it may be damaged"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
