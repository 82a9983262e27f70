"""What pages read on nearly every request and admins change rarely (stage labels, kinds of
events), kept in the cache until the service that changes it says so."""

import contextlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")


def kept(key: str, compute: Callable[[], T], *, timeout: int = 3600) -> T:
    """The value kept under `key`, or `compute()`'s, then kept. The cache is an optimisation:
    when it fails, the value is computed each time and the page still works."""
    try:
        value = cache.get(key)
    except Exception:
        value = None
    if value is None:
        value = compute()
        with contextlib.suppress(Exception):  # see above
            cache.set(key, value, timeout=timeout)
    return value
