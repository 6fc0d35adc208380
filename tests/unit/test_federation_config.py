"""Peer workspaces: every shipped partner's own gateway is a valid configuration of this gateway,
and the home side's partner files name every peer's endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.directory.files import FileDirectory, read_definitions
from adapters.wire.registry import codecs
from gateway.clock import SystemClock
from gateway.domain.directory import Directory
from gateway.federation import Federation, highest_tier, write_federation
from gateway.settings import Settings
from tests.conftest import Workspace

PARTNERS = ("AU", "BY", "CH", "EU", "HK", "IL", "JP", "KR", "KZ", "MN", "NZ", "SG", "UY")


def directory(settings: Settings) -> Directory:
    return FileDirectory(
        settings.home_file,
        settings.partners_dir,
        codecs(),
        SystemClock(),
        settings.home_ca.read_bytes(),
    ).current()


@pytest.fixture(scope="module")
def federation(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Federation:
    return write_federation(workspace.settings(), tmp_path_factory.mktemp("fed"), PARTNERS)


def test_shipped_partner_files_are_all_here(workspace: Workspace) -> None:
    settings = workspace.settings()
    assert set(read_definitions(settings.home_file, settings.partners_dir).partners) == set(
        PARTNERS
    )


@pytest.mark.parametrize("code", PARTNERS)
def test_every_partners_gateway_loads_with_cn_as_its_partner(
    federation: Federation, code: str
) -> None:
    """The peer's files through the gateway's own loader and checks. Result: home = the partner
    with one grade scheme (its tiers and a non-AEO grade); partner = CN, with the home
    gateway's key and an endpoint back to the home gateway; every CN AEO grade maps to the
    partner's highest tier; the peer signs with the partner's own first key and algorithm."""
    peer = federation.peers[code]
    settings = peer.settings()
    found = directory(settings)
    home_settings = federation.home
    partner = (
        read_definitions(home_settings.home_file, home_settings.partners_dir).partners[code].partner
    )
    assert found.home.code == code
    (scheme,) = found.home.grade_schemes
    assert scheme.name == partner.programme
    assert scheme.grades == (*partner.tiers, "non-AEO")
    assert scheme.regular == "non-AEO"
    assert list(found.partners) == ["CN"]
    cn = found.partners["CN"]
    assert {k.key_id: k.algorithm for k in cn.signing_keys} == {"CN-GW-2": "ecdsa-p256-sha256"}
    assert cn.outbound is not None
    assert cn.outbound.address == home_settings.listen
    assert cn.mra_in_force == partner.mra_in_force
    assert {r.tier for r in cn.mapping} == {"AA", "advanced certified", "general certified",
                                            "certified"}  # fmt: skip
    assert {r.grade for r in cn.mapping} == {highest_tier(partner)}
    assert cn.wire_formats == (partner.wire_formats[0],)
    first = partner.signing_keys[0]
    assert (settings.signing_key_id, settings.signing_algorithm) == (first.key_id, first.algorithm)
    assert settings.listen == f"127.0.0.1:{peer.port}"
    for path in (settings.tls_cert, settings.signing_key, settings.outbound_tls_cert):
        assert path.is_file(), path
    for who in ("domestic", "admin", "registry"):
        assert peer.identity(who).cert.is_file()


def test_the_home_side_names_every_peer_and_the_repository_stays_without_endpoints(
    federation: Federation, workspace: Workspace
) -> None:
    found = directory(federation.home)
    assert {code: p.outbound.address for code, p in found.partners.items() if p.outbound} == {
        code: f"127.0.0.1:{peer.port}" for code, peer in federation.peers.items()
    }
    assert set(found.server_cas) == set(PARTNERS)
    assert not any(p.outbound for p in directory(workspace.settings()).partners.values())
    assert Path(federation.home.partners_dir).is_relative_to(federation.root)


def test_an_unknown_partner_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no partner XX"):
        write_federation(workspace.settings(), tmp_path, ["KR", "XX"])
