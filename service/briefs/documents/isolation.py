"""Reading a document in a child process, bounded in time and memory.

The parsers are pure Python and CPU-bound: in a thread they would hold the interpreter's
lock (slowing every request the event loop serves) and could not be stopped. A process can:
it is killed after ``TIMEOUT`` seconds of wall-clock time, and limits itself with
RLIMIT_CPU and RLIMIT_AS before reading, so a hostile file (a loop in its objects, a
decompression bomb) ends as one sentence and never takes the service down with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from service.briefs.documents.limits import TIMEOUT
from service.briefs.documents.reader import READING, Reading
from service.briefs.documents.text import DocumentError

log = logging.getLogger(__name__)
TOO_LONG = f"it took more than {TIMEOUT:.0f} seconds to read, so it was stopped; it may be damaged"
FAILED = "it could not be read: the reader stopped without an answer; it may be damaged"


async def read_isolated(data: bytes, *, seconds: float = TIMEOUT) -> Reading:
    """The document read in a child process; a DocumentError with the sentence if not."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.briefs.documents.child",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(data), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise DocumentError(TOO_LONG) from None
    except BaseException:
        if process.returncode is None:  # cancelled: the child goes too
            process.kill()
            await process.wait()
        raise
    try:
        answer = json.loads(out)
    except ValueError:
        log.warning("document reader exited %s: %s", process.returncode, err[-2000:])
        raise DocumentError(FAILED) from None
    if "error" in answer:
        raise DocumentError(str(answer["error"]))
    return READING.validate_python(answer["reading"])
