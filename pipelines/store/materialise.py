"""The `int_*` tables: materialised at ingest, inside the upload's transaction.

Pages read one area at a time, and a national warehouse holds 19M+ fact rows, so three tables
are computed when facts change, for the areas and periods an upload touched:

- `int_outcome_periods`: every outcome measure at month, quarter and financial-year grain, with
  its population and population year (`mart_outcome_rates` unpivots it);
- `int_outcome_coverage` and `int_outcome_series`: per area, period and measure, the values
  present and suppressed; and the area x unit x age band series held.

Each has a reference definition as a view (`calc_*`, the SQL that defines it), an incremental
refresh (`refresh_outcome_coverage`, `refresh_outcome_periods`) that must equal it row for row
(`Warehouse.integrity_problems` checks), and a fingerprint in `meta_materialised`, so a changed
definition rebuilds the table on the next open (`ensure_materialised`).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb

from pipelines.contracts import OUTCOMES
from pipelines.measures import STOCK_MEASURES
from pipelines.store import models

OUTCOME_PERIODS_TABLE = "int_outcome_periods"
OUTCOME_COVERAGE_TABLE = "int_outcome_coverage"
OUTCOME_SERIES_TABLE = "int_outcome_series"
#: The month grain of monthly areas: their facts as they are, served by a view (not stored).
OUTCOME_MONTHS_VIEW = "int_outcome_months"
#: Stored quarters and financial years with the served months: what `mart_outcome_rates` reads.
OUTCOME_ALL_PERIODS_VIEW = "int_outcome_all_periods"
#: Population, its year and the after-period flag per series and target year (materialised).
POPULATION_YEARS_TABLE = "int_population_years"
#: The grains stored in `int_outcome_periods`; months are served from the facts.
STORED_GRAINS = ("quarter", "financial_year")
_EXPECTED_MONTHS = "CASE grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END"


def _flow_sum(measure: str, incomplete: str) -> str:
    """A flow over a period: the sum of its rows, NULL when the period is incomplete or any
    row is suppressed (never a partial sum)."""
    return (
        f"CASE WHEN {incomplete} THEN NULL WHEN count({measure}) < count(*) THEN NULL "
        f"ELSE sum({measure}) END"
    )


def _never_supplied(measure: str) -> str:
    """No row of the period holds the measure or a suppression marker for it (a column no
    extract gave): the period is 'not supplied', not 'suppressed in source'."""
    reason = f"{measure}_null_reason"
    return (
        f"(count({measure}) = 0 AND count(*) FILTER (WHERE {reason} IS NOT NULL "
        f"AND {reason} <> 'not supplied') = 0)"
    )


def _measure_aggregates(measure: str) -> str:
    """A measure at a grain: flows summed, stocks at the period end, NULL with a reason
    when the period is incomplete or holds a suppressed month (never a partial sum)."""
    reason = f"{measure}_null_reason"
    incomplete = f"sum(months_in_row) < {_EXPECTED_MONTHS}"
    if measure in STOCK_MEASURES:
        value = f"CASE WHEN {incomplete} THEN NULL ELSE arg_max_null({measure}, period_end) END"
        why = (
            f"CASE WHEN {incomplete} THEN 'incomplete period' "
            f"WHEN arg_max_null({measure}, period_end) IS NULL "
            f"THEN coalesce(arg_max_null({reason}, period_end), 'not supplied') END"
        )
    else:
        value = _flow_sum(measure, incomplete)
        why = (
            f"CASE WHEN {incomplete} THEN 'incomplete period' "
            f"WHEN count(*) = 1 AND count({measure}) = 0 "
            f"THEN coalesce(min({reason}), 'not supplied') "
            f"WHEN {_never_supplied(measure)} THEN 'not supplied' "
            f"WHEN count({measure}) < count(*) THEN 'suppressed in source' END"
        )
    return f"{value} AS {measure},\n       {why} AS {reason}"


#: Each series' earliest population estimate (a CTE over `pop`): the one a period before it
#: falls back to, so the reference view and the incremental lookup share one rule.
_FIRST_POP = """first_pop AS (
    SELECT area_code, unit, age_band, min(population_year) AS population_year,
           arg_min(population_0_17, population_year) AS population_0_17
    FROM pop GROUP BY area_code, unit, age_band
)"""


def _asof_matched(rows: str, r: str, at_or_after: str) -> str:
    """The `matched` CTE: each row of `rows` (aliased `r`) with its series' latest estimate in
    `pop` for which `at_or_after` holds (NULL before the first), by an ASOF join."""
    return f"""matched AS (
    SELECT {r}.*, pop.population_year AS asof_year, pop.population_0_17 AS asof_population
    FROM {rows} {r}
    ASOF LEFT JOIN pop
      ON {r}.area_code = pop.area_code AND {r}.unit = pop.unit AND {r}.age_band = pop.age_band
     AND {at_or_after}
)"""


def _outcome_periods_sql() -> str:
    return "CREATE OR REPLACE VIEW calc_outcome_periods AS\n" + _outcome_periods_select(
        grains=STORED_GRAINS
    )


def _outcome_months_sql() -> str:
    return "CREATE OR REPLACE VIEW calc_outcome_months AS\n" + _outcome_periods_select(
        grains=("month",)
    )


_BUCKETS = {
    "month": "SELECT 'month' AS grain, period_end AS bucket_end, * FROM base "
    "WHERE source_grain = 'month'",
    "quarter": "SELECT 'quarter' AS grain, "
    "last_day(date_trunc('quarter', period_end) + INTERVAL 2 MONTH) AS bucket_end, * FROM base",
    "financial_year": "SELECT 'financial_year' AS grain, "
    "make_date(year(period_end) + CASE WHEN month(period_end) >= 4 THEN 1 ELSE 0 END, 3, 31) "
    "AS bucket_end, * FROM base",
}


def _outcome_periods_select(
    base_filter: str = "TRUE", grains: tuple[str, ...] = ("month", *STORED_GRAINS)
) -> str:
    """Every outcome measure at month, quarter and financial-year grain (`grains`), one wide
    row per period, area, unit and age band, with the population used for its rates: the
    definition `calc_outcome_periods` (quarters and financial years, stored) and
    `calc_outcome_months` (the months of monthly areas, served from the facts) are cut from.

    The population is the latest mid-year (30 June) estimate at or before the period end, so
    the year ending 31 March Y uses mid-(Y-1), as DfE does; before the first estimate the
    earliest is used and flagged (`population_after_period`).
    """
    bucketed = "\n    UNION ALL\n    ".join(_BUCKETS[g] for g in grains)
    measures = ",\n       ".join(_measure_aggregates(m) for m in OUTCOMES.value_columns)
    return f"""WITH source_grain AS (
    SELECT area_code,
           CASE WHEN bool_or(month(period_end) NOT IN (3, 6, 9, 12)) THEN 'month'
                ELSE 'quarter' END AS source_grain
    FROM fct_outcomes GROUP BY area_code
),
base AS (
    SELECT f.*, CASE WHEN g.source_grain = 'month' THEN 1 ELSE 3 END AS months_in_row,
           g.source_grain
    FROM fct_outcomes f JOIN source_grain g USING (area_code)
    WHERE {base_filter}
),
bucketed AS (
    {bucketed}
),
periods AS (
    SELECT grain, bucket_end AS period_end, area_code, unit, age_band,
           sum(months_in_row)::INTEGER AS months_covered,
           {_EXPECTED_MONTHS} AS months_expected,
           {measures},
           max(upload_id) AS upload_id
    FROM bucketed
    GROUP BY grain, bucket_end, area_code, unit, age_band
),
pop AS (
    SELECT area_code, unit, age_band, year AS population_year, population_0_17,
           make_date(year, 6, 30) AS mid_year
    FROM fct_population
),
{_FIRST_POP},
{_asof_matched("periods", "p", "p.period_end >= pop.mid_year")}
SELECT m.* EXCLUDE (asof_year, asof_population),
       coalesce(m.asof_population, f.population_0_17) AS population,
       coalesce(m.asof_year, f.population_year) AS population_year,
       m.asof_year IS NULL AND f.population_year IS NOT NULL AS population_after_period
