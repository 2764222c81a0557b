"""Tagging speed: briefs of about 1,000 words per second on one core, against a raw baseline.

Usage: python bench/tagging.py [--briefs N]
Texts are built from the seed response and the gold excerpts, shuffled by sentence. The baseline
is the least any phrase tagger must do: one precompiled alternation of every phrase's plain
words scanned over the lowercased text, with no inflections, negation or evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.tagging import Tagger  # noqa: E402
from service.taxonomy import FACETS, default_taxonomy  # noqa: E402

SHARED = ROOT.parent / "shared"
TARGET_WORDS = 1000


def sentences() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in (SHARED / "seed").glob("*.txt")]
    for path in [SHARED / "gold" / "dev.jsonl", *(ROOT / "tests/data/tagging").glob("*.jsonl")]:
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    found = [s.strip() for text in texts for s in re.split(r"(?<=[.!?])\s+", text)]
    return [s for s in found if len(s.split()) > 3]


def build_briefs(count: int, seed: int = 7) -> list[str]:
    pool = sentences()
    rng = random.Random(seed)  # noqa: S311 - reproducible sample texts, not secrets
    briefs = []
    for _ in range(count):
        chosen: list[str] = []
        while sum(len(s.split()) for s in chosen) < TARGET_WORDS:
            chosen.append(rng.choice(pool))
        briefs.append(" ".join(chosen))
    return briefs


def baseline() -> Callable[[str], object]:
    words = {
        re.sub(r"\[[^\]]*\]|\*", "", phrase.removeprefix("!")).lower()
        for facet in FACETS
        for term in default_taxonomy().terms(facet)
        for phrase in term.phrases
    }
    ordered = sorted((w for w in words if w), key=len, reverse=True)
    regex = re.compile("|".join(re.escape(w) for w in ordered))
    return lambda text: regex.findall(text.lower())


def measure(name: str, run: Callable[[str], object], briefs: list[str], words: int) -> float:
    """Briefs per second of wall-clock time; also per second of this process's CPU time,
    which other work on a shared machine inflates far less."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for text in briefs:
        run(text)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    rate = len(briefs) / elapsed
    print(
        f"{name:<28} {rate:9.0f} briefs/s  {words / elapsed:11.0f} words/s"
        f"  {len(briefs) / cpu:9.0f} briefs/s of CPU"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--briefs", type=int, default=1000)
    args = parser.parse_args()
    briefs = build_briefs(args.briefs)
    words = sum(len(text.split()) for text in briefs)
    print(f"{len(briefs)} briefs, {words / len(briefs):.0f} words each on average, one core")
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    started = time.perf_counter()
    tagger = Tagger(default_taxonomy())
    print(f"compile: {1000 * (time.perf_counter() - started):.0f} ms")
    rate = measure("tagger (Tagger.tag)", tagger.tag, briefs, words)
    measure("baseline (lower + regex)", baseline(), briefs, words)
    print(f"target 500 briefs/s: {'met' if rate >= 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
