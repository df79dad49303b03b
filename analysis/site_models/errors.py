"""Site-selection errors, all :class:`~layers.errors.InputError` (the message says what to change)."""

from __future__ import annotations

from layers.errors import InputError


class SiteSelectionError(InputError):
    """Site selection cannot run on these inputs; the message says what to change."""


class NoGapError(SiteSelectionError):
    """There is no uncovered elderly demand that a candidate could cover: nothing to close."""


class InfeasibleError(SiteSelectionError):
    """The model has no solution (LSCP with uncoverable demand in strict mode, too small p)."""
