-- The practice evidence as proportions, one row per period, area, unit, respondent and measure:
-- `successes` out of `trials`, whatever the dataset, so one analysis (Wilson intervals, p' charts,
-- change since rollout) reads every practice measure the same way.
--
-- Measures:
--   good_or_better          audits graded Outstanding or Good, of audits completed
--   grade:<grade>           audits given each grade, of audits completed
--   principle:<name>        audits judged to meet each principle, of audits completed
--   statement:<text>        respondents who agreed, of those who answered (per respondent group)
--   fgc_held                FGCs held, of FGCs offered
--   plan_agreed             FGCs with a family plan agreed, of FGCs held
--   in_network_6m / _12m    children living in their family network, of those followed up
--
-- Units: the rows the council sent; the whole area ('All') is its own 'All' rows where it sent
-- them, else the sum of its units for that period. Feedback's 'All' respondent row is likewise
-- the council's own or the sum of the two groups. A NULL count (suppressed, not recorded) leaves
-- its row out rather than counting as 0.
CREATE OR REPLACE VIEW mart_practice_proportions AS
WITH audit AS (
    SELECT period_end, area_code, unit, 'All' AS respondent,
           CASE WHEN judgement IN ('Outstanding', 'Good', 'Requires improvement', 'Inadequate')
                THEN 'grade:' ELSE 'principle:' END || judgement AS measure,
           audits_judged AS successes, audits_completed AS trials
    FROM fct_practice_audit
    UNION ALL
    SELECT period_end, area_code, unit, 'All', 'good_or_better',
           sum(audits_judged), max(audits_completed)
    FROM fct_practice_audit
    WHERE judgement IN ('Outstanding', 'Good')
    GROUP BY period_end, area_code, unit
    HAVING count(audits_judged) = 2
),
feedback_given AS (
    SELECT period_end, area_code, unit, respondent, 'statement:' || statement AS measure,
           agreed AS successes, responses AS trials
    FROM fct_family_feedback
),
feedback AS (
    SELECT * FROM feedback_given
    UNION ALL
    SELECT period_end, area_code, unit, 'All', measure, sum(successes), sum(trials)
    FROM feedback_given g
    WHERE respondent <> 'All' AND NOT EXISTS (
        SELECT 1 FROM feedback_given a
        WHERE a.respondent = 'All' AND a.period_end = g.period_end
          AND a.area_code = g.area_code AND a.unit = g.unit AND a.measure = g.measure)
    GROUP BY period_end, area_code, unit, measure
    HAVING count(successes) = count(*) AND count(trials) = count(*)
),
fgc AS (
    SELECT period_end, area_code, unit, 'All' AS respondent, measure, successes, trials
    FROM fct_fgc_outcomes,
    LATERAL (VALUES
        ('fgc_held', fgc_held, fgc_offered),
        ('plan_agreed', family_plan_agreed, fgc_held),
        ('in_network_6m', in_network_6m, children_followed_6m),
        ('in_network_12m', in_network_12m, children_followed_12m)
    ) AS m(measure, successes, trials)
),
given AS (
    SELECT 'audit' AS source, * FROM audit
    UNION ALL SELECT 'feedback', * FROM feedback
    UNION ALL SELECT 'fgc', * FROM fgc
),
complete AS (
    SELECT * FROM given WHERE successes IS NOT NULL AND trials IS NOT NULL
)
SELECT * FROM complete
UNION ALL
SELECT source, period_end, area_code, 'All', respondent, measure, sum(successes), sum(trials)
FROM complete c
WHERE unit <> 'All' AND NOT EXISTS (
    SELECT 1 FROM complete a
    WHERE a.unit = 'All' AND a.period_end = c.period_end AND a.area_code = c.area_code
      AND a.respondent = c.respondent AND a.measure = c.measure)
GROUP BY source, period_end, area_code, respondent, measure;
