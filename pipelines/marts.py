"""Named reads of the warehouse marts, returning pandas DataFrames.

Pages, the annual report and notebooks read the warehouse only through these functions (and
`pipelines.analysis`, which adds statistics). Every query is parameterised.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines.measures import UNIT_ALL, check_grain, measure
from pipelines.stats.rates import proportion_ci, rate_ci
from pipelines.store.warehouse import Warehouse

# -- reference --------------------------------------------------------------------------------


# Every fact row is in exactly one financial-year row of the materialised periods, so those rows
# hold the same areas, units and age bands as the facts, in a twelfth of the rows (the
# materialisation writes each grain together, so a scan reads only the financial-year blocks).
_SERIES_ROWS = "SELECT * FROM int_outcome_periods WHERE grain = 'financial_year'"


def areas(wh: Warehouse) -> pd.DataFrame:
    """Areas that have outcome data, and councils in the rollout table that DfE publishes
    figures for (a council with only DfE's published data and a rollout date, issue 14), with
    their names from the areas file, else DfE's newest name for the council."""
    return wh.query(
        f"""WITH outcome_areas AS (SELECT DISTINCT area_code FROM ({_SERIES_ROWS})),
                published AS (
                    SELECT DISTINCT r.area_code FROM fct_rollout r
                    LEFT JOIN fct_areas a USING (area_code)
                    WHERE r.area_code IN (SELECT new_la_code FROM dfe_area_codes)
                       OR a.old_la_code IN (SELECT old_la_code FROM dfe_area_codes)
                ),
                listed AS (SELECT area_code FROM outcome_areas
                           UNION SELECT area_code FROM published),
                dfe_names AS (
                    SELECT new_la_code AS area_code, arg_max(la_name, last_listed) AS la_name,
                           arg_max(old_la_code, last_listed) AS old_la_code
                    FROM dfe_area_codes GROUP BY new_la_code
                ),
                dfe_regions AS (
                    SELECT area_code AS old_la_code, region_code, region_name FROM dfe_areas
                    WHERE geographic_level = 'Local authority'
                )
           SELECT l.area_code, coalesce(a.area_name, d.la_name, l.area_code) AS area_name,
                  coalesce(a.old_la_code, d.old_la_code) AS old_la_code,
                  coalesce(a.region_code, g.region_code) AS region_code,
                  coalesce(a.region_name, g.region_name) AS region_name
           FROM listed l
           LEFT JOIN fct_areas a USING (area_code)
           LEFT JOIN dfe_names d USING (area_code)
           LEFT JOIN dfe_regions g ON g.old_la_code = coalesce(a.old_la_code, d.old_la_code)
           ORDER BY area_name, l.area_code"""
    )


def area_name(wh: Warehouse, area_code: str) -> str:
    frame = wh.query("SELECT area_name FROM fct_areas WHERE area_code = ?", [area_code])
    return str(frame.iloc[0, 0]) if len(frame) else area_code


def units(wh: Warehouse, area_code: str) -> pd.DataFrame:
    """Units with outcome data for an area, with their rollout wave and start (if any).

    An area with no outcome rows (a council with only DfE's published figures) has one unit,
    the whole area (`UNIT_ALL`), so that every page can still be opened for it.
    """
    return wh.query(
        f"""WITH seen AS (SELECT DISTINCT unit FROM ({_SERIES_ROWS}) WHERE area_code = ?),
                listed AS (SELECT unit FROM seen
                           UNION ALL SELECT ? WHERE NOT EXISTS (SELECT 1 FROM seen))
           SELECT u.unit, r.wave, r.start_date, r.programme
           FROM listed u
           LEFT JOIN fct_rollout r ON r.area_code = ? AND r.unit = u.unit
           ORDER BY u.unit <> ?, r.wave NULLS LAST, u.unit""",
        [area_code, UNIT_ALL, area_code, UNIT_ALL],
    )


def age_bands(wh: Warehouse, area_code: str) -> list[str]:
    frame = wh.query(
        f"SELECT DISTINCT age_band FROM ({_SERIES_ROWS}) WHERE area_code = ? "
        "ORDER BY age_band <> 'All'",
        [area_code],
    )
    return frame.age_band.tolist()


def rollout(wh: Warehouse, area_code: str) -> pd.DataFrame:
    return wh.query(
        "SELECT * FROM mart_rollout WHERE area_code = ? ORDER BY wave NULLS LAST, unit",
        [area_code],
    )


def area_rollout_date(wh: Warehouse, area_code: str) -> dt.date | None:
    """The area's first rollout start (its first wave), or None if no rollout is loaded."""
    frame = wh.query(
        "SELECT min(first_start) FROM mart_area_rollout WHERE area_code = ?", [area_code]
    )
    value = frame.iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def unit_rollout_date(wh: Warehouse, area_code: str, unit: str) -> dt.date | None:
    if unit == UNIT_ALL:
        return area_rollout_date(wh, area_code)
    frame = wh.query(
        "SELECT min(start_date) FROM fct_rollout WHERE area_code = ? AND unit = ?",
        [area_code, unit],
    )
    value = frame.iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


# -- outcomes ---------------------------------------------------------------------------------


def _with_rate_ci(frame: pd.DataFrame) -> pd.DataFrame:
    """The rate per 10,000 as `mart_outcome_rates` computes it (`store/sql/mart_outcome_rates.sql`,
    the one place it is computed), with its 95% CI (`stats.rates.rate_ci`, PHEindicatormethods)."""
    frame = frame.copy()
    rate = frame.pop("rate_per_10k").astype("float64")
    ci = rate_ci(frame["value"].astype("float64"), frame["population"].astype("float64"))
    frame["rate_lower"] = ci["lower"].to_numpy()
    frame["rate_upper"] = ci["upper"].to_numpy()
    frame["rate_per_10k"] = rate.to_numpy()
    return frame


def outcome_series(
    wh: Warehouse,
    area_code: str,
    measure_name: str,
    *,
    unit: str = UNIT_ALL,
    age_band: str = UNIT_ALL,
    grain: str = "quarter",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """One series: period_end, value, rate per 10,000 with its 95% CI, population year.

    Incomplete periods (a quarter with a month missing, the current financial year) are
    returned with `complete = False` and a NULL value, so charts can show the gap honestly.
    """
    check_grain(grain)
    measure(measure_name)
    frame = wh.query(
        """SELECT period_end, value, null_reason, population, population_year, rate_per_10k,
                  population_after_period, months_covered, months_expected, upload_id,
                  months_covered >= months_expected AS complete
           FROM mart_outcome_rates
           WHERE area_code = ? AND measure = ? AND unit = ? AND age_band = ? AND grain = ?
             AND period_end >= coalesce(?, DATE '1900-01-01')
             AND period_end <= coalesce(?, DATE '2999-12-31')
           ORDER BY period_end""",
        [area_code, measure_name, unit, age_band, grain, start, end],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return _with_rate_ci(frame)


def outcome_panel(
    wh: Warehouse,
    area_code: str,
    measure_name: str,
    *,
    by: str = "unit",
    grain: str = "quarter",
    unit: str = UNIT_ALL,
    age_band: str = UNIT_ALL,
    complete_only: bool = True,
) -> pd.DataFrame:
    """Many series at once: by="unit" (localities, all ages) or by="age_band" (one unit)."""
    check_grain(grain)
    measure(measure_name)
    if by not in ("unit", "age_band"):
        raise ValueError("by must be 'unit' or 'age_band'.")
    fixed_column, fixed_value = ("age_band", age_band) if by == "unit" else ("unit", unit)
    frame = wh.query(
        f"""SELECT o.period_end, o.{by} AS series, o.value, o.null_reason, o.population,
                   o.population_year, o.rate_per_10k,
                   o.months_covered >= o.months_expected AS complete,
                   r.wave, r.start_date
            FROM mart_outcome_rates o
            LEFT JOIN fct_rollout r ON r.area_code = o.area_code AND r.unit = o.unit
            WHERE o.area_code = ? AND o.measure = ? AND o.grain = ? AND o.{fixed_column} = ?
            ORDER BY o.{by}, o.period_end""",
        [area_code, measure_name, grain, fixed_value],
    )
    if complete_only:
        frame = frame[frame.complete.astype(bool)]
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return _with_rate_ci(frame.reset_index(drop=True))


def outcome_cells(
    wh: Warehouse, area_code: str, measure_name: str, grains: tuple[str, ...]
) -> pd.DataFrame:
    """Every cell of the locality x age-band table of each complete period of `grains`, the
    margins (``All``) included: ``grain, unit, age_band, period_end, value``.

    The cells :func:`outcome_panel` gives one age band at a time, read in one query (the
    disclosure decision reads every cell of a measure, at every grain of a flow).
    """
    for grain in grains:
        check_grain(grain)
    measure(measure_name)
    frame = wh.query(
        """SELECT grain, unit, age_band, period_end, value
           FROM mart_outcome_rates
           WHERE area_code = ? AND measure = ? AND list_contains(?, grain)
             AND months_covered >= months_expected
           ORDER BY grain, period_end, unit, age_band""",
        [area_code, measure_name, list(grains)],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def event_time_panel(
    wh: Warehouse, area_code: str, measure_name: str, *, grain: str = "quarter"
) -> pd.DataFrame:
    """Unit-level outcomes aligned on periods since each unit's rollout (event time)."""
    check_grain(grain)
    frame = wh.query(
        """SELECT unit, wave, start_date, period_end, value, population, population_year,
                  rate_per_10k, months_since_rollout, quarters_since_rollout
           FROM mart_outcomes_event_time
           WHERE area_code = ? AND measure = ? AND grain = ? AND age_band = 'All'
             AND months_covered >= months_expected
           ORDER BY wave, unit, period_end""",
        [area_code, measure_name, grain],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return _with_rate_ci(frame)


def latest_period(wh: Warehouse, area_code: str | None = None) -> dt.date | None:
    frame = wh.query(
        "SELECT max(period_end) FROM fct_outcomes WHERE area_code = coalesce(?, area_code)",
        [area_code],
    )
    value = frame.iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def period_bounds(wh: Warehouse, area_code: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last period with outcomes for an area.

    Read from the coverage materialised at ingest (one row per area, period and measure) where
    the warehouse has it, rather than from every fact of the area.
    """
    try:
        frame = wh.query(
            "SELECT min(period_end), max(period_end) FROM int_outcome_coverage WHERE area_code = ?",
            [area_code],
        )
    except duckdb.CatalogException:
        frame = wh.query(
            "SELECT min(period_end), max(period_end) FROM fct_outcomes WHERE area_code = ?",
            [area_code],
        )
    low, high = frame.iloc[0]
    as_date = lambda v: None if pd.isna(v) else pd.Timestamp(v).date()  # noqa: E731
    return as_date(low), as_date(high)


# -- training ---------------------------------------------------------------------------------


def training_coverage(
    wh: Warehouse,
    area_code: str,
    *,
    by: tuple[str, ...] = (),
    unit: str | None = None,
    agency: str | None = None,
    course: str | None = None,
) -> pd.DataFrame:
    """Staff trained over staff in scope per period, grouped by any of unit/agency/course."""
    allowed = {"unit", "agency", "course"}
    if not set(by) <= allowed:
        raise ValueError(f"by may contain only {sorted(allowed)}.")
    group = ", ".join(("period_end", *by))
    frame = wh.query(
        f"""SELECT {group}, sum(staff_in_scope) AS staff_in_scope,
                   sum(staff_trained) AS staff_trained
            FROM fct_training
            WHERE area_code = ? AND unit = coalesce(?, unit) AND agency = coalesce(?, agency)
              AND course = coalesce(?, course)
            GROUP BY {group} ORDER BY {group}""",
        [area_code, unit, agency, course],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    ci = proportion_ci(frame["staff_trained"].astype(float), frame["staff_in_scope"].astype(float))
    frame["coverage"] = ci["proportion"].to_numpy()
    frame["coverage_lower"] = ci["lower"].to_numpy()
    frame["coverage_upper"] = ci["upper"].to_numpy()
    return frame


def training_options(wh: Warehouse, area_code: str) -> dict[str, list[str]]:
    frame = wh.query(
        "SELECT DISTINCT unit, agency, course FROM fct_training WHERE area_code = ?", [area_code]
    )
    return {c: sorted(frame[c].dropna().unique().tolist()) for c in ("unit", "agency", "course")}


# -- practice: audits, family feedback, FGCs --------------------------------------------------


def practice_measure_keys(wh: Warehouse, area_code: str) -> pd.DataFrame:
    """The area's practice measures as the mart names them: ``source, measure`` (distinct)."""
    return wh.query(
        "SELECT DISTINCT source, measure FROM mart_practice_proportions WHERE area_code = ?",
        [area_code],
    )


def practice_statement_names(wh: Warehouse, area_code: str) -> list[str]:
    """The area's survey statements in their framework order (empty when none loaded)."""
    rows = wh.query(
        "SELECT name FROM fct_practice_framework WHERE area_code = ? AND kind = 'statement' "
        "ORDER BY position NULLS LAST, name",
        [area_code],
    )
    return list(rows["name"])


def practice_counts(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> pd.DataFrame:
    """One practice measure's quarterly counts: ``period_end, successes, trials``."""
    frame = wh.query(
        """SELECT period_end, sum(successes) AS successes, sum(trials) AS trials
           FROM mart_practice_proportions
           WHERE area_code = ? AND measure = ? AND unit = ? AND respondent = ?
           GROUP BY period_end ORDER BY period_end""",
        [area_code, measure, unit, respondent],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def practice_cells(wh: Warehouse, area_code: str, measure: str) -> pd.DataFrame:
    """Every unit's and respondent's quarterly counts of one measure, margins (``All``)
    included: ``period_end, unit, respondent, successes, trials`` (for the disclosure gate,
    which decides suppression over the whole unit x respondent table)."""
    frame = wh.query(
        """SELECT period_end, unit, respondent, sum(successes) AS successes,
                  sum(trials) AS trials
           FROM mart_practice_proportions
           WHERE area_code = ? AND measure = ?
           GROUP BY period_end, unit, respondent ORDER BY period_end, unit, respondent""",
        [area_code, measure],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


# -- audit and data quality -------------------------------------------------------------------


def uploads(wh: Warehouse, limit: int = 200) -> pd.DataFrame:
    return wh.query("SELECT * FROM mart_uploads ORDER BY upload_id DESC LIMIT ?", [limit])


def upload_issues(wh: Warehouse, upload_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    return wh.query(
        """SELECT i.upload_id, u.file_name, i.severity, i.row_number, i.column_name, i.rule,
                  i.message, i.hint
           FROM upload_issues i JOIN raw_uploads u USING (upload_id)
           WHERE i.upload_id = coalesce(?, i.upload_id)
           ORDER BY i.upload_id DESC, i.row_number LIMIT ?""",
        [upload_id, limit],
    )


def upload_sources(wh: Warehouse, upload_id: int | None = None) -> pd.DataFrame:
    """The source files (SSDA903, CIN census) behind each upload, or behind one: name, hash,
    collection, collection year and row count, newest upload first."""
    return wh.query(
        """SELECT s.upload_id, u.uploaded_at, u.outcome, s.file_name, s.sha256, s.collection,
                  s.collection_year, s.n_rows
           FROM upload_sources s JOIN raw_uploads u USING (upload_id)
           WHERE s.upload_id = coalesce(?, s.upload_id)
           ORDER BY s.upload_id DESC, s.collection, s.collection_year, s.file_name""",
        [upload_id],
    )


def last_upload_time(wh: Warehouse) -> dt.datetime | None:
    frame = wh.query("SELECT max(uploaded_at) FROM raw_uploads WHERE outcome = 'loaded'")
    value = frame.iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def last_loaded(wh: Warehouse, dataset: str) -> dt.datetime | None:
    """When a file of `dataset` was last loaded (None if never)."""
    frame = wh.query(
        "SELECT max(uploaded_at) FROM raw_uploads WHERE dataset = ? AND outcome = 'loaded'",
        [dataset],
    )
    value = frame.iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def revisions(wh: Warehouse, limit: int = 500) -> pd.DataFrame:
    return wh.query(
        """SELECT r.dataset, r.row_key, r.old_upload_id, o.file_name AS old_file,
                  r.new_upload_id, n.file_name AS new_file, r.superseded_at
           FROM mart_revisions r
           LEFT JOIN raw_uploads o ON o.upload_id = r.old_upload_id
           LEFT JOIN raw_uploads n ON n.upload_id = r.new_upload_id
           ORDER BY r.superseded_at DESC LIMIT ?""",
        [limit],
    )


def coverage_summary(wh: Warehouse) -> pd.DataFrame:
    """What data exist: per area and measure, the periods, units and suppressed cells.

    Read from the coverage materialised at ingest (`int_outcome_coverage`, one row per area,
    period and measure, and `int_outcome_series`), not from every fact: every fact row holds
    every measure, so an area's periods, units and age bands are the same for each measure.
    """
    return wh.query(
        """WITH series AS (
               SELECT area_code, count(DISTINCT unit) AS units,
                      count(DISTINCT age_band) AS age_bands
               FROM int_outcome_series GROUP BY area_code
           )
           SELECT c.area_code, c.measure, min(c.period_end) AS first_period,
                  max(c.period_end) AS last_period, count(*) AS periods,
                  any_value(s.units) AS units, any_value(s.age_bands) AS age_bands,
                  sum(c.values_present)::BIGINT AS values_present,
                  sum(c.suppressed)::BIGINT AS suppressed
           FROM int_outcome_coverage c LEFT JOIN series s USING (area_code)
           GROUP BY c.area_code, c.measure ORDER BY c.area_code, c.measure"""
    )


def suppressed_cells(wh: Warehouse, limit: int = 500) -> pd.DataFrame:
    """The latest suppressed or missing cells, newest period first.

    The materialised coverage counts them per period, so only the latest periods holding
    `limit` of them are read from the facts (a constant bound, which DuckDB prunes on).
    """
    since = wh.query(
        """SELECT max(period_end) FILTER (WHERE cells_since >= ?) AS since
           FROM (SELECT period_end, sum(cells) OVER (ORDER BY period_end DESC) AS cells_since
                 FROM (SELECT period_end, sum(missing_with_reason) AS cells
                       FROM int_outcome_coverage GROUP BY period_end))""",
        [limit],
    ).since.iloc[0]
    recent, params = "", [limit]
    if not pd.isna(since):
        recent, params = "AND period_end >= ?", [pd.Timestamp(since).date(), limit]
    return wh.query(
        f"""SELECT period_end, area_code, unit, age_band, measure, null_reason, upload_id
            FROM stg_outcomes_long
            WHERE value IS NULL AND null_reason IS NOT NULL {recent}
            ORDER BY period_end DESC, unit, age_band, measure LIMIT ?""",
        params,
    )


def population_label(frame: pd.DataFrame) -> str:
    """'ONS mid-2024' style label of the population years behind a set of rates."""
    years = sorted({int(y) for y in frame.get("population_year", pd.Series()).dropna()})
    if not years:
        return "no population loaded"
    span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
    return f"mid-year population {span} (uploaded population file)"
