"""Settings: one model, read from LEARNHUB_ variables, with a secret key made on first run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_the_secret_key_is_generated_once_into_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = Settings(_env_file=None).signing_key()  # type: ignore[call-arg]
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert Settings(_env_file=None).signing_key() == first  # type: ignore[call-arg]


def test_variables_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNHUB_PRACTITIONER_DOMAINS", " NHS.net, @merseyside.police.uk ,")
    monkeypatch.setenv("LEARNHUB_WEEKLY_DIGEST_DAY", "Friday")
    monkeypatch.setenv("LEARNHUB_BASE_URL", "https://learning.example.org/")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.practitioner_domains == ("nhs.net", "merseyside.police.uk")
    assert settings.weekly_digest_day == "fri"
    assert settings.base_url == "https://learning.example.org"
    monkeypatch.setenv("LEARNHUB_TRUSTED_PROXIES", "10.0.0.5, 192.168.0.0/24")
    assert [str(n) for n in Settings(_env_file=None).trusted_proxies] == [  # type: ignore[call-arg]
        "10.0.0.5/32",
        "192.168.0.0/24",
    ]
    monkeypatch.setenv("LEARNHUB_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("LEARNHUB_TRUSTED_PROXIES")
    monkeypatch.setenv("LEARNHUB_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    with pytest.raises(ValidationError, match="SQLite needs a file"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("LEARNHUB_DAILY_DIGEST_TIME", "25:00")
    with pytest.raises(ValidationError, match="daily_digest_time"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("url", ["http://intranet.example", "ftp://x.example", "learnhub"])
def test_the_base_url_must_be_https_except_on_this_machine(url: str) -> None:
    with pytest.raises(ValidationError, match="must start with https://"):
        Settings(_env_file=None, base_url=url)  # type: ignore[call-arg]
    assert Settings(_env_file=None, base_url="http://localhost:8080/").base_url == (  # type: ignore[call-arg]
        "http://localhost:8080"
    )
