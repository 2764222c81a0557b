"""Importing a review: a 100-page PDF read, repaired, its sections found and its text tagged.

Usage: python bench/import.py [--pages 100] [--rounds 5]
The PDF is made here (tests/documents/review.py: two columns, running headers and footers,
hyphenation, bullets, headings; about 60,000 words). Timed three ways, each the median of
``--rounds``: the whole import as the service runs it (a child process reading the file,
then the tagger on the draft and on the repaired text in this process); the same reading
in this process (no process start); and pypdf's own extract_text of every page, the raw
limit under everything we add. Peak memory: the child's and this process's maximum RSS.
Aim: the whole import under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from service.briefs.documents.isolation import read_isolated  # noqa: E402
from service.briefs.documents.reader import read  # noqa: E402
from service.briefs.documents.service import brief_data  # noqa: E402
from service.tagging import Tagger, brief_text  # noqa: E402
from service.taxonomy import default_taxonomy  # noqa: E402
from tests.documents.review import long_review, review_pdf  # noqa: E402

AIM = 5.0


def timed(work: Callable[[], object], rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    grown, pages, data = args.pages, 0, b""
    while pages < args.pages:  # the filler is measured in paragraphs: grow it to the pages
        data = review_pdf(long_review(grown))
        pages, grown = len(PdfReader(BytesIO(data)).pages), grown + 1
    tagger = Tagger(default_taxonomy())

    def whole() -> object:
        reading = asyncio.run(read_isolated(data))
        draft = brief_data(reading, "review.pdf")
        tagger.tag(brief_text(draft.title, draft.summary, draft.learning_points))
        tagger.tag(reading.text)
        return reading

    def in_process() -> object:
        return read(data)

    def raw() -> object:
        return [page.extract_text() for page in PdfReader(BytesIO(data)).pages]

    whole_s, reading = timed(whole, args.rounds)
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    here_s, _ = timed(in_process, args.rounds)
    raw_s, _ = timed(raw, args.rounds)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = reading.text  # type: ignore[attr-defined]
    words = len(text.split())
    print(f"load average {os.getloadavg()[0]:.2f}; {pages} pages, {len(data) / 1e6:.2f} MB, "
          f"{words:,} words repaired; median of {args.rounds}")  # fmt: skip
    print(f"{'import (child process + tags)':36} {whole_s:6.2f} s   aim < {AIM:.0f} s "
          f"{'met' if whole_s < AIM else 'MISSED'}")  # fmt: skip
    print(f"{'read + repair + sections, in process':36} {here_s:6.2f} s")
    print(f"{'pypdf extract_text alone (raw limit)':36} {raw_s:6.2f} s")
    print(f"peak RSS: the reading child {child_rss:.0f} MB, this process {own_rss:.0f} MB")


if __name__ == "__main__":
    main()
