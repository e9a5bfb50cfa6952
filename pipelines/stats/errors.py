"""The one error type the statistics layer raises for input it cannot analyse."""


class StatsInputError(ValueError):
    """The data cannot support the requested method; the message says why and what to do."""


def check_confidence(confidence: float) -> None:
    """Refuse a confidence level outside (0, 1)."""
    if not 0 < confidence < 1:
        raise StatsInputError("The confidence level must be between 0 and 1, for example 0.95.")


def require_columns(frame, columns, what: str = "table") -> None:
    """Refuse ``frame`` (called ``what`` in the message) when it lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StatsInputError(
            f"The {what} has no column(s) {', '.join(missing)}. Check the column names passed in."
        )
