"""Named reads of DfE figures: a council against England, its region and its neighbours.

Beside `pipelines.marts` (named reads of the local extracts), these read the DfE published
statistics that `pipelines.load.dfe` imports, through the DfE marts (`store/sql/dfe_marts.sql`):
the newest release of each figure, rates per 10,000 children as DfE publishes them (or
recomputed from the ONS mid-year estimate, as DfE does), the annual counts a controlled
comparison needs, statistical neighbours, ranks and the revisions between releases. Every query is parameterised; each function returns a DataFrame
for the dashboard, the report and the notebooks.
"""

from __future__ import annotations

import pandas as pd

from pipelines.store.warehouse import Warehouse

#: Measures that are counts of children, so that a rate per 10,000 aged 0-17 makes sense.
RATE_MEASURES = (
    "cla_at_31_march",
    "cla_starts",
    "cla_ceased",
    "cpp_at_31_march",
    "cpp_starts",
    "cpp_subsequent",
    "cin_at_31_march",
    "cin_starts",
    "cin_ended",
    "cin_any_point",
    "referrals",
    "rereferrals",
)


def resolve_council(wh: Warehouse, code: str) -> dict[str, str | None]:
    """Map a council code either way: '383' or 'E08000035' gives the old and newest new code.

    A retired ONS code maps to the council's old code (E10000023 -> 815 North Yorkshire). A
    reorganised council's code maps to itself only: Cumbria is never Cumberland.
    """
    code = str(code).strip()
    found = wh.query(
        "SELECT a.area_code, a.old_la_code, a.new_la_code, a.area_name, a.region_code, "
        "a.region_name, a.first_year, a.last_year FROM dfe_areas a "
        "WHERE a.geographic_level = 'Local authority' AND (a.old_la_code = ? OR a.new_la_code = ? "
        "OR a.old_la_code IN (SELECT old_la_code FROM dfe_area_codes WHERE new_la_code = ?))",
        [code, code, code],
    )
    if found.empty:
        raise KeyError(
            f"No council with code {code} in the imported DfE files. Import the DfE tables "
            "(rp-impact import-dfe) or check the code (three-digit DfE code or ONS code)."
        )
    row = found.iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def _metric_sql(measure: str) -> tuple[str, str]:
    if measure in RATE_MEASURES:
        return "mart_dfe_rates", "rate_per_10k"
    return "mart_dfe_current", "value"


def benchmark_series(wh: Warehouse, area_code: str, measure: str) -> pd.DataFrame:
    """A council's figure over time against England, its region and its statistical neighbours.

    One row per year (time_period, year ending 31 March). Columns: time_period, area_code
    (old_la_code), new_la_code, area_name, measure, compared_on ('rate_per_10k' for counts of
    children, 'value' for percentages and populations), council_value, council_rate,
    council_rate_source ('published' or 'recomputed'), release, england_value, england_rate,
    region_code, region_name, region_value, region_rate, sn_median, sn_min, sn_max, sn_n
    (neighbours with a figure that year; their figures are on `compared_on`).
    """
    council = resolve_council(wh, area_code)
    table, metric = _metric_sql(measure)
    rate_expr = "rate_per_10k" if table == "mart_dfe_rates" else "CAST(NULL AS DOUBLE)"
    source_expr = "rate_source" if table == "mart_dfe_rates" else "CAST(NULL AS VARCHAR)"
    # table, metric and the expressions are chosen above from constants, never from input.
    sql = f"""
    WITH sn AS (
        SELECT neighbour_old_la_code AS code FROM dfe_neighbours
        WHERE old_la_code = ? AND model = (SELECT max(model) FROM dfe_neighbours)
    ),
    sn_stats AS (
        SELECT time_period, median({metric}) AS sn_median, min({metric}) AS sn_min,
               max({metric}) AS sn_max, count({metric}) AS sn_n
        FROM {table}
        WHERE measure = ? AND geographic_level = 'Local authority'
          AND area_code IN (SELECT code FROM sn)
        GROUP BY time_period
    ),
    me AS (
        SELECT time_period, release, value AS council_value, {rate_expr} AS council_rate,
               {source_expr} AS council_rate_source
        FROM {table} WHERE measure = ? AND geographic_level = 'Local authority' AND area_code = ?
    ),
    eng AS (
        SELECT time_period, value AS england_value, {rate_expr} AS england_rate
        FROM {table} WHERE measure = ? AND geographic_level = 'National'
    ),
    reg AS (
        SELECT time_period, value AS region_value, {rate_expr} AS region_rate
        FROM {table} WHERE measure = ? AND geographic_level = 'Regional' AND area_code = ?
    ),
    years AS (
        SELECT time_period FROM me UNION SELECT time_period FROM sn_stats
    )
    SELECT y.time_period, me.council_value, me.council_rate, me.council_rate_source,
           me.release, eng.england_value, eng.england_rate, reg.region_value, reg.region_rate,
           s.sn_median, s.sn_min, s.sn_max, coalesce(s.sn_n, 0) AS sn_n
    FROM years y
    LEFT JOIN me USING (time_period)
    LEFT JOIN eng USING (time_period)
    LEFT JOIN reg USING (time_period)
    LEFT JOIN sn_stats s USING (time_period)
    ORDER BY y.time_period
    """  # noqa: S608
    frame = wh.query(
        sql,
        [
            council["old_la_code"],
            measure,
            measure,
            council["area_code"],
            measure,
            measure,
            council["region_code"],
        ],
    )
    frame.insert(1, "area_code", council["area_code"])
    frame.insert(2, "new_la_code", council["new_la_code"])
    frame.insert(3, "area_name", council["area_name"])
    frame.insert(4, "measure", measure)
    frame.insert(5, "compared_on", metric)
    frame["region_code"] = council["region_code"]
    frame["region_name"] = council["region_name"]
    frame["time_period"] = frame["time_period"].astype("int64")
    frame["sn_n"] = frame["sn_n"].astype("int64")
    return frame


