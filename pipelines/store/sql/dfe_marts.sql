-- DfE marts (written by pipelines/load/dfe.py, read by pipelines/benchmarks.py). Recreated on every open of the warehouse.

-- The figure in use for each year, area and measure: the newest release that has it.
-- Older releases stay in dfe_figures, and mart_dfe_revisions shows where they differ.
CREATE OR REPLACE VIEW mart_dfe_current AS
SELECT * EXCLUDE (release_order)
FROM (
    SELECT f.*,
           row_number() OVER (
               PARTITION BY time_period, geographic_level, area_code, measure
               ORDER BY coalesce(TRY_CAST(release AS INTEGER), 0) DESC, release DESC,
                        loaded_at DESC
           ) AS release_order
    FROM dfe_figures f
)
WHERE release_order = 1;

-- Rates per 10,000 children aged 0-17. A rate DfE publishes is used as published (rounded as
-- DfE rounds it) and labelled 'published'. Otherwise it is recomputed from the ONS mid-year
-- estimate of the year before the reporting year, as DfE does, and labelled 'recomputed' with
-- that population year. Both are NULL when the count is suppressed.
CREATE OR REPLACE VIEW mart_dfe_rates AS
WITH population AS (
    SELECT area_code, time_period AS population_year, value AS population_0_17
    FROM mart_dfe_current
    WHERE measure = 'population_0_17'
)
SELECT c.release, c.table_kind, c.time_period, c.geographic_level, c.area_code,
       c.old_la_code, c.new_la_code, c.la_name, c.region_code, c.region_name, c.measure,
       c.value, c.null_reason, c.published_rate_per_10k,
       coalesce(c.population_estimate, p.population_0_17) AS population_used,
       c.time_period - 1 AS population_year,
       CASE WHEN c.value IS NULL OR coalesce(c.population_estimate, p.population_0_17) IS NULL
            THEN NULL
            ELSE c.value / coalesce(c.population_estimate, p.population_0_17) * 10000 END
           AS recomputed_rate_per_10k,
       CASE WHEN c.published_rate_per_10k IS NOT NULL THEN c.published_rate_per_10k
            WHEN c.value IS NULL OR coalesce(c.population_estimate, p.population_0_17) IS NULL
                THEN NULL
            ELSE c.value / coalesce(c.population_estimate, p.population_0_17) * 10000 END
           AS rate_per_10k,
       CASE WHEN c.published_rate_per_10k IS NOT NULL THEN 'published'
            WHEN c.value IS NULL OR coalesce(c.population_estimate, p.population_0_17) IS NULL
                THEN NULL
            ELSE 'recomputed' END AS rate_source
FROM mart_dfe_current c
LEFT JOIN population p
       ON p.area_code = c.area_code AND p.population_year = c.time_period - 1
WHERE c.measure IN ('cla_at_31_march', 'cla_starts', 'cla_ceased', 'cpp_at_31_march',
                    'cpp_starts', 'cpp_subsequent', 'cin_at_31_march', 'cin_starts',
                    'cin_ended', 'cin_any_point', 'referrals', 'rereferrals');

-- Where a figure was revised between releases: every pair of releases that publish the same
-- year, area and measure with a different value or published rate (a figure that became
-- suppressed, or stopped being suppressed, counts: NULL is distinct from a number).
CREATE OR REPLACE VIEW mart_dfe_revisions AS
SELECT a.table_kind, a.time_period, a.geographic_level, a.area_code, a.old_la_code,
       coalesce(b.la_name, a.la_name) AS la_name, a.measure,
       a.release AS earlier_release, b.release AS later_release,
       a.value AS earlier_value, b.value AS later_value,
       b.value - a.value AS value_change,
       a.null_reason AS earlier_null_reason, b.null_reason AS later_null_reason,
       a.published_rate_per_10k AS earlier_rate_per_10k,
       b.published_rate_per_10k AS later_rate_per_10k
FROM dfe_figures a
JOIN dfe_figures b
  ON a.time_period = b.time_period AND a.geographic_level = b.geographic_level
 AND a.area_code = b.area_code AND a.measure = b.measure
 AND coalesce(TRY_CAST(a.release AS INTEGER), 0) < coalesce(TRY_CAST(b.release AS INTEGER), 0)
WHERE a.value IS DISTINCT FROM b.value
   OR a.published_rate_per_10k IS DISTINCT FROM b.published_rate_per_10k
