"""Credentials inside URLs (`https://user:token@host/...`) kept out of everything shown or recorded.

Leaf module: standard library only.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def without_credentials(text: str) -> str:
    """`text` with the user name and password of every `scheme://user:pass@host` URL removed."""
    return _USERINFO.sub("", text) if "@" in text else text
