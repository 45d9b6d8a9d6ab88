"""Timeouts: one float for the common case, :class:`Timeout` for each part."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

#: The longest wait accepted (about 31 years): "no limit" is spelled with a large number.
MAX_SECONDS = 1e9


@dataclass(frozen=True)
class Timeout:
    """How long each wait may last, in seconds.

    :param call: the whole request, from sending it to its final answer (default 60).
    :param connect: opening a TCP connection or starting a server process (default 10).
    :param read: the longest silence on a stream before it is treated as dead (default 300): a
        request that keeps reporting progress stays alive, one that stalls is closed and reported.
    :param max_call: with ``reset_on_progress``, the absolute limit a request may never pass.
    :param reset_on_progress: restart the ``call`` clock whenever the server reports progress.
    """

    call: float = 60.0
    connect: float = 10.0
    read: float = 300.0
    max_call: Optional[float] = None
    reset_on_progress: bool = False

    def __post_init__(self) -> None:
        for name in ("call", "connect", "read", "max_call"):
            value = getattr(self, name)
            if value is None and name == "max_call":
                continue
            # (not 0 < x also refuses NaN; waits on a longer time overflow the platform's clock.)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
                raise ValueError(f"Timeout.{name} must be a positive number of seconds, at most {MAX_SECONDS:g}; "
                                 f"got {value!r}")

    @classmethod
    def coerce(cls, value: "TimeoutLike", base: Optional["Timeout"] = None) -> "Timeout":
        """A float sets ``call`` on top of ``base``; a :class:`Timeout` is taken as is."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return base or cls()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or a Timeout, got {type(value).__name__}")
        base = base or cls()
        return Timeout(call=float(value), connect=min(base.connect, float(value)), read=base.read,
                       max_call=base.max_call, reset_on_progress=base.reset_on_progress)


TimeoutLike = Union[None, float, int, Timeout]
