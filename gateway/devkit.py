"""A self-contained development installation: partners/ and home/ copied beside a freshly minted
development PKI. The tests, the benchmarks and anyone trying the gateway on one machine use it."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from adapters.crypto.signatures import Signer
from adapters.directory.files import read_definitions
from adapters.wire.native import encode_record
from adapters.wire.registry import codecs, outcome_codecs
from gateway import protomap
from gateway.bootstrap import init_dev_pki
from gateway.client import TlsIdentity
from gateway.domain.messages import OutboundBatch
from gateway.domain.outcome_reports import OutcomeReportDraft
from gateway.domain.records import AeoRecord
from gateway.pb import common_pb2, exchange_pb2
from gateway.settings import Settings, load


def pb_records(records: Iterable[AeoRecord]) -> list[common_pb2.AeoRecord]:
    """Domain records as the native format's messages, for a simulated partner."""
    return [encode_record(r) for r in records]


@dataclass(frozen=True)
class DevWorkspace:
    root: Path

    @classmethod
    def create(cls, root: Path, source: Path) -> Self:
        """Copies ``source``'s partners/ and home/ into ``root`` and writes a PKI for them."""
        shutil.copytree(source / "partners", root / "partners")
        shutil.copytree(source / "home", root / "home")
        workspace = cls(root)
        init_dev_pki(workspace.settings())
        return workspace

    @property
    def pki(self) -> Path:
        return self.root / "certs" / "dev"

    def settings(self, **overrides: Any) -> Settings:
        """The workspace's settings; metrics on a free port and no
        console, so several gateways can run."""
        settings = load(None, {}, base=self.root)
        return settings.with_overrides(
            **{"metrics_listen": "127.0.0.1:0", "console_listen": "", **overrides}
        )

    def identity(self, who: str) -> TlsIdentity:
        """TLS identity of "domestic", "admin", "registry", "viewer", "console" or a partner
        code."""
        return TlsIdentity.dev(self.pki, who)

    def signer(self, partner: str, key_id: str | None = None) -> Signer:
        """The partner's message-signing key (its first registered key unless ``key_id``)."""
        settings = self.settings()
        definitions = read_definitions(settings.home_file, settings.partners_dir)
        registered = definitions.partners[partner].partner.signing_keys
        key = next(k for k in registered if k.key_id == key_id) if key_id else registered[0]
        path = self.pki / "partners" / partner / f"signing-{key.key_id}.key.pem"
        return Signer.from_file(path, key.key_id, key.algorithm)

    def envelope(
        self, batch: OutboundBatch, wire_format: str | None = None, key_id: str | None = None
    ) -> exchange_pb2.SignedEnvelope:
        """``batch`` sealed as its partner would: in ``wire_format`` (default: the partner's
        primary format) with the partner's signing key, as a gRPC SignedEnvelope."""
        settings = self.settings()
        definitions = read_definitions(settings.home_file, settings.partners_dir)
        fmt = wire_format or definitions.partners[batch.partner].partner.wire_formats[0]
        return protomap.signed_envelope(
            codecs()[fmt].seal(batch, self.signer(batch.partner, key_id))
        )

    def outcome_envelope(
        self,
        report: OutcomeReportDraft,
        wire_format: str | None = None,
        key_id: str | None = None,
        signer_of: str | None = None,
    ) -> exchange_pb2.SignedEnvelope:
        """``report`` sealed as its partner would for SubmitOutcomeReport: in ``wire_format``
        (default: the partner's primary format) with the partner's signing key (or with
        ``signer_of``'s, to forge)."""
        settings = self.settings()
        definitions = read_definitions(settings.home_file, settings.partners_dir)
        fmt = wire_format or definitions.partners[report.partner].partner.wire_formats[0]
        signer = self.signer(signer_of or report.partner, key_id)
        return protomap.signed_envelope(outcome_codecs()[fmt].seal(report, signer))

    def write_config(self, name: str, **values: str | int | float | bool) -> Path:
        """A settings file in the workspace, for `aeo-gateway --config`."""
        path = self.root / name

        def toml(value: str | int | float | bool) -> str:
            if isinstance(value, bool):
                return "true" if value else "false"
            return f'"{value}"' if isinstance(value, str) else str(value)

        # Metrics on a free port and no console, as settings().
        values = {"metrics_listen": "127.0.0.1:0", "console_listen": "", **values}
        path.write_text("".join(f"{k} = {toml(v)}\n" for k, v in values.items()))
        return path