def annual_counts(wh: Warehouse, area_code: str, measure: str) -> pd.DataFrame:
    """A council's published annual counts beside its statistical neighbours' and England's,
    for the controlled comparison of a council with only DfE's figures.

    One row per area and year with a published count and a population behind it. Columns:
    role ('council' | 'neighbour' | 'england'), area_code (old_la_code; DfE's national code
    for England), year (ending 31 March), value (the published count), population (the
    population behind the published rate, else the ONS mid-year estimate of the year before),
    rate_source ('published' | 'recomputed') and release. Neighbours are those of the newest
    statistical-neighbour model. Raises KeyError when DfE does not publish the council.
    """
    council = resolve_council(wh, area_code)
    code = str(council["area_code"])
    return wh.query(
        """
        SELECT CASE WHEN geographic_level = 'National' THEN 'england'
                    WHEN area_code = ? THEN 'council' ELSE 'neighbour' END AS role,
               area_code, CAST(time_period AS INTEGER) AS year, value,
               population_used AS population, rate_source, release
        FROM mart_dfe_rates
        WHERE measure = ? AND value IS NOT NULL AND population_used IS NOT NULL
          AND (geographic_level = 'National'
               OR (geographic_level = 'Local authority'
                   AND (area_code = ? OR area_code IN (
                        SELECT neighbour_old_la_code FROM dfe_neighbours
                        WHERE old_la_code = ? AND model = (SELECT max(model) FROM dfe_neighbours)
                   ))))
        ORDER BY role, area_code, year
        """,
        [code, measure, code, council["old_la_code"]],
    )


def rank_among(wh: Warehouse, area_code: str, measure: str, year: int) -> pd.DataFrame:
    """Where a council stands in `year`: among all councils with a figure, and among itself
    and its statistical neighbours. Rank 1 is the lowest figure (ties share the lower rank).

    Columns: scope ('all councils' | 'statistical neighbours'), rank, n, figure, compared_on,
    area_code, area_name, time_period, measure. rank is NULL when the council has no figure.
    """
    council = resolve_council(wh, area_code)
    table, metric = _metric_sql(measure)
    sql = f"""
    WITH pool AS (
        SELECT area_code, {metric} AS figure FROM {table}
        WHERE measure = ? AND time_period = ? AND geographic_level = 'Local authority'
          AND {metric} IS NOT NULL
    ),
    sn AS (
        SELECT neighbour_old_la_code AS code FROM dfe_neighbours
        WHERE old_la_code = ? AND model = (SELECT max(model) FROM dfe_neighbours)
        UNION SELECT ?
    ),
    ranked AS (
        SELECT 'all councils' AS scope, area_code, figure,
               rank() OVER (ORDER BY figure) AS rank, count(*) OVER () AS n FROM pool
        UNION ALL
        SELECT 'statistical neighbours', area_code, figure,
               rank() OVER (ORDER BY figure), count(*) OVER ()
        FROM pool WHERE area_code IN (SELECT code FROM sn)
    )
    SELECT s.scope, r.rank, coalesce(r.n, (SELECT count(*) FROM ranked x WHERE x.scope = s.scope))
               AS n, r.figure
    FROM (VALUES ('all councils'), ('statistical neighbours')) s(scope)
    LEFT JOIN ranked r ON r.scope = s.scope AND r.area_code = ?
    ORDER BY s.scope
    """  # noqa: S608
    frame = wh.query(
        sql,
        [measure, int(year), council["old_la_code"], council["area_code"], council["area_code"]],
    )
    frame["rank"] = frame["rank"].astype("Int64")
    frame["n"] = frame["n"].astype("int64")
    frame["compared_on"] = metric
    frame["area_code"] = council["area_code"]
    frame["area_name"] = council["area_name"]
    frame["time_period"] = int(year)
    frame["measure"] = measure
    return frame


