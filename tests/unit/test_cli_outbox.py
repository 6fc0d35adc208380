"""`aeo-gateway outbox` argument handling: options before or after the subcommand, and a
sequence out of range refused in one line."""

from __future__ import annotations

import pytest

from gateway.cli import parser


@pytest.mark.parametrize(
    "argv",
    [
        ["outbox", "--target", "gw.example:9443", "--partner", "KR", "list"],
        ["outbox", "list", "--target", "gw.example:9443", "--partner", "KR"],
        ["outbox", "--target", "gw.example:9443", "--partner", "KR"],
    ],
)
def test_options_are_kept_before_or_after_the_list_subcommand(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    assert (args.target, args.partner) == ("gw.example:9443", "KR")


def test_options_before_redrive_are_kept_and_its_partner_must_follow_it() -> None:
    args = parser().parse_args(
        ["outbox", "--target", "gw.example:9443", "--format", "json", "redrive", "--partner", "KR"]
    )
    assert (args.target, args.format, args.redrive_partner) == ("gw.example:9443", "json", "KR")


@pytest.mark.parametrize("sequence", ["-1", "0", str(10**23), str(2**63), "x"])
def test_a_sequence_out_of_range_is_one_line_and_exit_2(
    sequence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["outbox", "redrive", "--partner", "KR", "--sequence", sequence])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is not a message sequence" in err
    assert "Traceback" not in err


def test_the_highest_sequence_is_accepted() -> None:
    args = parser().parse_args(
        ["outbox", "redrive", "--partner", "KR", "--sequence", str(2**63 - 1)]
    )
    assert args.sequence == [2**63 - 1]
