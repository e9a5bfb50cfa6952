"""The rules across rows of an extract, run on its typed rows (`stg_extract`).

Duplicate keys, period ends, the training and rollout rules, and the outcomes' cadence, gaps,
units, sum rules and quarter-on-quarter jumps, each against the facts already loaded where the
rule needs them (a cumulative figure falling, a jump from the quarter before, months missing
since the latest period, a unit never seen). Each rule adds its findings through the checker of
`pipelines.load.validate` (`checker.add_rows`), which caps them per rule. A warning about a row
names its area, unit, age band and period, so it can be found without counting rows.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata

from pipelines.load.cells import STAGE_TABLE
from pipelines.load.practice_rules import check_practice_rows
from pipelines.measures import STOCK_MEASURES, UNIT_ALL

#: The practice datasets with periods and units (the framework has neither).
PRACTICE_PERIODIC = ("practice_audit", "family_feedback", "fgc_outcomes")
# A quarter-on-quarter jump is only worth a warning when the earlier quarter is not tiny.
JUMP_MIN_BASE = 20
QUARTER_END_MONTHS = (3, 6, 9, 12)
#: At most this many known units are listed beside a unit the warehouse has never seen.
KNOWN_UNITS_LISTED = 8
IMPORT_DFE_HINT = (
    "For DfE's published statistics use `rp-impact import-dfe FILE` instead; otherwise export "
    "one row per month or per quarter."
)


def long_date(day: dt.date) -> str:
    """30 June 2023 (no leading zero), as every message writes a date."""
    return f"{day.day} {day:%B %Y}"


def where(area: str, unit: str, age_band: str | None, period: str) -> str:
    """The row's place in words, for a warning: "(E06999901, unit Ashby, age band All, 30 June
    2023)"; `age_band` None for a dataset without one."""
    parts = [str(area), f"unit {unit}"]
    if age_band is not None:
        parts.append(f"age band {age_band}")
    return "(" + ", ".join([*parts, period]) + ")"


#: A place as :func:`where` writes it, at the end of a message: "(AREA, unit U[, age band B][,
#: anything else: agency, course, period])" before the final full stop.
_PLACE_TEXT = re.compile(
    r" \((?P<area>[^,()]+), unit (?P<unit>[^,()]+)(?:, age band (?P<age_band>[^,()]+))?"
    r"(?:, (?P<period>[^()]+))?\)(?=\.|$)"
)


def split_place(message: str) -> tuple[str, dict[str, str]]:
    """The inverse of :func:`where` for a table: the message without its place, and the place
    (``area``, ``unit``, ``age_band``, ``period``; "" where absent), so a table can show the
    unit, age band and period in columns of their own, first, where a narrow column that
    cuts the message short still shows them."""
    empty = {"area": "", "unit": "", "age_band": "", "period": ""}
    places = list(_PLACE_TEXT.finditer(message or ""))
    found = places[-1] if places else None  # the last place in the message is the row's
    if found is None:
        return message, empty
    place = {key: (value or "") for key, value in found.groupdict().items()}
    return (message[: found.start()] + message[found.end() :]).strip(), place


def _months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _month_end(day: dt.date, months: int) -> dt.date:
    """The last day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _missing_text(after: dt.date, before: dt.date, step: int) -> str:
    """The periods strictly between two period ends, as words: "June 2023", "June to August
    2023", or for quarters "the quarter ending 30 September 2023"."""
    first, last = _month_end(after, step), _month_end(before, -step)
    if step == 3:
        if first == last:
            return f"the quarter ending {long_date(first)}"
        return f"the quarters ending {long_date(first)} to {long_date(last)}"
    if first == last:
        return f"{first:%B %Y}"
    if first.year == last.year:
        return f"{first:%B} to {last:%B %Y}"
    return f"{first:%B %Y} to {last:%B %Y}"


