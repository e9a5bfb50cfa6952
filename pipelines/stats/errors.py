"""The one error type the statistics layer raises for input it cannot analyse."""


class StatsInputError(ValueError):
    """The data cannot support the requested method; the message says why and what to do."""