FROM matched m
LEFT JOIN first_pop f
  ON m.area_code = f.area_code AND m.unit = f.unit AND m.age_band = f.age_band"""


def _area_filter(codes: list[str], first_period=None, last_period=None) -> tuple[str, list]:
    marks = ", ".join("?" for _ in codes)
    where, params = f"area_code IN ({marks})", list(codes)
    if first_period is not None and last_period is not None:
        where += " AND period_end BETWEEN ? AND ?"
        params += [first_period, last_period]
    return where, params


def _codes(area_codes) -> list[str]:
    return sorted({str(c) for c in area_codes if c is not None})


def _population_target_year(column: str) -> str:
    """The latest mid-year (30 June) at or before a date, as a year: what the ASOF join of
    `calc_outcome_periods` matches, so the rows can find their population by equality."""
    return (
        f"(year({column}) - CASE WHEN {column} >= make_date(year({column}), 6, 30) "
        "THEN 0 ELSE 1 END)"
    )


_POPULATION_LOOKUP = POPULATION_YEARS_TABLE


def _population_years_table(cur: duckdb.DuckDBPyConnection) -> str:
    """`int_population_years`, declared column by column (see `ensure_materialised`)."""
    types = dict(
        cur.execute("SELECT column_name, column_type FROM (DESCRIBE fct_population)").fetchall()
    )
    return (
        f"CREATE OR REPLACE TABLE {POPULATION_YEARS_TABLE} (area_code VARCHAR, unit VARCHAR, "
        f"age_band VARCHAR, target_year INTEGER, population {types['population_0_17']}, "
        f"population_year {types['year']}, population_after_period BOOLEAN)"
    )


def _population_lookup_sql(area_where: str) -> str:
    """Population, its year and the after-period flag per series and target year, exactly as
    `calc_outcome_periods` derives them, for a range of target years (two parameters), added
    to `int_population_years` (the rows of those areas and years are deleted first).

    An ASOF join over the wide period rows sorts every one of them; over series x years it
    sorts a few thousand narrow rows, and the period rows then join on equality. The table is
    kept, so the months of monthly areas are served from the facts through it
    (`int_outcome_months`) instead of being stored again.
    """
    return f"""INSERT INTO {_POPULATION_LOOKUP} BY NAME
