"""``learnhub staff list|role|remove``: the console's rules, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.briefs_data import brief_body
from tests.test_cli import invoke, runner

__all__ = ["runner"]


def test_list_change_a_role_and_remove(runner: CliRunner) -> None:
    assert invoke(runner, "staff", "add", "lead@knowsley.gov.uk", "--role", "admin").exit_code == 0
    assert invoke(runner, "staff", "add", "pub@nhs.net", "--role", "publisher").exit_code == 0
    listed = invoke(runner, "staff", "list")
    assert listed.stdout == "lead@knowsley.gov.uk\tadmin\npub@nhs.net\tpublisher\n"

    # The only administrator stays one, and stays.
    last = invoke(runner, "staff", "role", "lead@knowsley.gov.uk", "publisher")
    assert last.exit_code == 1
    assert last.stderr == (
        "learnhub: lead@knowsley.gov.uk is the only administrator: make someone else an "
        "administrator before you make them a publisher\n"
    )
    assert invoke(runner, "staff", "remove", "lead@knowsley.gov.uk").exit_code == 1

    assert invoke(runner, "staff", "role", "PUB@nhs.net", "admin").exit_code == 0
    removed = invoke(runner, "staff", "remove", "lead@knowsley.gov.uk")
    assert removed.exit_code == 0, removed.output
    assert invoke(runner, "staff", "list").stdout == "pub@nhs.net\tadmin\n"
    gone = invoke(runner, "staff", "remove", "lead@knowsley.gov.uk")
    assert gone.exit_code == 1
    assert gone.stderr == "learnhub: lead@knowsley.gov.uk is not a member of staff\n"
    unknown_role = invoke(runner, "staff", "role", "pub@nhs.net", "owner")
    assert unknown_role.exit_code == 2 and "Traceback" not in unknown_role.output
    # Added again: back, as whatever they are added as now.
    back = invoke(runner, "staff", "add", "lead@knowsley.gov.uk", "--role", "publisher")
    assert back.exit_code == 0
    assert invoke(runner, "staff", "list").stdout == (
        "lead@knowsley.gov.uk\tpublisher\npub@nhs.net\tadmin\n"
    )


def test_an_import_is_not_recorded_against_someone_removed(
    runner: CliRunner, tmp_path: Path
) -> None:
    brief = tmp_path / "brief.json"
    brief.write_text(json.dumps(brief_body()))
    assert invoke(runner, "staff", "add", "gone@nhs.net", "--role", "publisher").exit_code == 0
    assert invoke(runner, "staff", "add", "lead@nhs.net", "--role", "admin").exit_code == 0
    assert invoke(runner, "staff", "remove", "gone@nhs.net").exit_code == 0
    refused = invoke(runner, "briefs", "import", str(brief), "--as", "gone@nhs.net")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "learnhub: gone@nhs.net is not a member of staff; add them with learnhub staff add\n"
    )
    imported = invoke(runner, "briefs", "import", str(brief), "--as", "lead@nhs.net")
    assert imported.exit_code == 0, imported.output
