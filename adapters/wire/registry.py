"""The wire formats this gateway speaks. A new format is a codec that passes the contract suite
(tests/contract/codec_contract.py), added here; partners then name it in their files."""

from __future__ import annotations

from adapters.wire.jws import JwsCodec
from adapters.wire.native import NativeCodec
from adapters.wire.outcomes_jws import JwsOutcomeCodec
from adapters.wire.outcomes_native import NativeOutcomeCodec
from adapters.wire.outcomes_xml import XmlDsigOutcomeCodec
from adapters.wire.xmldsig import XmlDsigCodec
from gateway.domain.ports import OutcomeCodec, WireCodec


def codecs(*extra: WireCodec) -> dict[str, WireCodec]:
    found: dict[str, WireCodec] = {NativeCodec.name: NativeCodec()}
    found[JwsCodec.name] = JwsCodec()
    found[XmlDsigCodec.name] = XmlDsigCodec()
    found.update((codec.name, codec) for codec in extra)
    return found


def outcome_codecs() -> dict[str, OutcomeCodec]:
    """Outcome reports (facilitation) in each wire format, by the format's name."""
    found: list[OutcomeCodec] = [NativeOutcomeCodec(), JwsOutcomeCodec(), XmlDsigOutcomeCodec()]
    return {codec.name: codec for codec in found}
