"""Recommended environments and spotting browsers that fall short of them.

The co-op's FAQ names them: Windows 10 with Chrome 102+ or Edge 101+ (not IE
mode), macOS 10.15 with Safari 15, iOS with Safari 15 or Chrome 69+, Android
7+ with Chrome 69+. Only clear cases below those get the notice: Internet
Explorer and Edge's IE mode (Trident), the old Edge (EdgeHTML), and the
browsers named there in older versions. Anything we do not recognise
(feature phones, Firefox, other systems) is left alone.
"""

from __future__ import annotations

import re

MIN_WINDOWS_CHROME = 102
MIN_WINDOWS_EDGE = 101
MIN_CHROME = 69  # iOS (CriOS) and Android
MIN_SAFARI = 15  # macOS and iOS
MIN_ANDROID = 7
_EDGE = re.compile(r"\bEdg(?:A|iOS)?/(\d+)")
_CHROME = re.compile(r"(?:Chrome|CriOS)/(\d+)")
_SAFARI = re.compile(r"Version/(\d+)(?:\.\d+)*.*Safari/")
_ANDROID = re.compile(r"Android (\d+)")


def _below(pattern: re.Pattern[str], user_agent: str, minimum: int) -> bool | None:
    """True/False when the pattern names a version, None when it is absent."""
    found = pattern.search(user_agent)
    return None if found is None else int(found.group(1)) < minimum


def is_unsupported(user_agent: str) -> bool:
    """True for a browser we know pages may not work well in."""
    if not user_agent:
        return False
    if "Trident/" in user_agent or "MSIE " in user_agent:
        return True
    if re.search(r"\bEdge/\d+", user_agent):
        return True
    if "Windows NT" in user_agent:
        edge = _below(_EDGE, user_agent, MIN_WINDOWS_EDGE)
        if edge is not None:
            return edge
        return bool(_below(_CHROME, user_agent, MIN_WINDOWS_CHROME))
    if "Android" in user_agent and _below(_ANDROID, user_agent, MIN_ANDROID):
        return True
    if "FxiOS/" in user_agent or "Firefox/" in user_agent or _EDGE.search(user_agent):
        return False
    chrome = _below(_CHROME, user_agent, MIN_CHROME)
    if chrome is not None:
        return chrome
    return bool(_below(_SAFARI, user_agent, MIN_SAFARI))
