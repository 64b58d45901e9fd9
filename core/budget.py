"""What an input will cost the server, estimated before the work and checked against a per-request budget.

On a class server one student's upload or link must not take the machine from everyone else.
Size limits on files are not enough: a 128-byte ``.npy`` header can claim terabytes, a 6 kB PNG
can decode to 49 megapixels, a WAV header can claim a sample rate that makes the resampler
allocate hundreds of gigabytes. So every reader estimates, from headers and counts, the memory
its work will cause (files × pixels × channels × bytes × copies; samples × rate; frames × bands)
and calls :func:`check_memory` before doing it. The budget is ``DLLAB_REQUEST_MEMORY_MB``
(default 1024 MB), per request.

Work that fits the budget but would take a while waits behind a button (see
:data:`LIGHT_WORK_SECONDS`): a pasted link never makes the server do heavy work before a click.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

REQUEST_MEMORY_ENV = "DLLAB_REQUEST_MEMORY_MB"
DEFAULT_REQUEST_MEMORY_MB = 1024
# Work a page may start on its own when it opens (from a link, say); anything slower waits for a
# click. The bound for a page opened from any in-range link is 10 s; estimates can be off
# by a factor of two on a busy machine, so the automatic work stays well below it.
LIGHT_WORK_SECONDS = 3.0
LIGHT_WORK_BYTES = 400_000_000
# Work a request may ask for at all, even after a click: past this it is refused with advice,
# since the script thread doing it holds a share of the server's two cores for everyone.
MAX_WORK_SECONDS = 60.0


class BudgetError(ValueError):
    """An input whose work would cost more memory than one request may use; the message says how to shrink it."""


def request_memory_bytes() -> int:
    """The per-request memory budget from ``DLLAB_REQUEST_MEMORY_MB`` (default 1024 MB)."""
    try:
        megabytes = float(os.environ.get(REQUEST_MEMORY_ENV, DEFAULT_REQUEST_MEMORY_MB))
    except ValueError:
        megabytes = DEFAULT_REQUEST_MEMORY_MB
    return int(max(megabytes, 1.0) * 1_000_000)


def format_megabytes(count: float) -> str:
    """Bytes as a short decimal size (MB = 10⁶ bytes), with GB and TB for the absurd ones."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count / 1e6:,.2f} MB"


def check_memory(what: str, needed_bytes: float, advice: str) -> None:
    """Refuse work whose estimated memory exceeds the request budget, before doing any of it.

    ``what`` names the input ("the zip's 20,000 images at 224×224"), ``advice`` says how to fit.
    """
    budget = request_memory_bytes()
    if needed_bytes > budget:
        raise BudgetError(
            f"{what} would need about {format_megabytes(needed_bytes)} of memory; one request on this server may use "
            f"at most {format_megabytes(budget)}. {advice} (Whoever runs the server can raise the limit with "
            f"{REQUEST_MEMORY_ENV}.)"
        )


@dataclass(frozen=True)
class WorkEstimate:
    """The seconds and peak bytes a piece of work is expected to take, from counts and measured rates."""

    seconds: float
    peak_bytes: int

    @property
    def light(self) -> bool:
        """True when a page may do this work on its own; otherwise it waits behind a button."""
        return self.seconds <= LIGHT_WORK_SECONDS and self.peak_bytes <= LIGHT_WORK_BYTES

    def describe(self) -> str:
        """'about 12 s and 600 MB', for the button that starts the work."""
        seconds = f"{self.seconds:,.0f} s" if self.seconds >= 1.5 else "a second"
        return f"about {seconds} and {format_megabytes(self.peak_bytes)}"

    def __add__(self, other: "WorkEstimate") -> "WorkEstimate":
        # Conservative: what the first step made is usually still held while the second runs.
        return WorkEstimate(self.seconds + other.seconds, self.peak_bytes + other.peak_bytes)
