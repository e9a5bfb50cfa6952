-- dfe_area_codes and dfe_areas, rebuilt from every DfE figure after each DfE import, inside its
-- transaction (pipelines/load/dfe.py). dfe_area_codes maps DfE's three-digit old_la_code to
-- the ONS code; dfe_areas lists every area with its newest names and region, London's
-- sub-regions folded into London, and the years with published figures.
DELETE FROM dfe_area_codes;
INSERT INTO dfe_area_codes
SELECT old_la_code, new_la_code, arg_max(la_name, time_period) AS la_name,
       min(time_period) AS first_listed, max(time_period) AS last_listed
FROM dfe_figures
WHERE geographic_level = 'Local authority' AND old_la_code IS NOT NULL
  AND new_la_code IS NOT NULL AND measure <> 'population_0_17'
GROUP BY old_la_code, new_la_code;
DELETE FROM dfe_areas;
INSERT INTO dfe_areas
WITH latest AS (
    SELECT area_code, geographic_level,
           arg_max(old_la_code, time_period * 10000 + coalesce(TRY_CAST(release AS INTEGER), 0))
               AS old_la_code,
           arg_max(new_la_code, time_period * 10000 + coalesce(TRY_CAST(release AS INTEGER), 0))
               AS new_la_code,
           arg_max(la_name, time_period * 10000 + coalesce(TRY_CAST(release AS INTEGER), 0))
               AS la_name,
           arg_max(region_code, time_period * 10000 + coalesce(TRY_CAST(release AS INTEGER), 0))
               AS region_code,
           arg_max(region_name, time_period * 10000 + coalesce(TRY_CAST(release AS INTEGER), 0))
               AS region_name,
           min(time_period) FILTER (WHERE value IS NOT NULL AND measure <> 'population_0_17')
               AS first_year,
           max(time_period) FILTER (WHERE value IS NOT NULL AND measure <> 'population_0_17')
               AS last_year,
           min(time_period) FILTER (WHERE value IS NOT NULL) AS first_any,
           max(time_period) FILTER (WHERE value IS NOT NULL) AS last_any
    FROM dfe_figures
    GROUP BY area_code, geographic_level
)
SELECT area_code, geographic_level,
       CASE geographic_level WHEN 'National' THEN 'England'
                             WHEN 'Regional' THEN region_name ELSE la_name END AS area_name,
       old_la_code, new_la_code, la_name,
       CASE WHEN geographic_level = 'Local authority' AND region_code IN ('E13000001', 'E13000002')
            THEN 'E12000007' ELSE region_code END AS region_code,
       CASE WHEN geographic_level = 'Local authority' AND region_code IN ('E13000001', 'E13000002')
            THEN 'London' ELSE region_name END AS region_name,
       CASE WHEN region_code IN ('E13000001', 'E13000002') THEN region_code END
           AS sub_region_code,
       CASE WHEN region_code IN ('E13000001', 'E13000002') THEN region_name END
           AS sub_region_name,
       coalesce(first_year, first_any) AS first_year,
       coalesce(last_year, last_any) AS last_year
FROM latest;
