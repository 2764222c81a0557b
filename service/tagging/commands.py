"""``learnhub tag FILE``, a text's tags, and ``learnhub tag report``, publishers' corrections."""

from __future__ import annotations

from typing import Any

import click

from service.commands import load_settings, run

_SINGULAR = {"themes": "theme", "agencies": "agency", "boroughs": "borough"}


class _TagGroup(click.Group):
    """A group whose default command tags a file: ``learnhub tag FILE`` as before."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["text", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[FILE] [--board BOARD] [--json] | report")


@click.group("tag", cls=_TagGroup)
def tag_group() -> None:
    """The tags the tagger would give a text, or the corrections publishers made to its tags.

    learnhub tag FILE [--board BOARD] [--json] tags the text in FILE (- reads standard input);
    learnhub tag report lists the codes and phrases publishers correct most often.
    """


@tag_group.command("text", hidden=True)
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON of POST /api/v1/tagging/suggest."
)
@click.option(
    "--board",
    metavar="BOARD",
    help="A brief's source board: its boroughs count when the text names none.",
)
def tag_text(file: Any, as_json: bool, board: str | None) -> None:
    """The tags the tagger would give the text in FILE (- reads standard input)."""
    from service.tagging import Tagger
    from service.taxonomy import FACETS, default_taxonomy

    suggestions = Tagger(default_taxonomy()).tag(file.read(), board=board)
    if as_json:
        click.echo(suggestions.model_dump_json(indent=2))
        return
    for facet in FACETS:
        for found in getattr(suggestions, facet):
            quotes = ", ".join(
                f"“{e.text}” at {e.start}" + (" of the board" if e.field == "source.board" else "")
                for e in found.evidence
            )
            how = "suggested" if found.suggested else "also mentioned"
            click.echo(
                f"{_SINGULAR[facet]}: {found.code} ({found.label}), weight {found.weight:.2f}, "
                f"{how}: {quotes}"
            )


@tag_group.command("report")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def tag_report(limit: int) -> None:
    """The codes and phrases publishers correct most often: what to change in the vocabulary."""
    from service import db
    from service.briefs.corrections import CorrectionReport, report

    settings = load_settings()

    async def read() -> CorrectionReport:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine)() as session:
                return await report(session, limit)
        finally:
            await engine.dispose()

    found = run(read())
    if not found.corrections:
        click.echo("No corrections yet: publishers have kept the tagger's suggestions.")
        return
    click.echo(f"{found.corrections} corrections on {found.briefs} briefs.")
    click.echo("\nCodes most often corrected:")
    for code in found.codes:
        click.echo(
            f"  {_SINGULAR[code.facet]} {code.code}: "
            f"added {code.added} times, removed {code.removed} times"
        )
    if found.phrases:
        click.echo("\nPhrases behind them (removed: misled the tagger; added: found, too light):")
        for phrase in found.phrases:
            click.echo(
                f"  “{phrase.phrase}” {phrase.count} times: {_SINGULAR[phrase.facet]} "
                f"{phrase.code} {phrase.action}"
            )
    if found.unfound:
        click.echo("\nAdded where the tagger found no word for it (read these briefs):")
        for item in found.unfound:
            click.echo(
                f"  {_SINGULAR[item.facet]} {item.code}: {len(item.briefs)} briefs "
                f"({', '.join(item.briefs[:5])}{', …' if len(item.briefs) > 5 else ''})"
            )