def check_rows(checker) -> None:
    """Every rule across rows that applies to the checker's dataset, in order."""
    key = ", ".join(checker.contract.key)
    first_key_column = checker.header(checker.contract.key[0])
    # A grouped count finds out cheaply whether any key repeats; the window that names the
    # first row of each repeat runs only then.
    repeated = checker.con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {STAGE_TABLE} GROUP BY {key} HAVING count(*) > 1)"
    ).fetchone()[0]
    if repeated:
        checker.add_rows(
            "duplicate_key",
            f"SELECT _row, first_row FROM (SELECT _row, min(_row) OVER (PARTITION BY {key}) "
            f"AS first_row FROM {STAGE_TABLE}) WHERE _row <> first_row",
            [],
            first_key_column,
            lambda row: f"repeats the key of row {row[1]} ({', '.join(checker.contract.key)}).",
            "Each key may appear once; remove the duplicate or correct its key.",
        )
    if "period_end" in checker.mapping:
        name = checker.header("period_end")
        checker.add_rows(
            "period_not_end",
            f"SELECT _row, period_end FROM {STAGE_TABLE} WHERE period_end IS NOT NULL "
            "AND period_end <> last_day(period_end)",
            [],
            name,
            "is not the last day of a month or quarter.",
            "Use the period's last day, e.g. 2024-06-30 for April-June 2024.",
        )
        checker.add_rows(
            "period_in_future",
            f"SELECT _row, period_end FROM {STAGE_TABLE} WHERE period_end > ?",
            [dt.date.today()],
            name,
            "is in the future.",
            "Only periods that have ended can be reported.",
        )
    if checker.contract.dataset == "training":
        checker.add_rows(
            "trained_above_scope",
            f"SELECT _row, staff_trained FROM {STAGE_TABLE} WHERE staff_trained > staff_in_scope",
            [],
            checker.header("staff_trained"),
            lambda row: f"is more than staff_in_scope ({row[1]} trained).",
            "Staff trained cannot exceed staff in scope; check both columns for this row.",
        )
        _check_training_falls(checker)
    if checker.contract.dataset == "rollout" and "complete_date" in checker.mapping:
        checker.add_rows(
            "complete_before_start",
            f"SELECT _row, complete_date FROM {STAGE_TABLE} WHERE complete_date < start_date",
            [],
            checker.header("complete_date"),
            "is before start_date.",
            "A rollout completes on or after the day it starts; swap or correct the dates.",
        )
    if checker.contract.dataset == "population":
        checker.add_rows(
            "population_not_positive",
            f"SELECT _row, population_0_17 FROM {STAGE_TABLE} WHERE population_0_17 <= 0",
            [],
            checker.header("population_0_17"),
            "is 0; a population must be more than 0.",
            "Give the mid-year estimate for this row.",
        )
    if checker.contract.dataset in ("outcomes", "training", *PRACTICE_PERIODIC):
        _check_new_units(checker)
    check_practice_rows(checker)
    if checker.contract.dataset == "outcomes":
        step = _check_cadence(checker)
        if step is not None:
            _check_gap_since_warehouse(checker, step)
        _check_outcome_sums(checker)
        _check_jumps(checker)


def _check_training_falls(checker) -> None:
    checker.add_rows(
        "trained_fell",
        f"""SELECT _row, staff_trained, area_code, unit, agency, course, period_end, previous
            FROM (
            SELECT s._row, s.staff_trained, s.period_end, s.area_code, s.unit, s.agency,
                   s.course, lag(s.staff_trained) OVER w AS previous
            FROM (SELECT _row, period_end, area_code, unit, agency, course, staff_trained
                  FROM {STAGE_TABLE}
                  UNION ALL
                  SELECT NULL, period_end, area_code, unit, agency, course, staff_trained
                  FROM fct_training f WHERE NOT EXISTS (
                      SELECT 1 FROM {STAGE_TABLE} t WHERE t.period_end = f.period_end
                      AND t.area_code = f.area_code AND t.unit = f.unit
                      AND t.agency = f.agency AND t.course = f.course)) s
            WINDOW w AS (PARTITION BY area_code, unit, agency, course ORDER BY period_end))
          WHERE _row IS NOT NULL AND staff_trained < previous""",
        [],
        checker.header("staff_trained"),
        lambda row: (
            f"is lower than the previous period's cumulative figure ({row[7]}) "
            + where(row[2], row[3], None, f"{row[4]}, {row[5]}, {long_date(row[6])}")
            + "."
        ),
        "staff_trained is cumulative; check whether leavers were removed or a row is wrong.",
    )


def _value_columns(checker) -> list[str]:
    return [c for c in checker.report.present_value_columns]


