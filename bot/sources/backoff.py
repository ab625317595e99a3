"""When to poll a source next: jittered intervals after success, capped backoff after failure.

Failure: exponential backoff with *full jitter* (the AWS Architecture Blog
variant), with the base as a floor::

    ceiling = min(max_seconds, base_seconds * 2 ** error_count)
    wait    = uniform(min(base_seconds, ceiling), ceiling)

Full jitter spreads the retries of many sources that failed together (one
host down takes many feeds with it) over the whole window instead of bunching
them at the same instant. The floor keeps a failing source from being polled
more often than a healthy one (plain full jitter may draw ~0 s).

Success: the interval +-10 %, so 1,000 sources added at once drift apart
after a few cycles instead of all firing in the same second forever.
"""

from __future__ import annotations

import random

SUCCESS_JITTER = 0.10  # +-10 % of the interval
_MAX_EXPONENT = 30  # 2**30 * any sane base is far above any cap; avoids huge floats


def next_poll_after_failure(
    error_count: int, *, base_seconds: float, max_seconds: float, rng: random.Random
) -> float:
    """Seconds to wait after the ``error_count``-th failure in a row (1 = first failure).

    Exponential in ``error_count``, full jitter, never below ``base_seconds``
    (unless that is above the cap) and never above ``max_seconds``.
    """
    exponent = min(max(error_count, 1), _MAX_EXPONENT)
    ceiling = min(max_seconds, base_seconds * 2**exponent)
    floor = min(base_seconds, ceiling)
    return rng.uniform(floor, ceiling)


def next_poll_after_success(interval_seconds: float, rng: random.Random) -> float:
    """Seconds to wait after a successful poll: the interval with +-10 % jitter."""
    return interval_seconds * rng.uniform(1 - SUCCESS_JITTER, 1 + SUCCESS_JITTER)
