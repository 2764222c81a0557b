"""The Maildir bounces and complaints are delivered to, read a batch at a time.

The MTA writes each message into ``tmp/`` and renames it into ``new/``, so every file in
``new/`` and ``cur/`` is whole. Files are listed once and read by path; one that has gone
meanwhile was taken by another instance and is left to it. Removing a file is the caller's
to do, once what it said has been committed (subscribers.subscriptions.bounces).

Parsing a report costs about half a millisecond of CPU (the email package and flufl.bounce),
most of the time a Maildir of thousands takes. A Maildir holding more than one batch is
parsed in processes of its own (spawned for that read, gone after it), a batch or two ahead
of the one being recorded: the service's event loop stays free for pages and mail, and a
second core does the parsing. Fewer files are parsed on the loop, a few at a time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from service.mail import reports
from service.mail.reports import Report
from service.mail.verp import ReturnPath

SUBDIRS = ("new", "cur")
PROCESSES = 2  # at most; never more than the machine has cores

Read = list[tuple[Path, Report]]


def listing(maildir: Path) -> list[Path]:
    """The Maildir's messages, oldest name first; creates the Maildir (private to the
    service's user, as the mailbox module would) if need be."""
    for sub in ("tmp", *SUBDIRS):
        (maildir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    found = []
    for sub in SUBDIRS:
        with os.scandir(maildir / sub) as entries:
            found += [Path(e.path) for e in entries if e.is_file() and not e.name.startswith(".")]
    return sorted(found, key=lambda p: p.name)


def read_files(paths: Sequence[Path], return_path: ReturnPath | None) -> Read:
    """The report each file that is still there makes, with its path."""
    return [(path, reports.read(raw, return_path)) for path, raw in _raws(paths)]


def _raws(paths: Sequence[Path]) -> list[tuple[Path, bytes]]:
    found = []
    for path in paths:
        try:
            found.append((path, path.read_bytes()))
        except FileNotFoundError:  # taken by another instance since it was listed
            continue
    return found


def remove(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


async def batches(
    maildir: Path, *, return_path: ReturnPath | None, size: int
) -> AsyncGenerator[Read, None]:
    """The Maildir's messages as it is now, read and parsed a batch at a time."""
    paths = await asyncio.to_thread(listing, maildir)
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    if len(chunks) <= 1:
        for chunk in chunks:
            yield await _on_the_loop(chunk, return_path)
        return
    async with _pool(len(chunks)) as (pool, ahead):
        loop = asyncio.get_running_loop()
        pending = [
            loop.run_in_executor(pool, read_files, chunk, return_path) for chunk in chunks[:ahead]
        ]
        try:
            for n in range(len(chunks)):
                found = await pending[n]
                if n + ahead < len(chunks):
                    job = loop.run_in_executor(pool, read_files, chunks[n + ahead], return_path)
                    pending.append(job)
                yield found
        finally:
            for job in pending:
                job.cancel()


async def _on_the_loop(paths: Sequence[Path], return_path: ReturnPath | None) -> Read:
    found = []
    for n, (path, raw) in enumerate(await asyncio.to_thread(_raws, paths), start=1):
        found.append((path, reports.read(raw, return_path)))
        if n % 8 == 0:
            await asyncio.sleep(0)  # parsing is on the event loop: let others run
    return found


@asynccontextmanager
async def _pool(chunks: int) -> AsyncIterator[tuple[Executor, int]]:
    """Processes to parse in, spawned (the service's threads are not copied into them), and
    how many batches to keep ahead."""
    processes = max(1, min(PROCESSES, os.cpu_count() or 1, chunks))
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool, processes
    finally:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