WITH pop AS (
    SELECT area_code, unit, age_band, year AS population_year, population_0_17
    FROM fct_population WHERE {area_where}
),
{_FIRST_POP},
wanted AS (
    SELECT f.area_code, f.unit, f.age_band, CAST(y.range AS INTEGER) AS target_year
    FROM first_pop f, range(?, ?) y
),
{_asof_matched("wanted", "w", "w.target_year >= pop.population_year")}
SELECT m.area_code, m.unit, m.age_band, m.target_year,
       coalesce(m.asof_population, f.population_0_17) AS population,
       coalesce(m.asof_year, f.population_year) AS population_year,
       m.asof_year IS NULL AS population_after_period
FROM matched m
JOIN first_pop f
  ON m.area_code = f.area_code AND m.unit = f.unit AND m.age_band = f.age_band"""


def _with_population(rows: str) -> str:
    """Period rows (a subquery) with their population columns; no population loaded for the
    series gives NULLs and `population_after_period` false, as in `calc_outcome_periods`."""
    return f"""SELECT p.*, l.population, l.population_year,
       coalesce(l.population_after_period, false) AS population_after_period
FROM ({rows}) p
LEFT JOIN {_POPULATION_LOOKUP} l
  ON l.area_code = p.area_code AND l.unit = p.unit AND l.age_band = p.age_band
 AND l.target_year = {_population_target_year("p.period_end")}"""


def _single_row_columns() -> str:
    """A period holding exactly one complete source row (a month of a monthly area, a quarter
    of a quarterly one): the row's own values; a missing one keeps its reason."""
    parts = []
    for measure in OUTCOMES.value_columns:
        reason = f"{measure}_null_reason"
        parts.append(
            f"{measure}, CASE WHEN {measure} IS NULL THEN coalesce({reason}, 'not supplied') "
            f"END AS {reason}"
        )
    return ",\n       ".join(parts)


