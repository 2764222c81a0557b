"""Score the tagger against labelled JSONL files: micro and per-code precision, recall and F1.

Usage: python bench/tagging_eval.py [--no-errors] [--codes] FILE.jsonl [FILE.jsonl ...]
Each line: {"id", "source", "text", "themes", "agencies", "boroughs"} and optionally "board"
(the source board, given to the tagger as a brief's source.board is). Two scores per facet:
"found", every tag the tagger returns, and "suggested", the tags it preselects (the others are
offered as "also mentioned"). --codes adds precision and recall per code; without
--no-errors, every missed and every false tag is listed per text (false tags with the
evidence that produced them). Score held-out files with --no-errors (tests/data/tagging/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.tagging import Tagger, TagSuggestions
from service.taxonomy import FACETS, Facet, default_taxonomy

MODES = ("found", "suggested")


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_pos + self.false_neg
        return self.true_pos / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, expected: set[str], found: set[str]) -> None:
        self.true_pos += len(expected & found)
        self.false_pos += len(found - expected)
        self.false_neg += len(expected - found)


@dataclass
class Report:
    """Per mode and facet, the micro score and one score per code; the error lines."""

    micro: dict[tuple[str, Facet], Score] = field(default_factory=lambda: defaultdict(Score))
    codes: dict[tuple[str, Facet, str], Score] = field(default_factory=lambda: defaultdict(Score))
    lines: dict[Facet, list[str]] = field(default_factory=lambda: defaultdict(list))


def read_examples(paths: list[Path]) -> list[dict[str, object]]:
    examples = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                examples.append(json.loads(line))
    return examples


def found_codes(result: TagSuggestions, facet: Facet, mode: str) -> set[str]:
    return set(result.codes(facet) if mode == "suggested" else result.mentioned(facet))


def score(tagger: Tagger, examples: list[dict[str, object]]) -> Report:
    report = Report()
    for example in examples:
        board = example.get("board")
        result = tagger.tag(str(example["text"]), board=str(board) if board else None)
        for facet in FACETS:
            expected = set(example[facet])  # type: ignore[call-overload]
            for mode in MODES:
                found = found_codes(result, facet, mode)
                report.micro[mode, facet].add(expected, found)
                for code in expected | found:
                    report.codes[mode, facet, code].add(expected & {code}, found & {code})
            _error_lines(report.lines[facet], str(example["id"]), facet, expected, result)
    return report


def _error_lines(
    lines: list[str], text_id: str, facet: Facet, expected: set[str], result: TagSuggestions
) -> None:
    found = {tag.code: tag for tag in getattr(result, facet)}
    for code in sorted(expected - found.keys()):
        lines.append(f"  MISS  {text_id}: {facet} {code}")
    for code in sorted(expected & found.keys()):
        if not found[code].suggested:
            lines.append(f"  ALSO  {text_id}: {facet} {code} (weight {found[code].weight})")
    for code in sorted(found.keys() - expected):
        tag = found[code]
        evidence = ", ".join(repr(e.text) for e in tag.evidence)
        kind = "FALSE" if tag.suggested else "false"
        lines.append(f"  {kind} {text_id}: {facet} {code} ({tag.weight}) <- {evidence}")


def print_report(report: Report, count: int, per_code: bool, errors: bool) -> None:
    print(f"{count} texts")
    print(f"{'facet':<10} {'mode':<10} {'P':>6} {'R':>6} {'F1':>6}   tp  fp  fn")
    for facet in FACETS:
        for mode in MODES:
            s = report.micro[mode, facet]
            print(
                f"{facet:<10} {mode:<10} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} "
                f"{s.true_pos:4} {s.false_pos:3} {s.false_neg:3}"
            )
    if per_code:
        print(f"\n{'code':<28} {'found P':>8} {'R':>6} {'sugg. P':>8} {'R':>6} {'n':>4}")
        for facet in FACETS:
            codes = sorted({c for (m, f, c) in report.codes if f == facet})
            for code in codes:
                f_, s_ = report.codes["found", facet, code], report.codes["suggested", facet, code]
                n = f_.true_pos + f_.false_neg
                print(
                    f"{code:<28} {f_.precision:8.2f} {f_.recall:6.2f} "
                    f"{s_.precision:8.2f} {s_.recall:6.2f} {n:4}"
                )
    if errors:
        for facet in FACETS:
            if report.lines[facet]:
                print(f"\n{facet}:")
                print("\n".join(report.lines[facet]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--no-errors", action="store_true", help="scores only, no text's errors")
    parser.add_argument("--codes", action="store_true", help="precision and recall per code")
    args = parser.parse_args(argv)
    examples = read_examples(args.files)
    report = score(Tagger(default_taxonomy()), examples)
    print_report(report, len(examples), args.codes, not args.no_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
