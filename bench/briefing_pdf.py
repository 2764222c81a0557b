"""The briefing PDF: milliseconds a PDF, one at a time and from a pool of threads.

Usage: python bench/briefing_pdf.py [--rounds 60] [--threads 4]

``handlers.briefing_pdf.document`` for a usual brief (every briefing section, curly quotes
and dashes), as ``GET /briefs/{id}/briefing.pdf`` calls it: in the event loop's default thread
pool. No database and no server: the route only adds the brief's lookup. The raw limit is
fpdf2 itself: the same text laid out in a PDF core font, with no font file to read or embed.
"""

# ruff: noqa: RUF001  (a brief's title holds an en dash and curly quotes, as real ones do)
from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from _common import median, percentile, table
from fpdf import FPDF

from handlers.briefing_pdf import document
from service.briefs import briefing
from service.briefs.models import Brief

URL = "https://learnhub.example/briefs/1"


def usual_brief() -> Brief:
    return Brief(
        id=uuid.UUID(int=1),
        title="Safer sleep – learning from “Baby T”",
        summary_html=(
            "<p>Baby T died at ten weeks while sleeping on a sofa with a parent who had been "
            "drinking. The family were known to health visiting, early help and the police; "
            "each held part of the picture.</p>"
        ),
        learning_points=[
            "Discuss safer sleep at every contact, not only at the first visit.",
            "Ask who else stays overnight, and where the baby sleeps when they do.",
            "Share what you know when a plan is not working: escalate.",
        ],
        background="Baby T lived with his mother and her partner in Sefton.",
        why_it_matters="Sofa sharing is one of the highest risks for a young baby.",
        actions=["Record every safer-sleep conversation.", "Ask who else stays overnight."],
        questions=["How do we ask about sleep arrangements?", "Who visits the home?"],
        resources=[
            {"title": "Safer sleep advice", "url": "https://www.lullabytrust.org.uk/safer-sleep"}
        ],
        source_review="Baby T",
        source_board="Sefton Safeguarding Children Partnership",
        source_published_on=date(2025, 3, 14),
        source_url="https://example.org/reviews/baby-t",
        audience="public",
    )


def core_font_pdf(brief: Brief) -> bytes:
    """fpdf2's own floor: the briefing's text in Helvetica, nothing to read or embed."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    lines = [brief.title, briefing.HOW_TO_USE]
    for section in briefing.sections(brief):
        lines += [section.heading, *section.paragraphs, *section.items]
        if section.html is not None:
            lines += briefing.html_blocks(section.html)
    for line in lines:
        text = line.encode("cp1252", "replace").decode("latin-1")
        pdf.multi_cell(0, 4.8, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def timings(make: Callable[[], bytes], rounds: int, threads: int) -> tuple[list[float], float]:
    """Each call's milliseconds one at a time, then PDFs a second from ``threads`` threads."""
    one: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        make()
        one.append((time.perf_counter() - started) * 1000)
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        for future in [pool.submit(make) for _ in range(rounds)]:
            future.result()
        rate = rounds / (time.perf_counter() - started)
    return one, rate


def main(rounds: int, threads: int) -> None:
    brief = usual_brief()
    started = time.perf_counter()
    first = document(brief, URL)
    first_ms = (time.perf_counter() - started) * 1000
    core_font_pdf(brief)
    ours, ours_rate = timings(lambda: document(brief, URL), rounds, threads)
    floor, floor_rate = timings(lambda: core_font_pdf(brief), rounds, threads)
    print(f"{rounds} PDFs of {len(first):,} bytes; load average {os.getloadavg()[0]:.1f}")
    table(
        ["", "briefing PDF", "fpdf2, core font", "aim"],
        [
            ["first PDF in the process", f"{first_ms:.0f} ms", "", ""],
            [
                "one at a time, median / p95",
                f"{median(ours):.1f} / {percentile(ours, 0.95):.1f} ms",
                f"{median(floor):.1f} / {percentile(floor, 0.95):.1f} ms",
                "< 200 ms",
            ],
            [f"{threads} threads, PDFs a second", f"{ours_rate:.0f}/s", f"{floor_rate:.0f}/s", ""],
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    main(args.rounds, args.threads)
