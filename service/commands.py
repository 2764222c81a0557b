"""What every command shares: settings, running a coroutine, failing in one sentence."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from service.errors import DomainError
from service.settings import Settings

T = TypeVar("T")


class Failure(click.ClickException):
    """A failure the user can act on, printed as ``learnhub: <message>``."""

    def show(self, file: Any = None) -> None:
        click.echo(f"learnhub: {self.format_message()}", err=True)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coroutine)
    except DomainError as exc:
        raise Failure(exc.message) from None
    except (OSError, SQLAlchemyError) as exc:
        first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise Failure(f"the database could not be used ({first_line})") from None


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "LEARNHUB_" + str(error["loc"][0]).upper()
        raise Failure(f"{name} is not valid: {error['msg']}") from None
