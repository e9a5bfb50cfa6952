-- mart_revisions: every superseded fact row of every dataset, with the upload that replaced it.
-- Rendered by pipelines/store/models.py: `contracts` is each dataset with its history table and
-- `row_key`, the SQL that joins its key columns into one readable string.
CREATE OR REPLACE VIEW mart_revisions AS
{% for c in contracts -%}
SELECT '{{ c.dataset }}' AS dataset, {{ c.row_key }} AS row_key, upload_id AS old_upload_id, superseded_by AS new_upload_id, superseded_at FROM {{ c.history_table }}
{% if not loop.last %}UNION ALL
{% endif %}
{%- endfor %}
