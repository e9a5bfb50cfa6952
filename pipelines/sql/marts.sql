-- Marts: what pages, the report and notebooks read. Recreated on every open of the warehouse.
-- Layers (dbt style): fct_* facts (written by ingest) -> stg_outcomes_long (generated from the
-- contract in pipelines/warehouse.py) -> mart_* views.

-- How each area delivers outcomes: monthly rows, or one row per quarter.
CREATE OR REPLACE VIEW mart_outcome_source_grain AS
SELECT area_code,
       CASE WHEN bool_or(month(period_end) NOT IN (3, 6, 9, 12)) THEN 'month' ELSE 'quarter' END
           AS source_grain
FROM fct_outcomes
GROUP BY area_code;

-- Outcomes at month, quarter and financial-year grain. Flows are summed over the period and
-- stocks are taken at its last day. A period that is incomplete, or that contains a
-- suppressed month, has a NULL value with the reason, never a partial sum.
CREATE OR REPLACE VIEW mart_outcomes_periods AS
WITH base AS (
    SELECT l.*, g.source_grain,
           CASE WHEN g.source_grain = 'month' THEN 1 ELSE 3 END AS months_in_row
    FROM stg_outcomes_long l
    JOIN mart_outcome_source_grain g USING (area_code)
),
bucketed AS (
    SELECT 'month' AS grain, period_end AS bucket_end, * FROM base WHERE source_grain = 'month'
    UNION ALL
    SELECT 'quarter' AS grain,
           last_day(date_trunc('quarter', period_end) + INTERVAL 2 MONTH) AS bucket_end, *
    FROM base
    UNION ALL
    SELECT 'financial_year' AS grain,
           make_date(year(period_end) + CASE WHEN month(period_end) >= 4 THEN 1 ELSE 0 END, 3, 31)
               AS bucket_end, *
    FROM base
)
SELECT grain,
       bucket_end AS period_end,
       area_code, unit, age_band, measure, measure_kind,
       sum(months_in_row)::INTEGER AS months_covered,
       CASE grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS months_expected,
       CASE
           WHEN sum(months_in_row) < CASE grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END
               THEN NULL
           WHEN measure_kind = 'stock' THEN arg_max_null(value, period_end)
           WHEN count(value) < count(*) THEN NULL
           ELSE sum(value)
       END AS value,
       CASE
           WHEN sum(months_in_row) < CASE grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END
               THEN 'incomplete period'
           WHEN count(*) = 1 AND count(value) = 0 THEN coalesce(min(null_reason), 'not supplied')
           WHEN measure_kind = 'stock' AND arg_max_null(value, period_end) IS NULL
               THEN coalesce(arg_max_null(null_reason, period_end), 'not supplied')
           WHEN measure_kind = 'flow' AND count(value) < count(*) THEN 'suppressed in source'
       END AS null_reason,
       max(upload_id) AS upload_id
FROM bucketed
GROUP BY grain, bucket_end, area_code, unit, age_band, measure, measure_kind;

-- Population for a period: the latest mid-year (30 June) estimate at or before the period end,
-- so the year ending 31 March Y uses mid-(Y-1), as DfE does. Before the first estimate, the
-- earliest estimate is used and flagged.
CREATE OR REPLACE VIEW mart_outcome_rates AS
WITH pop AS (
    SELECT area_code, unit, age_band, year AS population_year, population_0_17,
           make_date(year, 6, 30) AS mid_year
    FROM fct_population
),
first_pop AS (
    SELECT area_code, unit, age_band,
           min(population_year) AS population_year,
           arg_min(population_0_17, population_year) AS population_0_17
    FROM pop GROUP BY area_code, unit, age_band
),
matched AS (
    SELECT p.*, pop.population_year AS asof_year, pop.population_0_17 AS asof_population
    FROM mart_outcomes_periods p
    ASOF LEFT JOIN pop
      ON p.area_code = pop.area_code AND p.unit = pop.unit AND p.age_band = pop.age_band
     AND p.period_end >= pop.mid_year
)
SELECT m.grain, m.period_end, m.area_code, m.unit, m.age_band, m.measure, m.measure_kind,
       m.months_covered, m.months_expected, m.value, m.null_reason, m.upload_id,
       coalesce(m.asof_population, f.population_0_17) AS population,
       coalesce(m.asof_year, f.population_year) AS population_year,
       m.asof_year IS NULL AND f.population_year IS NOT NULL AS population_after_period,
       m.value * 10000.0 / coalesce(m.asof_population, f.population_0_17) AS rate_per_10k
FROM matched m
LEFT JOIN first_pop f
  ON m.area_code = f.area_code AND m.unit = f.unit AND m.age_band = f.age_band;

-- Rollout per unit, and the area's first start (its whole-area rollout date).
CREATE OR REPLACE VIEW mart_rollout AS
SELECT area_code, unit, programme, wave, start_date, complete_date,
       last_day(date_trunc('quarter', start_date) + INTERVAL 2 MONTH) AS start_quarter_end
FROM fct_rollout;

CREATE OR REPLACE VIEW mart_area_rollout AS
SELECT area_code, programme, min(start_date) AS first_start, max(start_date) AS last_start,
       count(*) AS n_units, count(DISTINCT wave) AS n_waves
FROM fct_rollout
WHERE unit <> 'All'
GROUP BY area_code, programme
UNION ALL
SELECT area_code, programme, start_date, start_date, 1, 1
FROM fct_rollout r
WHERE unit = 'All'
  AND NOT EXISTS (SELECT 1 FROM fct_rollout u WHERE u.area_code = r.area_code
                  AND u.programme = r.programme AND u.unit <> 'All');

-- Outcomes aligned on time since each unit's rollout (event time), for cohort views and DiD.
CREATE OR REPLACE VIEW mart_outcomes_event_time AS
SELECT o.*, r.programme, r.wave, r.start_date,
       date_diff('month', date_trunc('month', r.start_date), date_trunc('month', o.period_end))
           AS months_since_rollout,
       floor(date_diff('month', date_trunc('month', r.start_date),
                       date_trunc('month', o.period_end)) / 3)::INTEGER AS quarters_since_rollout
FROM mart_outcome_rates o
JOIN fct_rollout r ON o.area_code = r.area_code AND o.unit = r.unit;

-- Training coverage by unit, agency and course (cumulative trained over staff in scope).
CREATE OR REPLACE VIEW mart_training AS
SELECT period_end, area_code, unit, agency, course, staff_in_scope, staff_trained,
       staff_trained * 1.0 / nullif(staff_in_scope, 0) AS coverage, upload_id
FROM fct_training;

CREATE OR REPLACE VIEW mart_uploads AS
SELECT upload_id, uploaded_at, file_name, dataset, outcome, n_rows, n_added, n_revised,
       n_unchanged, n_warnings, n_errors, user_name, sha256, source, message
FROM raw_uploads;
