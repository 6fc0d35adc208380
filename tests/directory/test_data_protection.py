"""A partner file's [data_protection] table: read as written, defaults when absent, each
mistake refused with the file and the field named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.directory.files import read_partner
from gateway.domain.errors import DefinitionInvalid
from gateway.domain.partners import DataProtection
from tests.conftest import ROOT

SG = (ROOT / "partners" / "SG.toml").read_text()


def sg_with(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "SG.toml"
    path.write_text(SG + "\n[data_protection]\n" + table)
    return path


def test_the_eu_requires_consent_and_keeps_raw_messages_400_days() -> None:
    """The shipped EU file. Result: consent required, adequate, retention 400 days."""
    eu = read_partner(ROOT / "partners" / "EU.toml", ()).partner
    assert eu.data_protection == DataProtection(True, True, timedelta(days=400))


def test_a_file_without_the_table_asks_no_consent_is_adequate_and_keeps_everything() -> None:
    """SG's file has no [data_protection]. Result: the defaults: no consent, adequate, no
    retention."""
    sg = read_partner(ROOT / "partners" / "SG.toml", ()).partner
    assert sg.data_protection == DataProtection(False, True, None)


def test_a_partner_flagged_not_adequate_is_read_so(tmp_path: Path) -> None:
    """[data_protection] adequate = false, retention "30d". Result: read as written; consent
    not required by default."""
    path = sg_with(tmp_path, 'adequate = false\nretention = "30d"\n')
    found = read_partner(path, ()).partner.data_protection
    assert found == DataProtection(False, False, timedelta(days=30))


BAD = [
    pytest.param('consent_required = "yes"\n', "data_protection.consent_required", id="not bool"),
    pytest.param("adequate = 1\n", "data_protection.adequate", id="adequate not bool"),
    pytest.param('retention = "400 days"\n', "data_protection.retention", id="bad duration"),
    pytest.param('retention = "0d"\n', "data_protection.retention", id="zero retention"),
    pytest.param("retain = true\n", "data_protection.retain", id="unknown key"),
]


@pytest.mark.parametrize(("table", "field"), BAD)
def test_a_bad_data_protection_table_names_the_file_and_the_field(
    tmp_path: Path, table: str, field: str
) -> None:
    """A [data_protection] value of the wrong kind, or a key it does not have. Result:
    DefinitionInvalid naming the file and the field."""
    path = sg_with(tmp_path, table)
    with pytest.raises(DefinitionInvalid) as refused:
        read_partner(path, ())
    assert refused.value.metadata == {"file": str(path), "field": field}


def test_data_protection_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """data_protection = "strict". Result: DefinitionInvalid naming data_protection."""
    path = tmp_path / "SG.toml"
    path.write_text(SG.replace('code = "SG"', 'code = "SG"\ndata_protection = "strict"', 1))
    with pytest.raises(DefinitionInvalid) as refused:
        read_partner(path, ())
    assert refused.value.metadata["field"] == "data_protection"
