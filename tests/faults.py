"""Test-only fault injection for the load path, outside the production signatures.

`pipelines.load.ingest` calls `_reached(step)` at each named point of a load ("history",
"update", "insert" in the merge; "refresh" after the materialised tables). `fail_after(step)`
replaces that hook for the duration of a `with` block so the load raises `InjectedFault` at
that point, inside its transaction: the tests then check that nothing was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from pipelines.load import ingest

STEPS = ("history", "update", "insert", "refresh")


class InjectedFault(RuntimeError):
    """Raised by tests to prove that a failure mid-merge leaves the warehouse unchanged."""


@contextmanager
def fail_after(step: str) -> Iterator[None]:
    """Make every load in the block fail straight after `step`."""
    if step not in STEPS:
        raise ValueError(f"Unknown step '{step}'; the load reaches: {', '.join(STEPS)}.")

    def fail(reached: str) -> None:
        if reached == step:
            raise InjectedFault(f"injected failure after {step}")

    with mock.patch.object(ingest, "_reached", fail):
        yield