def _rollup_aggregates(covered: str, expected: int) -> str:
    """Complete periods of a finer grain rolled up (months into a quarter of a monthly area,
    quarters into a financial year): `_measure_aggregates` for rows that are never alone in a
    complete period, so the single-row reason branch cannot apply. A stock is the value of the
    row ending with the period (`bucket_end`), which a complete period always holds."""
    incomplete = f"{covered} < {expected}"
    parts = []
    for measure in OUTCOMES.value_columns:
        reason = f"{measure}_null_reason"
        if measure in STOCK_MEASURES:
            last = f"max({measure}) FILTER (WHERE period_end = bucket_end)"
            last_reason = f"max({reason}) FILTER (WHERE period_end = bucket_end)"
            value = f"CASE WHEN {incomplete} THEN NULL ELSE {last} END"
            why = (
                f"CASE WHEN {incomplete} THEN 'incomplete period' "
                f"WHEN {last} IS NULL THEN coalesce({last_reason}, 'not supplied') END"
            )
        else:
            value = _flow_sum(measure, incomplete)
            why = (
                f"CASE WHEN {incomplete} THEN 'incomplete period' "
                f"WHEN {_never_supplied(measure)} THEN 'not supplied' "
                f"WHEN count({measure}) < count(*) THEN 'suppressed in source' END"
            )
        parts.append(f"{value} AS {measure},\n       {why} AS {reason}")
    return ",\n       ".join(parts)


_QUARTER_END = "last_day(date_trunc('quarter', period_end) + INTERVAL 2 MONTH)"
_FINANCIAL_YEAR_END = (
    "make_date(year(period_end) + CASE WHEN month(period_end) >= 4 THEN 1 ELSE 0 END, 3, 31)"
)


def _month_rows(where: str) -> str:
    return f"""SELECT 'month' AS grain, period_end, area_code, unit, age_band,
       1::INTEGER AS months_covered, 1 AS months_expected,
       {_single_row_columns()},
       upload_id
FROM fct_outcomes WHERE {where}"""


#: The areas whose outcomes arrive monthly, from the materialised coverage (as
#: `outcome_source_grains` and `mart_outcome_source_grain` read them).
_MONTHLY_AREAS = (
    f"SELECT area_code FROM {OUTCOME_COVERAGE_TABLE} GROUP BY area_code "
    "HAVING bool_or(month(period_end) NOT IN (3, 6, 9, 12))"
)


def _outcome_months_view(columns: list[tuple[str, str]]) -> str:
    """`int_outcome_months`: the month grain of monthly areas, served from the facts (a month
    of a monthly area is its one fact row) with the population from `int_population_years`,
    each column of the type `int_outcome_periods` stores, so the two stack as one table.
    It equals `calc_outcome_months` row for row (`integrity_problems` checks it)."""
    rows = _with_population(_month_rows(f"area_code IN ({_MONTHLY_AREAS})"))
    listed = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in columns)
    return f"CREATE OR REPLACE VIEW {OUTCOME_MONTHS_VIEW} AS\nSELECT {listed} FROM ({rows})"


def _all_periods_view() -> str:
    return (
        f"CREATE OR REPLACE VIEW {OUTCOME_ALL_PERIODS_VIEW} AS\n"
        f"SELECT * FROM {OUTCOME_MONTHS_VIEW} UNION ALL SELECT * FROM {OUTCOME_PERIODS_TABLE}"
    )


def _quarter_rows(monthly_where: str | None, quarterly_where: str | None) -> str:
    parts = []
    if monthly_where:
        parts.append(f"""SELECT 'quarter' AS grain, bucket_end AS period_end, area_code, unit,
       age_band, count(*)::INTEGER AS months_covered, 3 AS months_expected,
       {_rollup_aggregates("count(*)", 3)},
       max(upload_id) AS upload_id
FROM (SELECT *, {_QUARTER_END} AS bucket_end FROM fct_outcomes WHERE {monthly_where})
GROUP BY bucket_end, area_code, unit, age_band""")
    if quarterly_where:
        parts.append(f"""SELECT 'quarter' AS grain, period_end, area_code, unit, age_band,
       3::INTEGER AS months_covered, 3 AS months_expected,
       {_single_row_columns()},
       upload_id
FROM fct_outcomes WHERE {quarterly_where}""")
    return "\nUNION ALL\n".join(parts)


def _financial_year_rows(where: str) -> str:
    """Financial years from the quarters already refreshed: a year is complete exactly when
    its four quarters are, and its flows and closing stocks are theirs."""
    return f"""SELECT 'financial_year' AS grain, bucket_end AS period_end, area_code, unit,
       age_band, sum(months_covered)::INTEGER AS months_covered, 12 AS months_expected,
       {_rollup_aggregates("sum(months_covered)", 12)},
       max(upload_id) AS upload_id
FROM (SELECT *, {_FINANCIAL_YEAR_END} AS bucket_end FROM {OUTCOME_PERIODS_TABLE}
      WHERE grain = 'quarter' AND {where})
GROUP BY bucket_end, area_code, unit, age_band"""