def _check_outcome_sums(checker) -> None:
    """Both sum rules for every measure from two small aggregate tables (one scan each)."""
    measures = _value_columns(checker)
    if not measures:
        return
    unit_sums = ", ".join(f"sum({m}) AS {m}__total" for m in measures)
    band_sums = ", ".join(
        f"sum({m}) AS {m}__total, count({m}) = count(*) AS {m}__complete" for m in measures
    )
    all_values = ", ".join(f"a.{m}" for m in measures)
    unit_columns = ", ".join(f"s.{m}__total" for m in measures)
    band_columns = ", ".join(f"s.{m}__total, s.{m}__complete" for m in measures)
    _all_rows_beside_sums(checker, "_unit_sums", "unit", all_values, unit_columns, unit_sums)
    _all_rows_beside_sums(checker, "_band_sums", "age_band", all_values, band_columns, band_sums)
    try:
        for measure in measures:
            checker.add_rows(
                "unit_sum_above_all",
                f"SELECT _row, {measure}__total, {_PLACE} FROM _unit_sums "
                f"WHERE {measure}__total > {measure}",
                [],
                measure,
                lambda row: (
                    f"the localities add up to {row[1]}, more than this All row {_row_place(row)}."
                ),
                "Check for a locality counted twice, or an All row that is out of date.",
            )
            checker.add_rows(
                "age_bands_not_all",
                f"SELECT _row, {measure}__total, {_PLACE} FROM _band_sums "
                f"WHERE {measure}__complete AND {measure}__total <> {measure}",
                [],
                measure,
                lambda row: (
                    f"the age bands add up to {row[1]}, not to this All row {_row_place(row)}."
                ),
                "Check that every age band is present and that the All row is the total.",
            )
    finally:
        checker.con.execute("DROP TABLE IF EXISTS _unit_sums")
        checker.con.execute("DROP TABLE IF EXISTS _band_sums")


_PLACE = "area_code, unit, age_band, period_end"


def _row_place(row) -> str:
    """`where` for a row whose last four fields are `_PLACE`."""
    area, unit, age_band, period = row[-4:]
    return where(area, unit, age_band, long_date(period))


def _all_rows_beside_sums(checker, table, broken_down_by, values, totals, sums) -> None:
    """TEMP `table`: each `All` row of `broken_down_by` (unit or age band), its `values`, and
    the `totals` of the other rows in its group (the same period, area and other breakdown)."""
    keys = ", ".join(
        c for c in ("period_end", "area_code", "unit", "age_band") if c != broken_down_by
    )
    checker.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT a._row, {values}, {totals}, a.area_code, a.unit, a.age_band, a.period_end
            FROM {STAGE_TABLE} a JOIN (
                SELECT {keys}, {sums}
                FROM {STAGE_TABLE} WHERE {broken_down_by} <> '{UNIT_ALL}'
                GROUP BY {keys}) s
              USING ({keys})
            WHERE a.{broken_down_by} = '{UNIT_ALL}'"""
    )


def _check_jumps(checker) -> None:
    """All measures in one pass: quarter values and their lags per series, then per measure."""
    measures = _value_columns(checker)
    if not measures:
        return
    values = ", ".join(measures)
    quarter_values = ", ".join(
        (
            f"arg_max_null({m}, period_end)"
            if m in STOCK_MEASURES
            else f"CASE WHEN count({m}) = count(*) THEN sum({m}) END"
        )
        + f" AS {m}"
        for m in measures
    )
    previous = ", ".join(f"p.{m} AS {m}__previous" for m in measures)
    checker.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _jump_quarters AS
            WITH combined AS (
                SELECT _row, period_end, area_code, unit, age_band, {values}
                FROM {STAGE_TABLE}
                UNION ALL
                SELECT NULL, period_end, area_code, unit, age_band, {values}
                FROM fct_outcomes f
                WHERE period_end >= (SELECT min(period_end) - INTERVAL 6 MONTH
                                     FROM {STAGE_TABLE})
                  AND period_end <= (SELECT max(period_end) FROM {STAGE_TABLE})
                  AND NOT EXISTS (SELECT 1 FROM {STAGE_TABLE} t
                      WHERE t.period_end = f.period_end AND t.area_code = f.area_code
                      AND t.unit = f.unit AND t.age_band = f.age_band)),
            quarters AS MATERIALIZED (
                SELECT area_code, unit, age_band,
                       last_day(date_trunc('quarter', period_end) + INTERVAL 2 MONTH) AS q,
                       min(_row) AS first_row, {quarter_values}
                FROM combined GROUP BY area_code, unit, age_band, q)
            -- Each quarter meets the one before it by a hash join (cheaper than a window
            -- sorting every series); a quarter with no quarter just before it has no jump.
            SELECT c.*, {previous}
            FROM quarters c JOIN quarters p
              ON c.area_code = p.area_code AND c.unit = p.unit AND c.age_band = p.age_band
             AND p.q = last_day(c.q - INTERVAL 3 MONTH)
            WHERE c.first_row IS NOT NULL"""
    )
    try:
        for measure in measures:
            previous = f"{measure}__previous"
            checker.add_rows(
                "jump_over_50pct",
                f"""SELECT first_row, round(100.0 * ({measure} - {previous}) / {previous})
                        AS pct, area_code, unit, age_band, q FROM _jump_quarters
                    WHERE {previous} >= {JUMP_MIN_BASE}
                      AND abs({measure} - {previous}) > 0.5 * {previous}""",
                [],
                measure,
                lambda row: (
                    f"the quarter's figure changed by {int(row[1]):+d}% on the quarter before "
                    + where(row[2], row[3], row[4], f"quarter ending {long_date(row[5])}")
                    + "."
                ),
                "Check the figure; if it is right, no action is needed.",
            )
    finally:
        checker.con.execute("DROP TABLE IF EXISTS _jump_quarters")


