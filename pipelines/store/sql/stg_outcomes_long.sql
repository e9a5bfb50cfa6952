-- stg_outcomes_long: one row per outcome cell (period, area, unit, age band, measure), with the
-- reason behind a missing value. Rendered from the outcomes contract by pipelines/store/models.py:
-- `measures` is the contract's value columns, each with its kind (stock or flow).
CREATE OR REPLACE VIEW stg_outcomes_long AS
{% for m in measures -%}
SELECT period_end, area_code, unit, age_band, '{{ m.name }}' AS measure, '{{ m.kind }}' AS measure_kind, {{ m.name }} AS value, {{ m.name }}_null_reason AS null_reason, upload_id FROM fct_outcomes
{% if not loop.last %}UNION ALL
{% endif %}
{%- endfor %}
