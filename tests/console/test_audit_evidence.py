"""How the audit pages show a message's raw bytes: UTF-8 XML or JSON as text, anything else as
a hex dump, at most SHOWN_BYTES of either; and a bundle that is no bundle."""

from __future__ import annotations

import pytest

from gateway.console import evidence


@pytest.mark.parametrize(
    "raw", [b'{"records": []}', b"\xef\xbb\xbf<?xml version='1.0'?><a>\xe6\xb5\xb7\xe5\x85\xb3</a>"]
)
def test_utf8_json_and_xml_are_text(raw: bytes) -> None:
    shown = evidence.content(raw)
    assert shown.is_text
    assert shown.text == raw.decode("utf-8")
    assert shown.size == len(raw)
    assert not shown.truncated


@pytest.mark.parametrize("raw", [b"\x0a\x02SG\x10\x01", b"plain words", b"<a>\xff</a>", b"{\x00}"])
def test_anything_else_is_a_hex_dump(raw: bytes) -> None:
    shown = evidence.content(raw)
    assert not shown.is_text
    assert shown.text == "00000000  " + raw.hex(" ")


def test_long_content_is_cut_and_says_so() -> None:
    document = b"<a>" + "海关".encode() * evidence.SHOWN_BYTES + b"</a>"
    shown = evidence.content(document)
    assert shown.is_text  # a character split by the cut is dropped, not a reason for hex
    assert shown.truncated
    assert len(shown.text.encode()) <= evidence.SHOWN_BYTES
    binary = evidence.content(bytes(range(256)) * 1024)
    assert binary.truncated
    assert binary.text.count("\n") + 1 == evidence.SHOWN_BYTES // 32


def test_a_bundle_that_is_no_zip_is_unreadable() -> None:
    with pytest.raises(evidence.BundleUnreadable):
        evidence.read(b"not a zip")
