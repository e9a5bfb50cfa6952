-- mart_outcome_rates: what pages, the report and notebooks read for outcomes. One row per
-- measure of the outcome periods at month, quarter and financial-year grain, with the
-- population each period's rate uses (int_outcome_all_periods: the quarters and financial years
-- materialised in int_outcome_periods, and the months of monthly areas served from the facts by
-- int_outcome_months), unpivoted from the outcomes contract by pipelines/store/models.py.
--
-- The rate per 10,000 children is computed here and nowhere else: pipelines/marts.py reads it
-- and adds only its confidence interval (pipelines.stats.rates.rate_ci). NULL when the count
-- is suppressed or no population is loaded, never 0.
CREATE OR REPLACE VIEW mart_outcome_rates AS
{% for m in measures -%}
SELECT grain, period_end, area_code, unit, age_band, '{{ m.name }}' AS measure, '{{ m.kind }}' AS measure_kind, months_covered, months_expected, {{ m.name }} AS value, {{ m.name }}_null_reason AS null_reason, upload_id, population, population_year, population_after_period, {{ m.name }} * 10000.0 / population AS rate_per_10k FROM int_outcome_all_periods
{% if not loop.last %}UNION ALL
{% endif %}
{%- endfor %}
