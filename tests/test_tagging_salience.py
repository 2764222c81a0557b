"""How central each tag is (weights, what is suggested), head words near their context, and
boroughs from the source board (issue 20)."""

from __future__ import annotations

import pytest

from service.tagging import BriefText, Tagger, TagSuggestions
from service.tagging.salience import LISTED, POINTS, TITLE, WEAK
from service.taxonomy import FACETS, default_taxonomy

# A page of text about nothing in the taxonomy, so that a brief is long enough for its
# passing mentions to be told from what it is about.
FILLER = " ".join(
    f"Paragraph {n} records the dates of visits and meetings held that month." for n in range(40)
)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(default_taxonomy())


def weights(result: TagSuggestions, facet: str = "themes") -> dict[str, float]:
    return {tag.code: tag.weight for tag in getattr(result, facet)}


def test_a_mention_counts_by_where_it_stands(tagger: Tagger) -> None:
    brief = BriefText.of(
        "Neglect: Child N",
        f"The GP noted home conditions. {FILLER} There was domestic abuse.",
        ["Think about the whole family."],
    )
    result = tagger.tag_brief(brief)
    scores = {tag.code: tag.score for tag in result.themes}
    # Title 2 + "home conditions" 1; once in the summary; once in the learning points (0.6 a
    # mention for whole-family, a theme of how services work).
    assert scores["neglect"] == TITLE + 1.0
    assert scores["domestic-abuse"] == 1.0
    assert scores["whole-family"] == pytest.approx(POINTS * 0.6)
    assert result.themes[0].code == "neglect" and result.themes[0].weight == 1.0


def test_listed_and_weak_mentions_count_half(tagger: Tagger) -> None:
    text = (
        f"Baby R was neglected. {FILLER} Pupils were surveyed on issues such as domestic abuse, "
        "sexual exploitation and substance misuse. Referrals were made."
    )
    result = tagger.tag(text)
    scores = {tag.code: tag.score for tag in result.themes}
    assert scores["domestic-abuse"] == LISTED
    assert scores["exploitation"] == LISTED
    assert scores["thresholds-and-escalation"] == pytest.approx(WEAK * 0.6)
    # A survey topic is not a parental risk: found, offered as also mentioned, not suggested.
    assert "parental-substance-misuse" in result.mentioned("themes")
    assert result.codes("themes") == ["neglect"]


def test_weights_are_traceable_to_the_evidence(tagger: Tagger) -> None:
    text = f"Neglect of the children. {FILLER} Bruising was seen. Neglect again, and neglect."
    result = tagger.tag(text)
    for facet in FACETS:
        tags = getattr(result, facet)
        top = max((tag.score for tag in tags), default=0.0)
        for tag in tags:
            assert 0.0 <= tag.weight <= 1.0
            assert tag.weight == pytest.approx(tag.score / top, abs=0.005)
            if tag.mentions == len(tag.evidence):
                assert tag.score == pytest.approx(sum(e.score for e in tag.evidence))
    assert weights(result) == {"neglect": 1.0, "physical-abuse": pytest.approx(0.33, abs=0.01)}


def test_a_code_in_the_title_is_always_suggested(tagger: Tagger) -> None:
    summary = f"Domestic abuse. {FILLER} " + "Domestic abuse was reported again. " * 6
    brief = BriefText.of("Hidden men: Family M", summary, ["Police attended."])
    result = tagger.tag_brief(brief)
    assert weights(result)["whole-family"] < 0.4
    assert "whole-family" in result.codes("themes")


def test_in_a_short_text_every_code_found_is_suggested(tagger: Tagger) -> None:
    result = tagger.tag("Domestic abuse was known to police. Neglect was noted once by a school.")
    for facet in FACETS:
        assert result.codes(facet) == result.mentioned(facet)


def test_tags_come_heaviest_first(tagger: Tagger) -> None:
    result = tagger.tag("Bruising. Neglect, neglect and neglect.")
    assert [tag.code for tag in result.themes] == ["neglect", "physical-abuse"]


NEAR = [
    ("Mum's low mood had worsened since the birth.", "parental-mental-health", "Mum's low mood"),
    ("Her mother was diagnosed with bipolar disorder.", "parental-mental-health", None),
    ("The father had been drinking heavily that night.", "parental-substance-misuse", None),
    ("Drugs and alcohol were used in the household.", "parental-substance-misuse", None),
    ("The baby was sleeping with his parents on the sofa.", "safer-sleep", None),
    ("Information was shared late with the school.", "information-sharing", None),
    ("The case transferred to another local authority.", "information-sharing", None),
    ("Their relationship was violent from the start.", "domestic-abuse", None),
    ("The father was not seen by any professional.", "whole-family", None),
]


@pytest.mark.parametrize(("text", "code", "evidence"), NEAR)
def test_a_head_word_counts_with_its_context_near(
    tagger: Tagger, text: str, code: str, evidence: str | None
) -> None:
    [tag] = [t for t in tagger.tag(text).themes if t.code == code]
    if evidence is not None:
        assert [e.text for e in tag.evidence] == [evidence]


ALONE = [
    ("The young person's low mood and anxiety were noticed at school.", "parental-mental-health"),
    ("He had been drinking with friends in the park.", "parental-substance-misuse"),
    ("Gangs groom children with offers of drugs and alcohol.", "parental-substance-misuse"),
    ("The information about the referral is on file.", "information-sharing"),
    ("Staff were sleeping in the office during the night shift.", "safer-sleep"),
    # Too far apart: the context is in another sentence.
    ("The mother moved to Bootle. Anxiety about exams kept him home.", "parental-mental-health"),
]


@pytest.mark.parametrize(("text", "code"), ALONE)
def test_a_head_word_alone_counts_for_nothing(tagger: Tagger, text: str, code: str) -> None:
    assert code not in tagger.tag(text).mentioned("themes")


def test_a_negated_head_stays_negated(tagger: Tagger) -> None:
    assert tagger.tag("There were no concerns about the mother's low mood.").themes == []


BOARDS = [
    ("St Helens Safeguarding Children Partnership", ["st-helens"]),
    ("Knowsley Safeguarding Children Board (KSCB)", ["knowsley"]),
    ("Sefton and Liverpool Safeguarding Children Partnership", ["liverpool", "sefton"]),
    ("Devon Children and Families Partnership", []),
    ("Cheshire and Wirral Partnership NHS Foundation Trust", []),
]


@pytest.mark.parametrize(("board", "boroughs"), BOARDS)
def test_the_board_gives_the_borough_when_the_text_names_none(
    tagger: Tagger, board: str, boroughs: list[str]
) -> None:
    result = tagger.tag("Learning: the child's voice was not heard.", board=board)
    assert sorted(result.codes("boroughs")) == boroughs
    for tag in result.boroughs:
        assert tag.suggested
        for evidence in tag.evidence:
            assert evidence.field == "source.board"
            assert board[evidence.start : evidence.end] == evidence.text
    # The board's own words never tag a theme or an agency.
    assert "safeguarding-partnership" not in result.mentioned("agencies")


def test_a_borough_the_text_names_wins_over_the_board(tagger: Tagger) -> None:
    result = tagger.tag(
        "The family lived in Bootle.", board="Wirral Safeguarding Children Partnership"
    )
    assert result.codes("boroughs") == ["sefton"]
    assert result.boroughs[0].evidence[0].field == "text"
