"""The ``learnhub`` command. Errors end as one sentence on stderr, never a traceback."""

from __future__ import annotations

import gc
import logging
import sys

import click

from digests.commands import digest_group
from practice.commands import retention_group
from service.briefs.commands import briefs_group, demo_group
from service.commands import Failure, load_settings, run
from service.staff.commands import staff_group
from service.tagging.commands import tag_group
from service.webhooks.commands import webhooks_group
from subscribers.subscriptions.commands import bounces_group


@click.group()
@click.version_option(package_name="learnhub")
def cli() -> None:
    """Learnhub: safeguarding case-review learning for Merseyside practitioners."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every step at INFO; service.migrate logs what changed instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # fpdf2's font subsetting narrates ~75 INFO lines a briefing PDF through fontTools.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    # APScheduler says at INFO when it adds, runs and finishes each job (a dozen lines at
    # start-up, then some every hour); our jobs log what they did instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # flufl.bounce names each of its seventeen detectors at INFO, for every bounce it reads.
    logging.getLogger("flufl.bounce").setLevel(logging.WARNING)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run the web service, event dispatcher, mail sender and scheduler."""
    from aiohttp import web

    from handlers.access_log import AccessLogger
    from learnhub.app import create_app
    from service.migrate import is_current, upgrade

    settings = load_settings()
    if settings.is_sqlite:
        run(upgrade(settings.database_url))
    elif not run(is_current(settings.database_url)):
        raise Failure("the database schema is not up to date: run learnhub db upgrade first")
    app = create_app(settings)
    # Everything imported and built so far lives as long as the process: keep it out of the
    # collector's full passes, which otherwise walk ~110,000 such objects every time.
    gc.freeze()
    # run_app turns SIGTERM and SIGINT into a graceful shutdown: cleanup contexts close.
    log = logging.getLogger("learnhub")

    def listening(_: str) -> None:  # once the port is open (run_app's banner, in one line)
        log.info("listening on http://%s:%s (Ctrl+C stops it)", host, port)

    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=10,
        print=listening,
        access_log_class=AccessLogger,
    )


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied."""
    from service.migrate import upgrade

    settings = load_settings()
    run(upgrade(settings.database_url))
    click.echo("The database schema is up to date.")


cli.add_command(staff_group)
cli.add_command(tag_group)
cli.add_command(briefs_group)
cli.add_command(demo_group)
cli.add_command(digest_group)
cli.add_command(webhooks_group)
cli.add_command(bounces_group)
cli.add_command(retention_group)


def main() -> None:
    try:
        cli.main(prog_name="learnhub", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: a sentence, never a traceback
        logging.getLogger("learnhub").debug("unexpected error", exc_info=True)
        click.echo(f"learnhub: unexpected error ({type(exc).__name__}: {exc})", err=True)
        sys.exit(1)