def neighbours(wh: Warehouse, area_code: str) -> pd.DataFrame:
    """A council's DfE statistical neighbours, closest first.

    Columns: neighbour_rank, old_la_code, new_la_code, la_name, region_name, closeness, model,
    first_year, last_year (years with published figures; NULL when none are imported).
    """
    code = str(area_code).strip()
    try:
        old = resolve_council(wh, code)["old_la_code"]
    except KeyError:
        old = code  # a neighbour file may be imported before any figures
    return wh.query(
        """
        SELECT n.neighbour_rank, n.neighbour_old_la_code AS old_la_code, a.new_la_code,
               coalesce(a.la_name, own.la_name) AS la_name,
               coalesce(a.region_name, own.region_name) AS region_name,
               n.closeness, n.model, a.first_year, a.last_year
        FROM dfe_neighbours n
        LEFT JOIN dfe_areas a
               ON a.area_code = n.neighbour_old_la_code AND a.geographic_level = 'Local authority'
        LEFT JOIN dfe_neighbours own
               ON own.old_la_code = n.neighbour_old_la_code AND own.model = n.model
              AND own.neighbour_rank = 1
        WHERE n.old_la_code = ? AND n.model = (SELECT max(model) FROM dfe_neighbours)
        ORDER BY n.neighbour_rank
        """,
        [old],
    )


def dfe_revisions(wh: Warehouse) -> pd.DataFrame:
    """Figures that differ between releases (value, suppression or published rate).

    Columns: table_kind, time_period, geographic_level, area_code, old_la_code, la_name,
    measure, earlier_release, later_release, earlier_value, later_value, value_change,
    earlier_null_reason, later_null_reason, earlier_rate_per_10k, later_rate_per_10k.
    """
    return wh.query(
        "SELECT * FROM mart_dfe_revisions "
        "ORDER BY measure, area_code, time_period, earlier_release, later_release"
    )


def council_options(wh: Warehouse) -> pd.DataFrame:
    """Councils for a picker: area_code (old_la_code), new_la_code, la_name, region_name,
    first_year, last_year and a label such as 'Leeds (383, E08000035)'. Councils with no
    published figure at all (e.g. listed only as suppressed) are left out.
    """
    frame = wh.query(
        "SELECT area_code, new_la_code, la_name, region_code, region_name, first_year, last_year "
        "FROM dfe_areas WHERE geographic_level = 'Local authority' AND first_year IS NOT NULL "
        "ORDER BY la_name, area_code"
    )
    frame["label"] = [
        f"{name} ({old}, {new})" + (f", to {last}" if last and last < latest else "")
        for name, old, new, last, latest in zip(
            frame["la_name"],
            frame["area_code"],
            frame["new_la_code"],
            frame["last_year"],
            [frame["last_year"].max()] * len(frame),
            strict=True,
        )
    ]
    return frame


def synth_panel(wh: Warehouse, area_code: str, measure: str) -> pd.DataFrame:
    """The annual panel for a synthetic control: the council and its statistical neighbours.

    Columns: area_code (old_la_code), la_name, time_period, value (the rate per 10,000 for a
    count of children, else the value), role ('treated' | 'donor'). Feed it to
    `pipelines.stats.synth.synthetic_control(panel, treated=..., donors=..., outcome='value')`.
    """
    council = resolve_council(wh, area_code)
    table, metric = _metric_sql(measure)
    sql = f"""
    SELECT area_code, la_name, time_period, {metric} AS value,
           CASE WHEN area_code = ? THEN 'treated' ELSE 'donor' END AS role
    FROM {table}
    WHERE measure = ? AND geographic_level = 'Local authority'
      AND (area_code = ? OR area_code IN (
            SELECT neighbour_old_la_code FROM dfe_neighbours
            WHERE old_la_code = ? AND model = (SELECT max(model) FROM dfe_neighbours)))
    ORDER BY role DESC, area_code, time_period
    """  # noqa: S608
    return wh.query(
        sql, [council["area_code"], measure, council["area_code"], council["old_la_code"]]
    )
