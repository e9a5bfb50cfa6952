-- DfE published statistics (written by pipelines/load/dfe.py, read by pipelines/benchmarks.py). Schema migration 2.
-- Every figure keeps the release it came from: overlapping releases sit side by side and the
-- marts pick the newest (see dfe_marts.sql). Areas are identified by codes only, never names.

-- One row per published cell: release x table x year x area x measure.
-- area_code is DfE's old_la_code for a local authority (stable when ONS re-codes a council
-- without changing it, e.g. North Yorkshire 815: E10000023 then E06000065; a new council gets a
-- new one, e.g. Cumberland 942), region_code for a region and country_code for England. value is NULL when suppressed, with the marker in null_reason (c, x, z, u, k, low,
-- empty). time_period is the year ending 31 March, except for population_0_17 where it is the
-- ONS mid-year of the estimate.
CREATE TABLE IF NOT EXISTS dfe_figures (
    release VARCHAR NOT NULL,
    table_kind VARCHAR NOT NULL,
    time_period INTEGER NOT NULL,
    geographic_level VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    country_code VARCHAR,
    region_code VARCHAR,
    region_name VARCHAR,
    old_la_code VARCHAR,
    new_la_code VARCHAR,
    la_name VARCHAR,
    measure VARCHAR NOT NULL,
    value DOUBLE,
    null_reason VARCHAR,
    published_rate_per_10k DOUBLE,
    published_rate_null_reason VARCHAR,
    population_estimate DOUBLE,
    population_estimate_null_reason VARCHAR,
    upload_id BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
-- Figures replaced by a later file of the same release (a corrected re-issue).
CREATE TABLE IF NOT EXISTS dfe_figures_history (
    release VARCHAR NOT NULL,
    table_kind VARCHAR NOT NULL,
    time_period INTEGER NOT NULL,
    geographic_level VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    country_code VARCHAR,
    region_code VARCHAR,
    region_name VARCHAR,
    old_la_code VARCHAR,
    new_la_code VARCHAR,
    la_name VARCHAR,
    measure VARCHAR NOT NULL,
    value DOUBLE,
    null_reason VARCHAR,
    published_rate_per_10k DOUBLE,
    published_rate_null_reason VARCHAR,
    population_estimate DOUBLE,
    population_estimate_null_reason VARCHAR,
    upload_id BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    superseded_by BIGINT NOT NULL,
    superseded_at TIMESTAMP NOT NULL
);
-- DfE's statistical neighbours: ten per local authority, by old_la_code, for a model year.
CREATE TABLE IF NOT EXISTS dfe_neighbours (
    model VARCHAR NOT NULL,
    old_la_code VARCHAR NOT NULL,
    la_name VARCHAR,
    region_name VARCHAR,
    neighbour_rank INTEGER NOT NULL,
    neighbour_old_la_code VARCHAR NOT NULL,
    closeness VARCHAR,
    upload_id BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
-- Every (old_la_code, new_la_code) pair the files use, with the years each pair is listed:
-- the two-way mapping between DfE's three-digit codes and ONS codes.
CREATE TABLE IF NOT EXISTS dfe_area_codes (
    old_la_code VARCHAR NOT NULL,
    new_la_code VARCHAR NOT NULL,
    la_name VARCHAR,
    first_listed INTEGER,
    last_listed INTEGER
);
-- Area lookup rebuilt from the imported files after every import. One row per area code:
-- a reorganised council keeps its own row (Cumbria 909 stops, Cumberland 942 starts).
-- first_year and last_year span the years with at least one published (non-suppressed) figure.
CREATE TABLE IF NOT EXISTS dfe_areas (
    area_code VARCHAR NOT NULL,
    geographic_level VARCHAR NOT NULL,
    area_name VARCHAR,
    old_la_code VARCHAR,
    new_la_code VARCHAR,
    la_name VARCHAR,
    region_code VARCHAR,
    region_name VARCHAR,
    sub_region_code VARCHAR,
    sub_region_name VARCHAR,
    first_year INTEGER,
    last_year INTEGER
)
