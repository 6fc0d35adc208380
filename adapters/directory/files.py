"""The partner directory read from files: partners/*.toml and the home administration's file.

Partners are data: a partner that speaks a wire format the gateway supports is a file here.
Every file is validated whole (unknown keys included) before anything is put in force; a
problem is reported with the file and the field, and the snapshot in force stays in force.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from adapters.crypto.signatures import (
    ALGORITHMS,
    KeyMismatch,
    key_sha256,
    load_public_key,
    verifier,
)
from adapters.directory import data_protection, dated_terms
from gateway.domain.codes import Alias, IdentifierScheme
from gateway.domain.definitions import DefinitionProblem, check_overlaps, check_partner
from gateway.domain.directory import Directory, PartnerKey
from gateway.domain.errors import DefinitionInvalid
from gateway.domain.partners import (
    GradeScheme,
    HomeAdministration,
    MappingRule,
    OutboundEndpoint,
    Partner,
    Period,
    SigningKeyInfo,
    TradeDirection,
)
from gateway.domain.ports import Clock

DIRECTIONS = {
    "import": frozenset({TradeDirection.IMPORT}),
    "export": frozenset({TradeDirection.EXPORT}),
    "import+export": frozenset({TradeDirection.IMPORT, TradeDirection.EXPORT}),
}

#: The keys each table of a partner file may have: a misspelt key is an error, not a default.
_PARTNER_KEYS = {
    "": {
        "code", "name", "programme", "tiers", "recognised_tiers", "direction", "wire_formats",
        "benefits", "mra", "identifiers", "trust", "signing_keys", "mapping", "freshness",
        "assumed", "outbound", "data_protection", "lifecycle",
    },
    "outbound": {"endpoint", "server_name", "ca", "wire_format"},
    "mra": {"signed", "in_force", "in_force_by_mode", "suspensions"},
    "mra.suspensions": {"start", "end"},
    "identifiers": {"prefix", "patterns", "aliases", "takes_precedence_over", "examples"},
    "identifiers.aliases": {"pattern", "template"},
    "trust": {"ca", "crl", "crl_url"},
    "signing_keys": {"key_id", "algorithm", "public_key", "not_before", "not_after"},
    "mapping": {"tier", "grade", "scheme", "benefits", "start", "end"},
    "freshness": {"expected_cadence", "max_staleness", "stale_grants_benefits"},
}  # fmt: skip
_HOME_KEYS = {
    "": {"code", "name", "standard_benefits", "identifiers", "grade_schemes", "time_zone"},
    "identifiers": {"prefix", "patterns", "aliases", "examples"},
    "identifiers.aliases": {"pattern", "template"},
    "grade_schemes": {"name", "in_force", "grades", "aeo_grades", "regular"},
}


@dataclass(frozen=True)
class PartnerKeyFile:
    key_id: str
    algorithm: str
    public_key: Path


@dataclass(frozen=True)
class PartnerEntry:
    """A partner's definition as read from its file, with where its trust material lives."""

    partner: Partner
    ca: Path | None
    key_files: tuple[PartnerKeyFile, ...]
    takes_precedence_over: tuple[str, ...]
    source: Path
    text: bytes
    #: The CA of the partner's gateway server certificate (its outbound endpoint).
    server_ca: Path | None = None
    #: Where the partner's certificate revocation lists are read: files and http(s) URLs.
    crl_sources: tuple[str, ...] = ()
    #: For a definition given through Admin: the trust material by the path its name resolves
    #: to (nothing is read from disk); None for a file.
    attachments: Mapping[Path, bytes] | None = None


class InlineDefinition(Protocol):
    """A partner definition created through Admin: the TOML text of a partner file, and the
    trust material it names (``ca``, ``public_key``) by those names."""

    @property
    def text(self) -> bytes: ...
    @property
    def attachments(self) -> Mapping[str, bytes]: ...


#: Where an inline definition is said to be, in its errors: "admin:CL.toml".
INLINE_PREFIX = "admin:"


@dataclass(frozen=True)
class Definitions:
    home: HomeAdministration
    home_source: Path
    partners: dict[str, PartnerEntry]