def refresh_outcome_periods(
    cur: duckdb.DuckDBPyConnection, area_codes=None, first_period=None, last_period=None
) -> None:
    """Recompute the materialised outcome periods for some areas (all when None).

    Called inside the ingest transaction, so the marts change in the same commit as the facts,
    after `refresh_outcome_coverage` (each area's source grain is read from the coverage).
    With `first_period`/`last_period` (the staged rows' range) only the months, quarters and
    financial years holding those dates are recomputed, so a quarterly upload costs the same
    however many years of history the warehouse holds.

    The result equals `calc_outcome_periods` row for row (`integrity_problems` checks it), but
    is built in cheaper steps: the population per series and target year
    (`int_population_years`, kept: the months are served from the facts through it, by
    `int_outcome_months`), quarters rolled up from months (or a quarterly area's own rows),
    and financial years rolled up from quarters.
    """
    if area_codes is None:
        cur.execute(f"DELETE FROM {OUTCOME_PERIODS_TABLE}")
        cur.execute(f"DELETE FROM {POPULATION_YEARS_TABLE}")
        grains = outcome_source_grains(cur)
        codes = sorted(grains)
    else:
        codes = _codes(area_codes)
        if not codes:
            return
        grains = outcome_source_grains(cur, codes)
    quarters = years = (None, None)
    if first_period is not None and last_period is not None:
        quarters = _quarter_bounds(first_period, last_period)
        years = _financial_year_bounds(first_period, last_period)
    if area_codes is not None:
        where, params = _area_filter(codes)
        if years[0] is None:
            # Whole areas: their population years are rebuilt over their periods below.
            cur.execute(f"DELETE FROM {POPULATION_YEARS_TABLE} WHERE {where}", params)
        else:
            where += (
                " AND ((grain = 'quarter' AND period_end BETWEEN ? AND ?)"
                " OR (grain = 'financial_year' AND period_end BETWEEN ? AND ?))"
            )
            params += [*quarters, *years]
        cur.execute(f"DELETE FROM {OUTCOME_PERIODS_TABLE} WHERE {where}", params)
    monthly = [a for a in codes if grains.get(a) == "month"]
    quarterly = [a for a in codes if grains.get(a) == "quarter"]
    if not monthly and not quarterly:
        return
    area_where, area_params = _area_filter(codes)
    if years[0] is not None:
        low, high = years[0].year - 1, years[1].year + 1
        cur.execute(
            f"DELETE FROM {POPULATION_YEARS_TABLE} WHERE {area_where} "
            "AND target_year BETWEEN ? AND ?",
            [*area_params, low, high],
        )
    else:
        low_date, high_date = cur.execute(
            f"SELECT min(period_end), max(period_end) FROM {OUTCOME_COVERAGE_TABLE} "
            f"WHERE {area_where}",
            area_params,
        ).fetchone()
        low, high = low_date.year - 1, high_date.year + 1
    cur.execute(_population_lookup_sql(area_where), [*area_params, low, high + 1])
    insert = f"INSERT INTO {OUTCOME_PERIODS_TABLE} BY NAME "
    monthly_where = quarterly_where = None
    monthly_params: list = []
    quarterly_params: list = []
    if monthly:
        monthly_where, monthly_params = _area_filter(monthly, *quarters)
    if quarterly:
        quarterly_where, quarterly_params = _area_filter(quarterly, *quarters)
    cur.execute(
        insert + _with_population(_quarter_rows(monthly_where, quarterly_where)),
        monthly_params + quarterly_params,
    )
    where, params = _area_filter(codes, *years)
    cur.execute(insert + _with_population(_financial_year_rows(where)), params)


def outcome_source_grains(cur: duckdb.DuckDBPyConnection, area_codes=None) -> dict[str, str]:
    """Whether each area's outcomes arrive monthly or quarterly (it decides every roll-up),
    read from the materialised coverage (one row per area, period and measure)."""
    if area_codes is None:
        where, params = "TRUE", []
    else:
        codes = _codes(area_codes)
        if not codes:
            return {}
        where, params = _area_filter(codes)
    rows = cur.execute(
        "SELECT area_code, CASE WHEN bool_or(month(period_end) NOT IN (3, 6, 9, 12)) "
        f"THEN 'month' ELSE 'quarter' END FROM {OUTCOME_COVERAGE_TABLE} WHERE {where} "
        "GROUP BY area_code",
        params,
    ).fetchall()
    return dict(rows)