# -- cadence, gaps and units (outcomes; units for training too) -------------------------------


def _printable(text) -> str:
    """A unit as a message may quote it: control and format characters dropped, bounded."""
    return "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C")[:60]


def _table_exists(con, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0]
    )


def _check_cadence(checker) -> int | None:
    """Refuse annual or irregular periods; warn of months missing inside the file.

    Returns the file's step in months (1 or 3), 0 for a file of one period, or None when the
    cadence refused it. DfE's published 31 March counts loaded as an extract would otherwise
    be read as one quarter a year (the findings would speak of quarters that are years).
    """
    periods = checker.con.execute(
        f"SELECT period_end, min(_row) FROM {STAGE_TABLE} WHERE period_end IS NOT NULL "
        "AND period_end = last_day(period_end) GROUP BY period_end ORDER BY period_end"
    ).fetchall()
    if len(periods) < 2:
        return 0
    column = checker.header("period_end")
    days = [p[0] for p in periods]
    gaps = [_months_between(a, b) for a, b in zip(days, days[1:], strict=False)]
    step = min(gaps)
    if step >= 12 and len({d.month for d in days}) == 1:
        checker.add(
            "period_cadence",
            f"the periods are a year apart ({long_date(days[0])} to {long_date(days[-1])}, "
            f"{len(days)} periods): an outcomes extract holds monthly or quarterly figures, so "
            "each year would be read as a quarter.",
            IMPORT_DFE_HINT,
            row=periods[1][1],
            column=column,
            value=str(days[1]),
        )
        return None
    quarterly = (
        step == 3
        and all(d.month in QUARTER_END_MONTHS for d in days)
        and all(g % 3 == 0 for g in gaps)
    )
    if step != 1 and not quarterly:
        index = next(
            (
                i
                for i, gap in enumerate(gaps, start=1)
                if gap not in (1, 3) or days[i].month not in QUARTER_END_MONTHS
            ),
            1,
        )
        checker.add(
            "period_cadence",
            f"{long_date(days[index])} comes {gaps[index - 1]} months after "
            f"{long_date(days[index - 1])}: the periods of an outcomes extract are months, or "
            "quarters ending in March, June, September or December.",
            IMPORT_DFE_HINT,
            row=periods[index][1],
            column=column,
            value=str(days[index]),
        )
        return None
    checker.add_many(
        "period_gap",
        [
            (
                f"there are no rows for {_missing_text(days[i - 1], days[i], step)}, between "
                f"{long_date(days[i - 1])} and {long_date(days[i])}.",
                periods[i][1],
                str(days[i]),
            )
            for i, gap in enumerate(gaps, start=1)
            if gap > step
        ],
        "Add the missing periods' rows, or check the period_end dates; the file can be loaded "
        "as it is.",
        column,
    )
    return step


