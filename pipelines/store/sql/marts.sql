-- Marts: what pages, the report and notebooks read. Recreated on every open of the warehouse.
-- Layers (dbt style): fct_* facts (written by ingest) -> stg_outcomes_long (stg_outcomes_long.sql,
-- rendered from the contract by pipelines/store/models.py) -> mart_* views.

-- How each area delivers outcomes: monthly rows, or one row per quarter. Read from the
-- materialised coverage (one row per area, period and measure), not from every fact.
CREATE OR REPLACE VIEW mart_outcome_source_grain AS
SELECT area_code,
       CASE WHEN bool_or(month(period_end) NOT IN (3, 6, 9, 12)) THEN 'month' ELSE 'quarter' END
           AS source_grain
FROM int_outcome_coverage
GROUP BY area_code;

-- int_outcome_coverage (per area, period and measure: values present, suppressed cells) and
-- int_outcome_series (area, unit, age band) are materialised the same way; marts.py reads
-- them for the data quality page.

-- mart_outcome_rates (every measure at month, quarter and financial-year grain, with its
-- population and rate) is mart_outcome_rates.sql, a view over the materialised table
-- int_outcome_periods (pipelines/store/materialise.py, refreshed inside each ingest).

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