def coverage_tables() -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {OUTCOME_COVERAGE_TABLE} (
            area_code VARCHAR,
            period_end DATE,
            measure VARCHAR,
            values_present BIGINT,
            suppressed BIGINT,
            missing_with_reason BIGINT
        )""",
        f"""CREATE TABLE IF NOT EXISTS {OUTCOME_SERIES_TABLE} (
            area_code VARCHAR,
            unit VARCHAR,
            age_band VARCHAR
        )""",
    ]


_SUPPRESSED = "{v} IS NULL AND {r} IS NOT NULL AND {r} <> 'not supplied'"
_MISSING_WITH_REASON = "{v} IS NULL AND {r} IS NOT NULL"


def _coverage_views() -> list[str]:
    """The definitions the materialised coverage must equal (`integrity_problems`)."""
    cells = {"v": "value", "r": "null_reason"}
    return [
        f"""CREATE OR REPLACE VIEW calc_outcome_coverage AS
SELECT area_code, period_end, measure, count(value) AS values_present,
       count(*) FILTER (WHERE {_SUPPRESSED.format(**cells)}) AS suppressed,
       count(*) FILTER (WHERE {_MISSING_WITH_REASON.format(**cells)}) AS missing_with_reason
FROM stg_outcomes_long
GROUP BY area_code, period_end, measure""",
        """CREATE OR REPLACE VIEW calc_outcome_series AS
SELECT DISTINCT area_code, unit, age_band FROM fct_outcomes""",
    ]


def _coverage_select(where: str) -> str:
    """`calc_outcome_coverage` for some facts, from the wide rows in one grouped pass."""
    measures = OUTCOMES.value_columns

    def listed(template: str) -> str:
        return ", ".join(template.format(v=m, r=f"{m}_null_reason", name=m) for m in measures)

    return f"""SELECT area_code, period_end,
       unnest([{listed("'{name}'")}]) AS measure,
       unnest([{listed("count({v})")}]) AS values_present,
       unnest([{listed("count(*) FILTER (WHERE " + _SUPPRESSED + ")")}]) AS suppressed,
       unnest([{listed("count(*) FILTER (WHERE " + _MISSING_WITH_REASON + ")")}])
           AS missing_with_reason
