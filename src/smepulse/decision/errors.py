"""The decision layer's one error kind (a SmepulseError: one line, CLI exit 2)."""
from __future__ import annotations

from smepulse.errors import SmepulseError


class DecisionError(SmepulseError):
    """An application, a policy file, a snapshot or an audit record that cannot be used as given."""


class UnknownDecision(DecisionError):
    """No record with this decision id in the audit log."""


class OfferNotOpen(DecisionError):
    """An offer that cannot be accepted: the decision was not an approval, or the offer expired."""


class OfferExceedsExposure(OfferNotOpen):
    """An offer that no longer fits the firm's exposure limits: loans booked since the decision (another
    offer accepted meanwhile) plus this one go over the policy's cap."""


class ApplicationInvalid(DecisionError):
    """An application that fails validation: `field` is the dotted path of the first bad field ('' for the
    whole body), `kind` pydantic's error type (e.g. 'missing', 'extra_forbidden'), so a caller can say it in
    the applicant's language."""

    def __init__(self, message: str, field: str = "", kind: str = "", **params):
        super().__init__(message)
        self.field, self.kind, self.params = field, kind, params


class DecisionUnavailable(DecisionError):
    """The decision service cannot start: its model or policy does not load or verify (the operator's fault,
    not the applicant's: the web answers 503)."""
