"""The server half of the customer page's dial pad (no browser needed).

The page sends every key twice: as an in-band tone and as a message on the "dtmf" data
channel. The IVR's digit input must count such a key once, yet keep keys that really were
pressed twice, and keep working when only one of the two ways arrives.
"""

from __future__ import annotations

from typing import Any

import pytest

from site_node.calls.ivr_driver import SAME_KEY_S, DigitInput


class FakeLeg:
    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def add_digit_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def remove_digit_listener(self, listener: Any) -> None:
        self.listeners.remove(listener)

    def add_pcm_listener(self, listener: Any) -> None:
        pass

    def remove_pcm_listener(self, listener: Any) -> None:
        pass

    def key(self, digit: str, how: str) -> None:
        for listener in list(self.listeners):
            listener(digit, how)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def _drain(digits: DigitInput) -> str:
    out = ""
    while (digit := await digits.get(0.01)) is not None:
        out += digit
    return out


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        # (seconds after the previous arrival, digit, how)
        ([(0, "1", "datachannel"), (0.12, "1", "inband")], "1"),
        ([(0, "1", "inband"), (0.1, "1", "datachannel")], "1"),
        (
            [(0, "1", "datachannel"), (0.12, "1", "inband"), (0.1, "1", "datachannel"), (0.12, "1", "inband")],
            "11",
        ),
        ([(0, "1", "datachannel"), (0.22, "1", "datachannel"), (0.1, "1", "inband"), (0.22, "1", "inband")], "11"),
        ([(0, "1", "datachannel"), (0.2, "2", "datachannel"), (0.2, "3", "datachannel")], "123"),
        ([(0, "4", "inband"), (0.2, "4", "inband")], "44"),
        ([(0, "5", "datachannel"), (SAME_KEY_S + 0.1, "5", "inband")], "55"),
    ],
)
async def test_a_key_sent_as_a_tone_and_on_the_data_channel_counts_once(
    arrivals: list[tuple[float, str, str]], expected: str
) -> None:
    leg, clock = FakeLeg(), Clock()
    digits = DigitInput(leg, now=clock)  # type: ignore[arg-type]
    for after, digit, how in arrivals:
        clock.t += after
        leg.key(digit, how)
    assert await _drain(digits) == expected
    digits.close()
