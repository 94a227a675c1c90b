"""The system paths a worker sees besides its runtime, inputs and scratch, in every mode.

bubblewrap mounts exactly these; the process mode's audit hook allows reading exactly these.
Leaf module, standard library only (imported by the worker).
"""

from __future__ import annotations

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
    "nsswitch.conf", "alternatives",
)
NET_ETC_FILES = ("hosts", "resolv.conf", "ssl", "ca-certificates", "pki")


def etc_paths(allow_net: bool) -> list[str]:
    """The /etc entries the worker may read."""
    return [f"/etc/{name}" for name in ETC_FILES + (NET_ETC_FILES if allow_net else ())]


def system_paths(allow_net: bool) -> list[str]:
    """Everything outside the runtime, inputs and scratch that the worker may read (/dev, /proc too)."""
    return [*SYSTEM_DIRS, *etc_paths(allow_net), "/dev", "/proc"]
