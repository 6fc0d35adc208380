"""Languages and time zones: the user's choice, then the browser's, then English and UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.console import i18n


def test_the_cookie_wins_then_the_browser_then_english() -> None:
    assert i18n.choose_language("en", "zh-CN,zh;q=0.9") == "en"
    assert i18n.choose_language(None, "zh-TW;q=1, en;q=0.5") == "zh-Hans"
    assert i18n.choose_language("klingon", "fr-FR, en-GB;q=0.8") == "en"
    assert i18n.choose_language(None, None) == "en"


def test_an_unknown_time_zone_is_utc() -> None:
    assert i18n.time_zone("Asia/Shanghai").key == "Asia/Shanghai"
    assert i18n.time_zone("Mars/Olympus").key == "UTC"
    assert i18n.time_zone("../../etc/passwd").key == "UTC"
    assert i18n.time_zone(None).key == "UTC"


def test_a_time_is_shown_in_the_users_zone_with_utc_on_hover() -> None:
    moment = Timestamp()
    moment.FromDatetime(datetime(2026, 11, 28, 7, 30, tzinfo=UTC))
    shown = str(i18n.when(moment, "zh-Hans", i18n.time_zone("Asia/Shanghai")))
    assert shown.startswith(
        '<time datetime="2026-11-28T07:30:00Z" title="2026-11-28 07:30:00 UTC">'
    )
    assert "2026-11-28 15:30:00" in shown


def test_an_unset_time_is_a_dash() -> None:
    assert str(i18n.when(Timestamp(), "en", i18n.time_zone(None))) == "—"
    assert str(i18n.when(None, "en", i18n.time_zone(None))) == "—"


def test_chinese_comes_from_the_catalogues_and_english_is_the_source() -> None:
    languages = i18n.Languages()
    assert languages.get("zh-Hans").gettext("Overview") == "概览"
    assert languages.get("en").gettext("Overview") == "Overview"
    assert languages.get("xx").gettext("Overview") == "Overview"
