"""Score the tagger against labelled JSONL files: micro precision, recall and F1 per facet.

Usage: python bench/tagging_eval.py ../shared/gold/dev.jsonl [more.jsonl ...]
Each line: {"id", "source", "text", "themes", "agencies", "boroughs"}. Prints the scores, then
every missed and every false tag per text (false tags with the evidence that produced them).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.tagging import Tagger, TagSuggestions
from service.taxonomy import FACETS, Facet, default_taxonomy


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    lines: list[str] = field(default_factory=list)

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


def read_examples(paths: list[Path]) -> list[dict[str, object]]:
    examples = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                examples.append(json.loads(line))
    return examples


def score(tagger: Tagger, examples: list[dict[str, object]]) -> dict[Facet, Score]:
    scores: dict[Facet, Score] = {facet: Score() for facet in FACETS}
    for example in examples:
        result = tagger.tag(str(example["text"]))
        for facet in FACETS:
            expected = set(example[facet])  # type: ignore[call-overload]
            _score_one(scores[facet], str(example["id"]), facet, expected, result)
    return scores


def _score_one(
    score: Score, text_id: str, facet: Facet, expected: set[str], result: TagSuggestions
) -> None:
    found = {tag.code: tag for tag in getattr(result, facet)}
    score.true_pos += len(expected & found.keys())
    for code in sorted(expected - found.keys()):
        score.false_neg += 1
        score.lines.append(f"  MISS  {text_id}: {facet} {code}")
    for code in sorted(found.keys() - expected):
        score.false_pos += 1
        evidence = ", ".join(repr(e.text) for e in found[code].evidence)
        score.lines.append(f"  FALSE {text_id}: {facet} {code} <- {evidence}")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2])
        return 2
    examples = read_examples([Path(arg) for arg in argv])
    scores = score(Tagger(default_taxonomy()), examples)
    print(f"{len(examples)} texts")
    print(f"{'facet':<10} {'P':>6} {'R':>6} {'F1':>6}  tp fp fn")
    for facet, s in scores.items():
        print(
            f"{facet:<10} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}  "
            f"{s.true_pos} {s.false_pos} {s.false_neg}"
        )
    for facet, s in scores.items():
        if s.lines:
            print(f"\n{facet}:")
            print("\n".join(s.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
