"""One reading of the User-Agent, named for the member (/settings) and for staff (access log)."""

from __future__ import annotations

import pytest

from server.lib.useragent import Device, browser_and_system, member_device, read, staff_device

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36"
)
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.mark.parametrize(
    ("agent", "member", "staff"),
    [
        (IPHONE, "Safari（iPhone）", "Safari（iOS）"),
        (IPAD, "Safari（iPad）", "Safari（iPadOS）"),
        (MAC, "Safari（Mac）", "Safari（macOS）"),
        (CHROMEBOOK, "Chrome（Chromebook）", "Chrome（ChromeOS）"),
        (SAMSUNG, "Samsung Internet（Android）", "Samsung Internet（Android）"),
        (FIREFOX_LINUX, "Firefox（Linux）", "Firefox（Linux）"),
        ("Mozilla/5.0 Edg/130.0", "Edge", "Edge"),
        ("curl/8", "ブラウザー", "ブラウザー"),
        ("", "ブラウザー", ""),
    ],
)
def test_the_member_and_the_staff_name_the_same_reading(
    agent: str, member: str, staff: str
) -> None:
    assert member_device(agent) == member
    assert staff_device(agent) == staff


def test_the_pair_kept_for_a_device_says_browser_when_it_names_none() -> None:
    assert read("curl/8") == Device("", "")
    assert browser_and_system("curl/8") == ("ブラウザー", "")
    assert browser_and_system(IPHONE) == ("Safari", "iOS")