FROM fct_outcomes WHERE {where}
GROUP BY area_code, period_end"""


def refresh_outcome_coverage(
    cur: duckdb.DuckDBPyConnection, area_codes=None, first_period=None, last_period=None
) -> None:
    """Recompute the materialised coverage (per area, period and measure) and the series
    (area, unit, age band) held, for some areas (all when None), inside the caller's
    transaction. Run it before `refresh_outcome_periods`, which reads each area's grain here.

    With `first_period`/`last_period` only those periods are recomputed, and the series are
    only added to: that is for an ingest, which adds and revises rows but never removes one.
    After rows are removed (a deleted upload), refresh whole areas.
    """
    if area_codes is None:
        where, params, area_where, area_params = "TRUE", [], "TRUE", []
    else:
        codes = _codes(area_codes)
        if not codes:
            return
        where, params = _area_filter(codes, first_period, last_period)
        area_where, area_params = _area_filter(codes)
    cur.execute(f"DELETE FROM {OUTCOME_COVERAGE_TABLE} WHERE {where}", params)
    cur.execute(f"INSERT INTO {OUTCOME_COVERAGE_TABLE} BY NAME {_coverage_select(where)}", params)
    series = f"SELECT DISTINCT area_code, unit, age_band FROM fct_outcomes WHERE {where}"
    if area_codes is not None and first_period is not None and last_period is not None:
        cur.execute(
            f"INSERT INTO {OUTCOME_SERIES_TABLE} SELECT * FROM ({series} EXCEPT "
            f"SELECT area_code, unit, age_band FROM {OUTCOME_SERIES_TABLE} WHERE {area_where})",
            params + area_params,
        )
        return
    cur.execute(f"DELETE FROM {OUTCOME_SERIES_TABLE} WHERE {area_where}", area_params)
    cur.execute(f"INSERT INTO {OUTCOME_SERIES_TABLE} {series}", params)


def _quarter_bounds(first, last):
    """First day of the quarter holding `first` to the last day of the one holding `last`."""
    start = dt.date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    after = dt.date(last.year + (last.month > 9), ((last.month - 1) // 3 + 1) % 4 * 3 + 1, 1)
    return start, after - dt.timedelta(days=1)


def _financial_year_bounds(first, last):
    """1 April before `first` to 31 March after `last`: the financial years they fall in."""
    start_year = first.year if first.month >= 4 else first.year - 1
    end_year = last.year + 1 if last.month >= 4 else last.year
    return dt.date(start_year, 4, 1), dt.date(end_year, 3, 31)


def _fingerprint(*sql: str) -> str:
    return hashlib.sha256("\n;\n".join(sql).encode()).hexdigest()[:16]


def _materialised_fingerprints() -> dict[str, str]:
    """Per materialised table, a hash of its definition and of the SQL that refreshes it, so
    a change to either rebuilds the table when the warehouse is next opened."""
    periods = _fingerprint(
        _outcome_periods_sql(),
        _population_lookup_sql("?"),
        _with_population(""),
        _month_rows("?"),
        _quarter_rows("?", "?"),
        _financial_year_rows("?"),
        _outcome_months_sql(),
        _MONTHLY_AREAS,
        ", ".join(STORED_GRAINS),
    )
    coverage = _fingerprint(*coverage_tables(), *_coverage_views(), _coverage_select("?"))
    return {
        OUTCOME_COVERAGE_TABLE: coverage,
        OUTCOME_SERIES_TABLE: coverage,
        OUTCOME_PERIODS_TABLE: periods,
        POPULATION_YEARS_TABLE: periods,
    }


#: Each materialised table and the view that defines it (the drift check compares the two).
DEFINITIONS = (
    (OUTCOME_PERIODS_TABLE, "calc_outcome_periods"),
    (OUTCOME_COVERAGE_TABLE, "calc_outcome_coverage"),
    (OUTCOME_SERIES_TABLE, "calc_outcome_series"),
    (OUTCOME_MONTHS_VIEW, "calc_outcome_months"),
)


def ensure_materialised(tx: duckdb.DuckDBPyConnection) -> None:
    """Create the materialised tables' reference views; rebuild a table when its SQL
    changed (coverage first: the outcome periods read each area's grain from it), then
    `mart_outcome_rates` over the stored periods and the served months. Run on every open,
    after the staging views."""
    tx.execute(
        "CREATE TABLE IF NOT EXISTS meta_materialised ("
        "name VARCHAR PRIMARY KEY, fingerprint VARCHAR, refreshed_at TIMESTAMP)"
    )
    tx.execute(_outcome_periods_sql())
    tx.execute(_outcome_months_sql())
    for statement in _coverage_views():
        tx.execute(statement)
    stored = dict(tx.execute("SELECT name, fingerprint FROM meta_materialised").fetchall())
    tables = {r[0] for r in tx.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    wanted = _materialised_fingerprints()
    stale = [
        name
        for name, fingerprint in wanted.items()
        if stored.get(name) != fingerprint or name not in tables
    ]
    if OUTCOME_COVERAGE_TABLE in stale or OUTCOME_SERIES_TABLE in stale:
        refresh_outcome_coverage(tx)
    if OUTCOME_PERIODS_TABLE in stale or POPULATION_YEARS_TABLE in stale:
        stale = sorted({*stale, OUTCOME_PERIODS_TABLE, POPULATION_YEARS_TABLE})
        tx.execute(_population_years_table(tx))
        # Declared column by column: in DuckDB 2.0.0 a table made by an empty CREATE TABLE
        # AS and then filled in the same transaction reads back no rows once it is large,
        # and the financial years are rolled up from the quarters just written.
        columns = tx.execute("DESCRIBE calc_outcome_periods").fetchall()
        tx.execute(
            f"CREATE OR REPLACE TABLE {OUTCOME_PERIODS_TABLE} ("
            + ", ".join(f'"{c[0]}" {c[1]}' for c in columns)
            + ")"
        )
        refresh_outcome_periods(tx)
    for name in stale:
        tx.execute(
            "INSERT OR REPLACE INTO meta_materialised VALUES (?, ?, now())",
            [name, wanted[name]],
        )
    columns = tx.execute(f"DESCRIBE {OUTCOME_PERIODS_TABLE}").fetchall()
    tx.execute(_outcome_months_view([(c[0], c[1]) for c in columns]))
    tx.execute(_all_periods_view())
    tx.execute(models.outcome_rates_view())