def _check_gap_since_warehouse(checker, step: int) -> None:
    """Warn when an area's first period in the file is more than one period after the latest
    the warehouse holds for it (a quarter's extract skipped, or a wrong year)."""
    if not _table_exists(checker.con, "int_outcome_coverage"):
        return  # a dry run without a warehouse has nothing to compare with
    found = checker.con.execute(
        f"""WITH per_period AS (
                SELECT area_code, period_end, min(_row) AS first_row FROM {STAGE_TABLE}
                WHERE period_end IS NOT NULL AND area_code IS NOT NULL GROUP BY ALL),
            staged AS (
                SELECT area_code, min(period_end) AS first,
                       arg_min(first_row, period_end) AS first_row
                FROM per_period GROUP BY area_code),
            held AS (
                SELECT area_code, max(period_end) AS latest,
                       bool_and(month(period_end) IN (3, 6, 9, 12)) AS quarterly
                FROM int_outcome_coverage
                WHERE area_code IN (SELECT area_code FROM staged) GROUP BY area_code)
            SELECT s.area_code, s.first, s.first_row, h.latest, h.quarterly
            FROM staged s JOIN held h USING (area_code)
            WHERE s.first > h.latest ORDER BY s.first_row"""
    ).fetchall()
    issues = []
    for area, first, first_row, latest, quarterly in found:
        area_step = step or (3 if quarterly and first.month in QUARTER_END_MONTHS else 1)
        if _months_between(latest, first) <= area_step:
            continue
        issues.append(
            (
                f"{area} has no figures for {_missing_text(latest, first, area_step)}: the "
                f"warehouse's latest period for it is {long_date(latest)} and this file starts "
                f"at {long_date(first)}.",
                first_row,
                str(first),
            )
        )
    checker.add_many(
        "period_gap",
        issues,
        "Load the missing periods' extract as well, or check the period_end dates; the file "
        "can be loaded as it is.",
        checker.header("period_end"),
    )


def _check_new_units(checker) -> None:
    """Name each unit the warehouse has never held for an area that already has named units
    (outcomes, training or rollout): a misspelt locality would start a series of its own."""
    sources = [
        "SELECT area_code, unit FROM fct_training",
        "SELECT area_code, unit FROM fct_rollout",
    ]
    if _table_exists(checker.con, "int_outcome_series"):
        sources.append("SELECT area_code, unit FROM int_outcome_series")
    found = checker.con.execute(
        f"""WITH staged AS (
                SELECT area_code, unit, min(_row) AS first_row FROM {STAGE_TABLE}
                WHERE unit IS NOT NULL AND unit <> '{UNIT_ALL}' AND area_code IS NOT NULL
                GROUP BY ALL),
            known AS (
                SELECT DISTINCT area_code, unit FROM ({" UNION ALL ".join(sources)})
                WHERE unit <> '{UNIT_ALL}'
                  AND area_code IN (SELECT area_code FROM staged))
            SELECT s.area_code, s.unit, s.first_row,
                   (SELECT list(k.unit ORDER BY k.unit) FROM known k
                    WHERE k.area_code = s.area_code) AS known_units
            FROM staged s
            WHERE EXISTS (SELECT 1 FROM known k WHERE k.area_code = s.area_code)
              AND NOT EXISTS (SELECT 1 FROM known k
                              WHERE k.area_code = s.area_code AND k.unit = s.unit)
            ORDER BY s.first_row"""
    ).fetchall()
    issues = []
    for area, unit, first_row, known in found:
        listed = ", ".join(_printable(k) for k in known[:KNOWN_UNITS_LISTED])
        if len(known) > KNOWN_UNITS_LISTED:
            listed += f" and {len(known) - KNOWN_UNITS_LISTED} more"
        by_lower = {str(k).lower(): k for k in known}
        close = difflib.get_close_matches(str(unit).lower(), list(by_lower), n=1, cutoff=0.6)
        guess = f": did you mean {_printable(by_lower[close[0]])}?" if close else "."
        issues.append(
            (
                f"the unit '{_printable(unit)}' is new for {area} (the warehouse has {listed})"
                + guess,
                first_row,
                str(unit),
            )
        )
    checker.add_many(
        "unit_unknown",
        issues,
        "Check the spelling: a misspelt unit starts a series of its own. A new locality or team "
        "needs no action.",
        checker.header("unit"),
    )
