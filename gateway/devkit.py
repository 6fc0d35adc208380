"""A self-contained development installation: partners/ and home/ copied beside a freshly minted
development PKI. The tests, the benchmarks and anyone trying the gateway on one machine use it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from adapters.crypto.signatures import Signer
from gateway.bootstrap import init_dev_pki, load_registry
from gateway.client import TlsIdentity
from gateway.settings import Settings, load


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
        settings = load(None, {}, base=self.root)
        return settings.with_overrides(**overrides) if overrides else settings

    def identity(self, who: str) -> TlsIdentity:
        """TLS identity of "domestic", "admin" or a partner code."""
        return TlsIdentity.dev(self.pki, who)

    def signer(self, partner: str, key_id: str | None = None) -> Signer:
        """The partner's message-signing key (its first registered key unless ``key_id``)."""
        _, entries = load_registry(self.settings())
        keys = {k.key_id: k for k in entries[partner].partner.signing_keys}
        key = keys[key_id] if key_id else entries[partner].partner.signing_keys[0]
        path = self.pki / "partners" / partner / f"signing-{key.key_id}.key.pem"
        return Signer.from_file(path, key.key_id, key.algorithm)

    def write_config(self, name: str, **values: str | int | float | bool) -> Path:
        """A settings file in the workspace, for `aeo-gateway --config`."""
        path = self.root / name

        def toml(value: str | int | float | bool) -> str:
            if isinstance(value, bool):
                return "true" if value else "false"
            return f'"{value}"' if isinstance(value, str) else str(value)

        path.write_text("".join(f"{k} = {toml(v)}\n" for k, v in values.items()))
        return path
