"""``learnhub briefs import`` and ``learnhub demo load``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.briefs import service
from service.briefs.documents.commands import import_document, is_document
from service.briefs.documents.text import DocumentError
from service.briefs.importer import ImportFileError, read_brief_file
from service.briefs.models import Brief
from service.clock import utcnow
from service.commands import Failure, load_settings, run
from service.errors import DomainError
from service.staff.models import StaffMember
from service.tagging import Tagger
from service.taxonomy import default_taxonomy

DEMO = Path(__file__).resolve().parent.parent / "demo"
PROGRESS_FROM = 10  # files; fewer finish before a bar would be worth drawing


@dataclass
class Outcome:
    path: Path
    brief_id: str | None = None
    problem: str | None = None
    draft: bool = False


@click.group("briefs")
def briefs_group() -> None:
    """Learning briefs."""


@briefs_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--publish", is_flag=True, help="Publish each brief once imported.")
@click.option("--as", "staff_email", metavar="EMAIL", help="Staff member to record as the author.")
def import_briefs(paths: tuple[Path, ...], publish: bool, staff_email: str | None) -> None:
    """Import briefs from Markdown files with a YAML front matter, or from JSON files;
    review documents (PDF, DOCX) become drafts to check in the console.

    Each file is imported whole or not at all; invalid files are skipped with the reason.
    """
    outcomes = run(_import(list(paths), publish, staff_email))
    for outcome in outcomes:
        if outcome.problem:
            click.echo(f"skipped  {outcome.path}: {outcome.problem}")
        elif outcome.draft:
            click.echo(f"imported {outcome.path} -> {outcome.brief_id} (a draft: check it)")
        else:
            click.echo(f"imported {outcome.path} -> {outcome.brief_id}")
    done = sum(1 for o in outcomes if not o.problem)
    click.echo(f"{done} imported, {len(outcomes) - done} skipped.", err=True)
    if done < len(outcomes):
        sys.exit(1)


@click.group("demo")
def demo_group() -> None:
    """Demonstration content."""


@demo_group.command("load")
def demo_load() -> None:
    """Publish the demo briefs, unless the database already holds briefs."""
    settings = load_settings()

    async def count() -> int:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(Brief)) or 0)
        finally:
            await engine.dispose()

    if run(count()):
        click.echo("The database already holds briefs; no demo briefs loaded.", err=True)
        return
    outcomes = run(_import(sorted(DEMO.glob("*.md")), True, None))
    problems = [o for o in outcomes if o.problem]
    if problems:
        raise Failure(f"demo brief {problems[0].path.name} is invalid: {problems[0].problem}")
    click.echo(f"Loaded {len(outcomes)} demo briefs.", err=True)


async def _import(paths: list[Path], publish: bool, staff_email: str | None) -> list[Outcome]:
    settings = load_settings()
    taxonomy = default_taxonomy()
    tagging = service.Tagging(taxonomy=taxonomy, tagger=Tagger(taxonomy))
    engine = db.create_engine(settings.database_url)
    try:
        sessions = db.sessionmaker(engine)
        staff = await _importer(sessions, staff_email)
        with click.progressbar(
            paths, label="Importing", file=sys.stderr, hidden=len(paths) < PROGRESS_FROM
        ) as bar:
            return [await _import_one(sessions, path, publish, staff, tagging) for path in bar]
    finally:
        await engine.dispose()


async def _import_one(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    publish: bool,
    staff: StaffMember,
    tagging: service.Tagging,
) -> Outcome:
    if is_document(path):
        # A review becomes a draft whatever --publish says: its guesses need a person.
        try:
            brief_id = await import_document(sessions, path, staff, tagging)
        except (DocumentError, DomainError) as exc:
            return Outcome(path, problem=str(exc))
        return Outcome(path, brief_id=brief_id, draft=True)
    try:
        data = read_brief_file(path).brief
        # One transaction per file: a file is imported whole, or not at all.
        async with sessions.begin() as session:
            now = utcnow()
            brief = await service.create(session, data, staff=staff, tagging=tagging, now=now)
            if publish:
                await service.publish(session, brief.id, staff=staff, now=now, note="imported")
            return Outcome(path, brief_id=str(brief.id))
    except (ImportFileError, DomainError) as exc:
        return Outcome(path, problem=str(exc))


async def _importer(sessions: async_sessionmaker[AsyncSession], email: str | None) -> StaffMember:
    """The member of staff an import is recorded against: --as, or the command line itself."""
    from service.staff import service as staff_service
    from service.staff.models import Role

    async with sessions.begin() as session:
        address = staff_service.normalise_email(email) if email else staff_service.COMMAND_LINE
        found = await session.scalar(select(StaffMember).where(StaffMember.email == address))
        if found is not None and found.removed_at is None:
            return found
        if email:
            raise Failure(f"{email} is not a member of staff; add them with learnhub staff add")
        return await staff_service.system_account(session, address, Role.admin, utcnow())
