"""Fair admission (gateway.api.admission), with threads but no server."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.api.admission import Admission, AdmissionLimits, waiting
from gateway.domain.errors import TooManyCalls, TooManyRefusals


def admission(max_calls: int = 2, max_active: int = 1, body_timeout: float = 0.2) -> Admission:
    return Admission(AdmissionLimits(max_calls, max_active, body_timeout))


def test_a_client_past_its_limit_is_refused_and_others_are_not() -> None:
    """SG holds its two calls; a third SG call, then a KR call. Result: SG's third is refused
    TooManyCalls with the limit; KR's is admitted; once SG's calls end, SG is admitted again."""
    gate = admission()
    with gate.call("SG"), gate.call("SG"):
        with pytest.raises(TooManyCalls) as refused, gate.call("SG"):
            pass
        assert refused.value.metadata == {"limit": "2"}
        with gate.call("KR"):
            pass
    with gate.call("SG"):
        pass


def test_a_client_works_one_call_at_a_time_and_a_waiting_call_gives_its_turn_back() -> None:
    """max_active 1: SG's first call takes its turn; a second SG call wants one. Result: the
    second waits until the first says it is only waiting (for the commit), then works."""
    gate = admission(max_calls=4)
    first_has_turn, first_waits, second_worked = threading.Event(), threading.Event(), []

    def first() -> None:
        with gate.call("SG"):
            gate.take_turn()
            first_has_turn.set()
            first_waits.wait(5)
            waiting()
            time.sleep(0.2)

    def second() -> None:
        first_has_turn.wait(5)
        with gate.call("SG"):
            gate.take_turn()
            second_worked.append(first_waits.is_set())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    assert second_worked == []  # still waiting for its turn
    first_waits.set()
    for t in threads:
        t.join(5)
    assert second_worked == [True]


def test_a_body_that_never_comes_cancels_the_call() -> None:
    """A receive that blocks until cancelled. Result: cancel is called after the body timeout
    and the receive returns."""
    gate = admission(body_timeout=0.1)
    cancelled = threading.Event()
    got = gate.body("SG", lambda: cancelled.wait(10), cancelled.set)
    assert got is True


def test_a_body_in_time_is_not_cancelled() -> None:
    """The body is there at once. Result: returned; cancel never called, even later."""
    gate = admission(body_timeout=0.1)
    calls: list[str] = []
    assert gate.body("SG", lambda: b"body", lambda: calls.append("cancel")) == b"body"
    time.sleep(0.7)
    assert calls == []


def test_waiting_outside_an_admitted_call_does_nothing() -> None:
    """The store's wrapper runs outside any call (a reload from SIGHUP). Result: no error."""
    waiting()


def test_a_client_sending_more_bytes_than_its_rate_waits_and_others_do_not() -> None:
    """1,000 bytes/s with a burst of 2,000. SG sends 1,500 then 1,500 bytes at once; KR then
    sends 1,500. Result: SG's first call passes, its second waits one second (the 1,000 bytes
    overdrawn at 1,000/s); KR, metered apart, passes at once; after two quiet seconds SG's
    bucket is full again."""
    now = [0.0]
    slept: list[float] = []
    gate = Admission(
        AdmissionLimits(8, 2, 1.0, bytes_per_second=1000, burst_bytes=2000),
        clock=lambda: now[0],
        sleep=slept.append,
    )
    gate.meter("SG", 1500)
    gate.meter("SG", 1500)
    gate.meter("KR", 1500)
    assert slept == [1.0]
    now[0] = 3.0
    gate.meter("SG", 2000)
    assert slept == [1.0]


def test_without_a_rate_nothing_is_metered() -> None:
    """No byte rate set. Result: any size passes at once."""
    slept: list[float] = []
    gate = Admission(AdmissionLimits(8, 2, 1.0), sleep=slept.append)
    gate.meter("SG", 10**9)
    assert slept == []


def test_a_new_call_waiting_for_its_body_cancels_the_longest_waiting_one() -> None:
    """max_waiting 1: an SG call waits for a body that never comes; another SG call arrives.
    Result: the first is cancelled and the second gets its body; KR's wait is its own."""
    gate = Admission(AdmissionLimits(max_calls=2, max_active=1, body_timeout=5, max_waiting=1))
    cancelled, waiting_now = threading.Event(), threading.Event()

    def stalled() -> bytes:
        waiting_now.set()
        cancelled.wait(5)
        return b""

    worker = threading.Thread(target=gate.body, args=("SG", stalled, cancelled.set))
    worker.start()
    waiting_now.wait(5)
    assert gate.body("KR", lambda: b"kr", lambda: None) == b"kr"
    assert not cancelled.is_set()
    assert gate.body("SG", lambda: b"sg", lambda: None) == b"sg"
    assert cancelled.is_set()
    worker.join(5)


def test_a_client_refused_too_often_is_refused_unread_until_its_budget_refills() -> None:
    """A budget of one refusal per second, three at once; SG's calls are refused three times
    in a row. Result: SG's next call is TooManyRefusals and KR's is not; a second later SG has
    one refusal of budget again."""
    now = [0.0]
    limits = AdmissionLimits(8, 1, 1.0, refusals_per_second=1.0, refusal_burst=3.0)
    gate = Admission(limits, clock=lambda: now[0])
    for _ in range(3):
        gate.check_refusals("SG")
        gate.refused("SG")
    with pytest.raises(TooManyRefusals) as refused:
        gate.check_refusals("SG")
    assert refused.value.reason == "client.too_many_refusals"
    assert refused.value.transient
    gate.check_refusals("KR")
    now[0] = 1.0
    gate.check_refusals("SG")
    gate.refused("SG")
    with pytest.raises(TooManyRefusals):
        gate.check_refusals("SG")
