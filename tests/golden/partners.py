"""One signed golden batch per partner administration, in its own wire format and vocabulary.

Each batch is a snapshot of three operators as the partner sends them (national identifiers
where the partner's scheme has a prefix to add, its own tier names), signed with a key kept
beside it for tests only (tests/golden/keys/: never a real partner's key). `python -m
tests.golden.generate` writes them; tests/integration/test_every_partner.py submits each
over mutual TLS and looks one operator up by a code in the form a trader types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCHES = HERE / "batches"
KEYS = HERE / "keys"
#: When every golden batch was issued; the gateway under test runs its clock at RECEIVED.
ISSUED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
EXTENSIONS = {"native": "pb", "xmldsig": "xml", "jws": "jws"}


@dataclass(frozen=True)
class Operator:
    identifier: str  # as the partner sends it
    name: str
    tier: str


@dataclass(frozen=True)
class Golden:
    operators: tuple[Operator, ...]
    #: How a trader wrote the first operator's code on a declaration.
    declared: str
    #: The answer expected for an import declaration at RECEIVED.
    outcome: str
    reason: str


def _ops(*rows: tuple[str, str, str]) -> tuple[Operator, ...]:
    return tuple(Operator(*row) for row in rows)


GOLDEN: dict[str, Golden] = {
    "EU": Golden(
        _ops(
            ("DE123456789012345", "Rheinhafen Spedition GmbH", "AEOF"),
            ("XI123456789000", "Belfast Freight Ltd", "AEOS"),
            ("FR98765432100012", "Lyon Transitaire SARL", "AEOC"),
        ),
        "de 1234 5678 9012 345",
        "RECOGNISED",
        "recognised",
    ),
    "KR": Golden(
        _ops(
            ("1208147521", "Hanbit Logistics Co., Ltd.", "AAA"),
            ("KR2148612345", "Busan Port Trading", "A"),
            ("6178100123", "Incheon Air Cargo", "AA"),
        ),
        "kr 120-81-47521",
        "RECOGNISED",
        "recognised",
    ),
    "SG": Golden(
        _ops(
            ("201912345678", "Lion City Logistics Pte Ltd", "STP-Plus"),
            ("199801234567", "Jurong Supply Chain Pte Ltd", "STP"),
            ("SG200512345678", "Changi Airfreight Pte Ltd", "STP-Plus"),
        ),
        "AEO<SG201912345678>",
        "RECOGNISED",
        "recognised",
    ),
    "HK": Golden(
        _ops(
            ("12345678", "Victoria Harbour Forwarding Ltd", "Tier2"),
            ("87654321", "Kowloon Express Ltd", "Tier1"),
            ("HK23456789", "Tsing Yi Terminals Ltd", "Tier1"),
        ),
        "HK1234-5678",
        "RECOGNISED",
        "recognised",
    ),
    "CH": Golden(
        _ops(
            ("CHE123456789", "Basel Rheinhafen Logistik AG", "AEO"),
            ("CHE987654321", "Geneve Fret SA", "AEO"),
            ("CHE111222333", "Zurich Airfreight AG", "AEO"),
        ),
        "CHE-123.456.789",
        "RECOGNISED",
        "recognised",
    ),
    "NZ": Golden(
        _ops(
            ("9429041234567", "Kiwi Dairy Exports Ltd", "SES"),
            ("9429047654321", "Tauranga Timber Ltd", "SES"),
            ("NZ9429040000001", "Auckland Seafood Ltd", "SES"),
        ),
        "nz 9429041234567",
        "RECOGNISED",
        "recognised",
    ),
    "IL": Golden(
        _ops(
            ("512345678", "Haifa Port Logistics Ltd", "AEO"),
            ("513456789", "Ashdod Freight Ltd", "AEO"),
            ("IL514567890", "Tel Aviv Air Cargo Ltd", "AEO"),
        ),
        "IL 512345678",
        "RECOGNISED",
        "recognised",
    ),
    "AU": Golden(
        _ops(
            ("51824753556", "Sydney Wool Traders Pty Ltd", "ATT"),
            ("33102417032", "Fremantle Minerals Pty Ltd", "ATT"),
            ("AU53004085616", "Melbourne Wine Exports Pty Ltd", "ATT"),
        ),
        "AU 51 824 753 556",
        "RECOGNISED",
        "recognised",
    ),
    "JP": Golden(
        _ops(
            ("12345678901230000", "Yokohama Kaiun K.K.", "Exporter"),
            ("98765432109870000", "Osaka Customs Brokerage K.K.", "CustomsBroker"),
            ("JP11122233344450000", "Nagoya Manufacturing K.K.", "Manufacturer"),
        ),
        # Full-width, as a Japanese or Chinese IME in full-width mode types it.
        "ＪＰ１２３４５６７８９０１２３００００",  # noqa: RUF001
        "RECOGNISED",
        "recognised",
    ),
    "BY": Golden(
        _ops(
            ("190123456", "Minsk Tractor Logistics OAO", "Type3"),
            ("191234567", "Brest Transit OOO", "Type1"),
            ("BY192345678", "Gomel Freight OOO", "Type2"),
        ),
        "by190123456",
        "RECOGNISED",
        "recognised",
    ),
    "KZ": Golden(
        _ops(
            ("123456789012", "Almaty Rail Cargo LLP", "Type3"),
            ("210987654321", "Khorgos Gateway LLP", "Type1"),
            ("KZ111122223333", "Astana Trade LLP", "Type2"),
        ),
        # Found, but the MRA's dates are not known: no benefits.
        "KZ 1234 5678 9012",
        "NOT_RECOGNISED",
        "mra.not_in_force",
    ),
    "MN": Golden(
        _ops(
            ("1234567", "Ulaanbaatar Mining Logistics LLC", "AEO"),
            ("7654321", "Zamiin-Uud Transit LLC", "AEO"),
            ("MN2345678", "Erdenet Copper Trade LLC", "AEO"),
        ),
        "mn1234567",
        "RECOGNISED",
        "recognised",
    ),
    "UY": Golden(
        _ops(
            ("211234560012", "Montevideo Puerto Logistica SA", "OEC"),
            ("212345670019", "Colonia Carnes SA", "OEC"),
            ("UY213456780016", "Paysandu Forestal SA", "OEC"),
        ),
        "UY 21.123.456.0012",
        "RECOGNISED",
        "recognised",
    ),
}
