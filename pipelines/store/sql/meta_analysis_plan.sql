-- Migration 6: each version of a council's analysis plan, recorded when the warehouse first
-- sees it (pipelines.load.plan_record). A plan changed after its fixed date gets a new row,
-- so a reader can see what was chosen before the answer was known, and what changed later.
CREATE TABLE IF NOT EXISTS meta_analysis_plan (
    area_code   VARCHAR NOT NULL,
    plan_hash   VARCHAR NOT NULL,   -- SHA-256 of the canonical plan (AnalysisPlan.plan_hash)
    plan_json   VARCHAR NOT NULL,   -- AnalysisPlan.canonical()
    fixed_on    DATE NOT NULL,      -- the date the plan says it was fixed
    recorded_at TIMESTAMP NOT NULL,
    recorded_by VARCHAR NOT NULL,
    change      VARCHAR NOT NULL,   -- plain-English list of what changed ('first plan' for v1)
    -- A plan can return to an earlier version: each time is its own row (nothing is deleted).
    PRIMARY KEY (area_code, plan_hash, recorded_at)
)
