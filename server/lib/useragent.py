"""Reading a User-Agent header once: which browser, on which system.

Pages name a device three ways from the same reading: the push device list and
the new-device mail keep the pair, the member's /settings says 「Safari（iPhone）」
in their words, and the staff access log says 「Safari（iOS）」.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# The first match wins: Edge, Opera and Samsung Internet also say Chrome and Safari.
BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|OPT/")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
)
SYSTEMS = (
    ("iPadOS", re.compile(r"iPad")),
    ("iOS", re.compile(r"iPhone|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("Linux", re.compile(r"Linux")),
)
UNKNOWN_BROWSER = "ブラウザー"
# The member reads their device's name, not its system's.
MEMBER_SYSTEMS = {"iPadOS": "iPad", "iOS": "iPhone", "macOS": "Mac", "ChromeOS": "Chromebook"}


@dataclass(frozen=True)
class Device:
    """The browser and system a User-Agent names ("" for what it does not name)."""

    browser: str
    system: str


# The access log shows a page (or a whole CSV export) of mostly the same few headers.
@lru_cache(maxsize=512)
def read(user_agent: str) -> Device:
    """The browser and system of a User-Agent header."""
    browser = next((name for name, rx in BROWSERS if rx.search(user_agent)), "")
    system = next((name for name, rx in SYSTEMS if rx.search(user_agent)), "")
    return Device(browser, system)


def browser_and_system(user_agent: str) -> tuple[str, str]:
    """(browser, OS), as the push device list and the new-device mail keep them."""
    device = read(user_agent)
    return device.browser or UNKNOWN_BROWSER, device.system


def member_device(user_agent: str) -> str:
    """ブラウザー名（端末）in the member's words, for /settings (Safari（iPhone）)."""
    device = read(user_agent)
    browser = device.browser or UNKNOWN_BROWSER
    if not device.system:
        return browser
    return f"{browser}（{MEMBER_SYSTEMS.get(device.system, device.system)}）"


def staff_device(user_agent: str) -> str:
    """ブラウザー（OS）for the access log (Safari（iOS）); empty when none was sent."""
    if not user_agent:
        return ""
    browser, system = browser_and_system(user_agent)
    return f"{browser}（{system}）" if system else browser
