"""The one COVID-19 window every method flags, and the analysis plan starts from.

1 March 2020 (the month of the first national lockdown in England, announced 23 March 2020)
to 31 March 2021 (the end of financial year 2020-21, when the third lockdown's "stay at home"
order ended on 29 March 2021). Source: Institute for Government, "Timeline of UK government
coronavirus lockdowns and restrictions" (2022). DfE's reporting years 2020 and 2021 (years
ending 31 March) are the ones it overlaps.

Before this module, its.py said March 2020 to March 2022, before_after.py March 2020 to March
2021 and synth.py the years 2020 and 2021. The per-council analysis plan
(:mod:`pipelines.analysis.plan`) starts from this window and may set its own; methods take
the window as an argument where a plan is in force.
"""

from __future__ import annotations

import pandas as pd

COVID_START = pd.Timestamp("2020-03-01")
COVID_END = pd.Timestamp("2021-03-31")


def covid_label(start: pd.Timestamp = COVID_START, end: pd.Timestamp = COVID_END) -> str:
    """'March 2020 to March 2021'."""
    return f"{start:%B %Y} to {end:%B %Y}"


def covid_reporting_years(start: pd.Timestamp = COVID_START, end: pd.Timestamp = COVID_END):
    """DfE reporting years (ending 31 March) that overlap the window: (2020, 2021)."""
    first = start.year + (1 if start.month > 3 else 0)
    last = end.year + (1 if end.month > 3 else 0)
    return tuple(range(first, last + 1))


def overlaps_covid(
    first, last, start: pd.Timestamp = COVID_START, end: pd.Timestamp = COVID_END
) -> bool:
    """True when the dates ``first``..``last`` touch the window."""
    return pd.Timestamp(first) <= end and pd.Timestamp(last) >= start
