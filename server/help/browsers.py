"""Recommended environments (C9) and spotting browsers that fall short of them.

Only clear cases get the notice: Internet Explorer and Edge's IE mode
(Trident), the old Edge (EdgeHTML), Chrome before 69 and Safari before 15.
Anything we do not recognise (feature phones included) is left alone.
"""

from __future__ import annotations

import re

MIN_CHROME = 69
MIN_SAFARI = 15
_CHROME = re.compile(r"(?:Chrome|CriOS)/(\d+)")
_SAFARI = re.compile(r"Version/(\d+)(?:\.\d+)*.*Safari/")


def is_unsupported(user_agent: str) -> bool:
    """True for a browser we know pages may not work well in."""
    if not user_agent:
        return False
    if "Trident/" in user_agent or "MSIE " in user_agent:
        return True
    if re.search(r"\bEdge/\d+", user_agent):
        return True
    chrome = _CHROME.search(user_agent)
    if chrome is not None:
        return int(chrome.group(1)) < MIN_CHROME
    if "FxiOS/" in user_agent or "Firefox/" in user_agent:
        return False
    safari = _SAFARI.search(user_agent)
    if safari is not None:
        return int(safari.group(1)) < MIN_SAFARI
    return False