class _File:
    """One file being read: every complaint names it and the field."""

    def __init__(self, path: Path, text: bytes | None = None) -> None:
        self.path = path
        self._text = text

    def error(self, field: str, message: str) -> DefinitionInvalid:
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        return DefinitionInvalid(where + message, file=str(self.path), field=field)

    def load(self) -> tuple[dict[str, Any], bytes]:
        try:
            text = self.path.read_bytes() if self._text is None else self._text
            return tomllib.loads(text.decode()), text
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise self.error("", str(exc)) from exc

    def known_keys(self, table: dict[str, Any], name: str, allowed: Mapping[str, set[str]]) -> None:
        unknown = sorted(set(table) - allowed[name.split("[")[0]])
        if unknown:
            prefix = f"{name}." if name else ""
            raise self.error(
                prefix + unknown[0],
                f"unknown key (expected one of {', '.join(sorted(allowed[name.split('[')[0]]))})",
            )

    def require(self, data: dict[str, Any], key: str, kind: type, field: str = "") -> Any:
        value = data.get(key)
        if not isinstance(value, kind):
            raise self.error(field or key, f"must be a {kind.__name__}")
        return value

    def strings(
        self, data: dict[str, Any], key: str, field: str = "", default: list[str] | None = None
    ) -> tuple[str, ...]:
        value = data.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(field or key, "must be a list of strings")
        return tuple(value)

    def tables(self, data: dict[str, Any], key: str, field: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(field, "must be a list of tables")
        return value

    def moment(self, value: Any, field: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        raise self.error(field, "must be a date or date-time")

    def day(self, value: Any, field: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise self.error(field, "must be a date (YYYY-MM-DD, unquoted)")

    def identifiers(
        self, data: dict[str, Any], allowed: Mapping[str, set[str]] = _PARTNER_KEYS
    ) -> tuple[IdentifierScheme, tuple[str, ...]]:
        section = self.require(data, "identifiers", dict)
        self.known_keys(section, "identifiers", allowed)
        aliases = []
        for i, a in enumerate(self.tables(section, "aliases", "identifiers.aliases")):
            self.known_keys(a, "identifiers.aliases", allowed)
            field = f"identifiers.aliases[{i}]"
            aliases.append(
                Alias(
                    self.require(a, "pattern", str, f"{field}.pattern"),
                    self.require(a, "template", str, f"{field}.template"),
                )
            )
        patterns = self.strings(section, "patterns", "identifiers.patterns")
        if not patterns:
            raise self.error("identifiers.patterns", "at least one pattern is required")
        prefix = section.get("prefix", "")
        if not isinstance(prefix, str):
            raise self.error("identifiers.prefix", "must be a string")
        precedence = self.strings(
            section, "takes_precedence_over", "identifiers.takes_precedence_over", []
        )
        examples = self.strings(section, "examples", "identifiers.examples", [])
        try:
            scheme = IdentifierScheme(
                patterns=patterns, prefix=prefix, aliases=tuple(aliases), examples=examples
            )
        except Exception as exc:  # re.error from a pattern that does not compile
            raise self.error("identifiers.patterns", f"not a regular expression: {exc}") from exc
        for i, example in enumerate(examples):
            # Examples document the patterns; one the patterns refuse documents a mistake.
            if scheme.declared(example) != example:
                raise self.error(
                    f"identifiers.examples[{i}]",
                    f"{example!r} is not a declared code of the patterns {list(patterns)}",
                )
        return scheme, precedence


def _signed(f: _File, value: Any) -> str | None:
    """When the MRA was signed: often known only to the month ("2013-06"), or "unknown"."""
    if value is None or value == "unknown":
        return None
    text = value.isoformat() if isinstance(value, date) else value
    if not isinstance(text, str):
        raise f.error("mra.signed", 'must be "YYYY", "YYYY-MM", a date or "unknown"')
    parts = text.split("-")
    ok = 1 <= len(parts) <= 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4
    if ok:
        try:
            date(
                int(parts[0]),
                int(parts[1]) if len(parts) > 1 else 1,
                int(parts[2]) if len(parts) > 2 else 1,
            )
        except ValueError:
            ok = False
    if not ok:
        raise f.error("mra.signed", f'{text!r} is not "YYYY", "YYYY-MM" or "YYYY-MM-DD"')
    return text


def _in_force(f: _File, value: Any) -> date | None:
    """The MRA's entry into force: a date, or "unknown" (no benefits until it is known)."""
    if value == "unknown" or value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise f.error("mra.in_force", 'must be a date (YYYY-MM-DD, unquoted) or "unknown"')


def read_partner(
    path: Path,
    default_benefits: tuple[str, ...],
    text: bytes | None = None,
    attachments: Mapping[str, bytes] | None = None,
) -> PartnerEntry:
    """A partner file at ``path``; or, with ``text``, a definition given through Admin whose
    ``ca`` and ``public_key`` names are keys of ``attachments`` (its [trust] table may then be
    left out until the CA is known: the partner cannot be configured without it)."""
    f = _File(path, text)
    data, text = f.load()
    f.known_keys(data, "", _PARTNER_KEYS)
    code = f.require(data, "code", str)
    if attachments is not None and path.stem.removeprefix(INLINE_PREFIX) != code:
        raise f.error("code", f"must be the code of the partner onboarded ({path.stem})")
    if attachments is None and path.stem != code:
        raise f.error("code", f"the file name must be the partner code ({code}.toml)")
    tiers = f.strings(data, "tiers")
    recognised = dated_terms.recognised_tiers(f, data)
    mra = f.require(data, "mra", dict)
    f.known_keys(mra, "mra", _PARTNER_KEYS)
    direction = data.get("direction", "import")
    if direction not in DIRECTIONS:
        raise f.error("direction", f"{direction!r} is not one of {', '.join(DIRECTIONS)}")
    key_infos: list[SigningKeyInfo] = []
    key_files: list[PartnerKeyFile] = []
    keys = f.tables(data, "signing_keys", "signing_keys")
    if not keys:
        raise f.error("signing_keys", "at least one [[signing_keys]] entry is required")
    for i, entry in enumerate(keys):
        field = f"signing_keys[{i}]"
        f.known_keys(entry, "signing_keys", _PARTNER_KEYS)
        key_id = f.require(entry, "key_id", str, f"{field}.key_id")
        algorithm = f.require(entry, "algorithm", str, f"{field}.algorithm")
        if algorithm not in ALGORITHMS:
            raise f.error(f"{field}.algorithm", f"{algorithm!r} is not one of {ALGORITHMS}")
        info = SigningKeyInfo(
            key_id,
            algorithm,
            f.moment(entry.get("not_before"), f"{field}.not_before"),
            f.moment(entry.get("not_after"), f"{field}.not_after"),
        )
        if info.not_before and info.not_after and info.not_after <= info.not_before:
            raise f.error(f"{field}.not_after", "must be after not_before")
        if any(k.key_id == key_id for k in key_infos):
            raise f.error(f"{field}.key_id", f"duplicate key id {key_id!r}")
        key_infos.append(info)
        public = f.require(entry, "public_key", str, f"{field}.public_key")
        key_files.append(PartnerKeyFile(key_id, algorithm, path.parent / public))
    mapping = []
    for i, m in enumerate(f.tables(data, "mapping", "mapping")):
        f.known_keys(m, "mapping", _PARTNER_KEYS)
        scheme = m.get("scheme")
        if scheme is not None and not isinstance(scheme, str):
            raise f.error(f"mapping[{i}].scheme", "must be a string")
        start, end = dated_terms.period(f, m, f"mapping[{i}]")
        mapping.append(
            MappingRule(
                tier=f.require(m, "tier", str, f"mapping[{i}].tier"),
                grade=f.require(m, "grade", str, f"mapping[{i}].grade"),
                scheme=scheme,
                benefits=f.strings(m, "benefits", f"mapping[{i}].benefits")
                if "benefits" in m
                else None,
                start=start,
                end=end,
            )
        )
    suspensions = []
    for i, s in enumerate(f.tables(mra, "suspensions", "mra.suspensions")):
        f.known_keys(s, "mra.suspensions", _PARTNER_KEYS)
        start = f.day(s.get("start"), f"mra.suspensions[{i}].start")
        end = f.day(s.get("end"), f"mra.suspensions[{i}].end")
        if start is None:
            raise f.error(f"mra.suspensions[{i}].start", "is required")
        if end is not None and end <= start:
            raise f.error(f"mra.suspensions[{i}].end", "must be after start")
        suspensions.append(Period(start, end))
    wire_formats = f.strings(data, "wire_formats", default=["native"])
    if not wire_formats:
        raise f.error("wire_formats", "at least one wire format is required")
    identifiers, precedence = f.identifiers(data)
    if isinstance(data.get("freshness"), dict):
        f.known_keys(data["freshness"], "freshness", _PARTNER_KEYS)
    partner = Partner(
        code=code,
        name=f.require(data, "name", str),
        programme=f.require(data, "programme", str),
        tiers=tiers,
        recognised_tiers=recognised,
        mra_signed=_signed(f, mra.get("signed")),
        mra_in_force=_in_force(f, mra.get("in_force")),
        directions=DIRECTIONS[direction],
        identifiers=identifiers,
        wire_formats=wire_formats,
        signing_keys=tuple(key_infos),
        mapping=tuple(mapping),
        benefits=f.strings(data, "benefits", default=list(default_benefits)),
        suspensions=tuple(suspensions),
        mra_in_force_by_mode=dated_terms.in_force_by_mode(f, mra),
        freshness=dated_terms.freshness(f, data),
        assumed=dated_terms.assumed(f, data),
        data_protection=data_protection.data_protection(f, data),
    )
    lifecycle = data.get("lifecycle", "active" if attachments is None else "draft")
    if lifecycle not in ("draft", "active"):
        raise f.error("lifecycle", f'{lifecycle!r} is not "draft" or "active"')
    ca: Path | None = None
    trust: dict[str, Any] = {}
    if attachments is None or "trust" in data:
        trust = f.require(data, "trust", dict)
        f.known_keys(trust, "trust", _PARTNER_KEYS)
        ca = path.parent / f.require(trust, "ca", str, "trust.ca")
    outbound, server_ca = _outbound(f, data, wire_formats, path.parent)
    inline = None
    if attachments is not None:
        inline = {path.parent / name: content for name, content in attachments.items()}
    return PartnerEntry(
        replace(partner, outbound=outbound, lifecycle=lifecycle),
        ca,
        tuple(key_files),
        precedence,
        path,
        text,
        server_ca or ca,
        _crl_sources(f, trust, path.parent),
        inline,
    )


def _crl_sources(f: _File, trust: dict[str, Any], folder: Path) -> tuple[str, ...]:
    """trust.crl (a file, relative to the partner file) and trust.crl_url (http or https)."""
    sources: list[str] = []
    crl = trust.get("crl")
    if crl is not None:
        if not isinstance(crl, str) or not crl:
            raise f.error("trust.crl", "must be a path")
        sources.append(str(folder / crl))
    url = trust.get("crl_url")
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise f.error("trust.crl_url", "must be an http:// or https:// URL")
        sources.append(url)
    return tuple(sources)


def _outbound(
    f: _File, data: dict[str, Any], wire_formats: Sequence[str], folder: Path
) -> tuple[OutboundEndpoint | None, Path | None]:
    """The optional [outbound] table: the partner's gateway and the CA of its server
    certificate (default: the partner's trust.ca)."""
    section = data.get("outbound")
    if section is None:
        return None, None
    if not isinstance(section, dict):
        raise f.error("outbound", "must be a table")
    f.known_keys(section, "outbound", _PARTNER_KEYS)
    address = f.require(section, "endpoint", str, "outbound.endpoint")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise f.error("outbound.endpoint", f"{address!r} is not host:port")
    wire_format = section.get("wire_format", wire_formats[0])
    if not isinstance(wire_format, str):
        raise f.error("outbound.wire_format", "must be a string")
    server_name = section.get("server_name", "")
    if not isinstance(server_name, str):
        raise f.error("outbound.server_name", "must be a string")
    ca = section.get("ca")
    if ca is not None and not isinstance(ca, str):
        raise f.error("outbound.ca", "must be a path")
    return (
        OutboundEndpoint(address, wire_format, server_name),
        folder / ca if ca is not None else None,
    )


def read_home(path: Path) -> HomeAdministration:
    f = _File(path)
    data, _ = f.load()
    f.known_keys(data, "", _HOME_KEYS)
    schemes = []
    for i, s in enumerate(f.tables(data, "grade_schemes", "grade_schemes")):
        field = f"grade_schemes[{i}]"
        f.known_keys(s, "grade_schemes", _HOME_KEYS)
        grades = f.strings(s, "grades", f"{field}.grades")
        aeo = f.strings(s, "aeo_grades", f"{field}.aeo_grades")
        regular = f.require(s, "regular", str, f"{field}.regular")
        if not set(aeo) <= set(grades):
            raise f.error(f"{field}.aeo_grades", "must be among grades")
        if regular not in grades:
            raise f.error(f"{field}.regular", "must be among grades")
        in_force = f.day(s.get("in_force"), f"{field}.in_force")
        if in_force is None:
            raise f.error(f"{field}.in_force", "is required")
        schemes.append(
            GradeScheme(
                f.require(s, "name", str, f"{field}.name"),
                in_force,
                grades,
                frozenset(aeo),
                regular,
            )
        )
    if not schemes:
        raise f.error("grade_schemes", "at least one [[grade_schemes]] entry is required")
    identifiers, _ = f.identifiers(data, _HOME_KEYS)
    return HomeAdministration(
        code=f.require(data, "code", str),
        name=f.require(data, "name", str),
        identifiers=identifiers,
        grade_schemes=tuple(schemes),
        standard_benefits=f.strings(data, "standard_benefits"),
        zone=_zone(f, data.get("time_zone", "UTC")),
    )


def _zone(f: _File, name: object) -> tzinfo:
    """An IANA time zone ("Asia/Shanghai"); tzdata is a dependency, so every zone is known."""
    if not isinstance(name, str) or not name:
        raise f.error("time_zone", 'must be an IANA time zone name such as "Asia/Shanghai"')
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise f.error("time_zone", f"{name!r} is not an IANA time zone") from exc


def read_definitions(home_file: Path, partners_dir: Path) -> Definitions:
    """The definitions as files say, without reading keys or certificates (the development
    PKI is written from these before those files exist)."""
    home = read_home(home_file)
    if not partners_dir.is_dir():
        raise DefinitionInvalid(
            f"partners folder {partners_dir} does not exist", file=str(partners_dir), field=""
        )
    entries = [read_partner(p, home.standard_benefits) for p in sorted(partners_dir.glob("*.toml"))]
    return Definitions(home, home_file, {e.partner.code: e for e in entries})


class FileDirectory:
    """The PartnerDirectory port over files, with loaded keys and trust anchors."""

    def __init__(
        self,
        home_file: Path,
        partners_dir: Path,
        formats: Collection[str],
        clock: Clock,
        home_ca: bytes | None = None,
    ) -> None:
        #: CAs no partner may name: the home CA issues domestic and admin certificates.
        self._reserved_cas = (
            [c.fingerprint(hashes.SHA256()) for c in x509.load_pem_x509_certificates(home_ca)]
            if home_ca
            else []
        )
        self._home_file = home_file
        self._partners_dir = partners_dir
        self._formats = tuple(formats)
        self._clock = clock
        self._stored: Callable[[], Mapping[str, InlineDefinition]] | None = None
        self._current: Directory | None = None
        self._current = self.load()

    def use_stored(self, source: Callable[[], Mapping[str, InlineDefinition]]) -> None:
        """From now on every load adds the definitions ``source`` gives (partners created
        through Admin) to the files'; loads them at once, in place of the snapshot in force
        under its version (called once, at start-up, before any request reads it)."""
        self._stored = source
        self._current = self.build(self.definitions(), self.current().version)

    def definitions(self, extra: Mapping[str, InlineDefinition] | None = None) -> Definitions:
        """The files' definitions and the stored ones (and ``extra``, a candidate not yet
        stored); a code defined both ways is refused."""
        d = read_definitions(self._home_file, self._partners_dir)
        inline = dict(self._stored() if self._stored is not None else {})
        inline.update(extra or {})
        for code, given in sorted(inline.items()):
            path = Path(f"{INLINE_PREFIX}{code}.toml")
            if code in d.partners:
                raise _File(path).error(
                    "code", f"{code} is defined by {d.partners[code].source} already"
                )
            entry = read_partner(path, d.home.standard_benefits, given.text, given.attachments)
            d.partners[code] = entry
        return d

    def current(self) -> Directory:
        assert self._current is not None
        return self._current

    def install(self, snapshot: Directory) -> None:
        self._current = snapshot  # one reference swap: readers see the old or the new, whole

    def load(self) -> Directory:
        # Numbered after the snapshot in force; loads are serialised by ReloadPartners.
        version = self._current.version + 1 if self._current else 1
        return self.build(self.definitions(), version)

    def build(self, d: Definitions, version: int = 0) -> Directory:
        """The snapshot of definitions ``d``, every check made, keys and CAs loaded."""
        files = {code: e.source for code, e in d.partners.items()}
        files[d.home.code] = d.home_source
        precedence = {code: frozenset(e.takes_precedence_over) for code, e in d.partners.items()}
        for code, entry in d.partners.items():
            f = _File(entry.source)
            if code == d.home.code:
                raise f.error("code", f"{code} is the home administration's code")
            for other in entry.takes_precedence_over:
                known = other in d.partners or other == d.home.code
                if not known or code in precedence.get(other, ()):
                    why = "is not a known administration" if not known else "says it wins too"
                    raise f.error("identifiers.takes_precedence_over", f"{other} {why}")
        try:
            for entry in d.partners.values():
                check_partner(entry.partner, d.home, self._formats)
            schemes = {d.home.code: d.home.identifiers}
            schemes.update((code, e.partner.identifiers) for code, e in d.partners.items())
            check_overlaps(schemes, precedence)
        except DefinitionProblem as problem:
            path = files.get(problem.administration, self._partners_dir)
            raise _File(path).error(problem.field, problem.message) from problem
        keys: dict[tuple[str, str], PartnerKey] = {}
        anchors: dict[str, bytes] = {}
        server_cas: dict[str, bytes] = {}
        digests: dict[str, str] = {}
        # One CA for two parties would let either speak for the other: compared as certificates
        # (DER), so a reformatted copy of the same CA is the same CA.
        seen_cas: dict[bytes, str] = dict.fromkeys(self._reserved_cas, "the home administration")
        for code, entry in d.partners.items():
            f = _File(entry.source)
            digest = hashlib.sha256(entry.text)
            if entry.ca is not None:
                ca = _trust_anchor(f, entry.ca, material=entry.attachments)
                fingerprint = ca.fingerprint(hashes.SHA256())
                if fingerprint in seen_cas:
                    raise f.error("trust.ca", f"is the same CA as {seen_cas[fingerprint]}'s")
                seen_cas[fingerprint] = f"partner {code}"
                anchors[code] = ca.public_bytes(Encoding.PEM)
                digest.update(anchors[code])
            if entry.partner.outbound is not None and entry.server_ca is not None:
                server_cas[code] = _trust_anchor(
                    f, entry.server_ca, "outbound.ca", entry.attachments
                ).public_bytes(Encoding.PEM)
                digest.update(server_cas[code])
            for i, (info, file) in enumerate(
                zip(entry.partner.signing_keys, entry.key_files, strict=True)
            ):
                field = f"signing_keys[{i}].public_key"
                try:
                    pem = _read_material(file.public_key, entry.attachments)
                    key = load_public_key(pem, info.algorithm)
                except OSError as exc:
                    raise f.error(
                        field,
                        f"{file.public_key}: {exc.strerror}; run `aeo-gateway "
                        "certs init` for a development PKI",
                    ) from exc
                except (KeyMismatch, ValueError) as exc:
                    raise f.error(field, str(exc)) from exc
                digest.update(pem)
                keys[(code, info.key_id)] = PartnerKey(
                    info, verifier(key, info.algorithm), key, key_sha256(key)
                )
            digests[code] = digest.hexdigest()
        return Directory(
            version=version,
            loaded_at=self._clock.now(),
            home=d.home,
            partners={code: e.partner for code, e in d.partners.items()},
            keys=keys,
            trust_anchors=anchors,
            digests=digests,
            precedence=precedence,
            server_cas=server_cas,
            crl_sources={c: e.crl_sources for c, e in d.partners.items() if e.crl_sources},
        )


def _read_material(path: Path, attachments: Mapping[Path, bytes] | None) -> bytes:
    """A key or certificate: from disk for a file, from the attachments for a definition given
    through Admin (a name it does not attach is missing, as a missing file is)."""
    if attachments is None:
        return path.read_bytes()
    found = attachments.get(path)
    if found is None:
        raise FileNotFoundError(2, f"{path.name} is not attached", str(path))
    return found


def _trust_anchor(
    f: _File,
    path: Path,
    field: str = "trust.ca",
    material: Mapping[Path, bytes] | None = None,
) -> x509.Certificate:
    """The one CA certificate in ``path``: a bundle would be trusted whole by TLS while the
    caller's identity is matched against one certificate of it."""
    try:
        certs = x509.load_pem_x509_certificates(_read_material(path, material))
    except OSError as exc:
        raise f.error(
            field,
            f"{path}: {exc.strerror}; run `aeo-gateway certs init` for a development PKI",
        ) from exc
    except ValueError as exc:
        raise f.error(field, f"{path} is not a PEM certificate: {exc}") from exc
    if len(certs) != 1:
        raise f.error(field, f"{path} holds {len(certs)} certificates; give exactly one CA")
    return certs[0]
