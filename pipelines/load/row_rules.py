"""The rules across rows of an extract, run on its typed rows (`stg_extract`).

Duplicate keys, period ends, the training and rollout rules, and the outcomes' sum rules and
quarter-on-quarter jumps, each against the facts already loaded where the rule needs them (a
cumulative figure falling, a jump from the quarter before). Each rule adds its findings through
the checker of `pipelines.load.validate` (`checker.add_rows`), which caps them per rule.
"""

from __future__ import annotations

import datetime as dt

from pipelines.load.cells import STAGE_TABLE
from pipelines.measures import STOCK_MEASURES, UNIT_ALL

# A quarter-on-quarter jump is only worth a warning when the earlier quarter is not tiny.
JUMP_MIN_BASE = 20


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
    if checker.contract.dataset == "outcomes":
        _check_outcome_sums(checker)
        _check_jumps(checker)


def _check_training_falls(checker) -> None:
    checker.add_rows(
        "trained_fell",
        f"""SELECT _row, staff_trained FROM (
            SELECT s._row, s.staff_trained, s.period_end,
                   lag(s.staff_trained) OVER w AS previous
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
        "is lower than the previous period's cumulative figure.",
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
                f"SELECT _row, {measure}__total FROM _unit_sums WHERE {measure}__total > {measure}",
                [],
                measure,
                lambda row: f"the localities add up to {row[1]}, more than this All row.",
                "Check for a locality counted twice, or an All row that is out of date.",
            )
            checker.add_rows(
                "age_bands_not_all",
                f"SELECT _row, {measure}__total FROM _band_sums "
                f"WHERE {measure}__complete AND {measure}__total <> {measure}",
                [],
                measure,
                lambda row: f"the age bands add up to {row[1]}, not to this All row.",
                "Check that every age band is present and that the All row is the total.",
            )
    finally:
        checker.con.execute("DROP TABLE IF EXISTS _unit_sums")
        checker.con.execute("DROP TABLE IF EXISTS _band_sums")


def _all_rows_beside_sums(checker, table, broken_down_by, values, totals, sums) -> None:
    """TEMP `table`: each `All` row of `broken_down_by` (unit or age band), its `values`, and
    the `totals` of the other rows in its group (the same period, area and other breakdown)."""
    keys = ", ".join(
        c for c in ("period_end", "area_code", "unit", "age_band") if c != broken_down_by
    )
    checker.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT a._row, {values}, {totals}
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
            SELECT c.* EXCLUDE (area_code, unit, age_band, q), {previous}
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
                        AS pct FROM _jump_quarters
                    WHERE {previous} >= {JUMP_MIN_BASE}
                      AND abs({measure} - {previous}) > 0.5 * {previous}""",
                [],
                measure,
                lambda row: (
                    f"the quarter's figure changed by {int(row[1]):+d}% on the quarter before."
                ),
                "Check the figure; if it is right, no action is needed.",
            )
    finally:
        checker.con.execute("DROP TABLE IF EXISTS _jump_quarters")
