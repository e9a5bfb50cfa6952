"""The rules across rows of the practice evidence: framework, audits, family feedback, FGCs.

Each rule is one small function that adds its findings through the checker of
`pipelines.load.validate` (`checker.add_rows`, capped per rule), as `pipelines.load.row_rules`
does for the other datasets. A judgement or statement must belong to the area's practice
framework: the one loaded for it (`fct_practice_framework`), or the defaults (Devon's Five Rs
and four standard statements) when none is loaded, so a council that renames a principle
gets a sentence naming the names it can use.
"""

from __future__ import annotations

import difflib

from pipelines.contracts_practice import (
    AUDIT_GRADES,
    DEFAULT_PRINCIPLES,
    DEFAULT_STATEMENTS,
    FGC_NESTING,
    RESPONDENTS,
)
from pipelines.load.cells import STAGE_TABLE
from pipelines.measures import UNIT_ALL

FRAMEWORK_KINDS = ("principle", "statement")


def framework_names(con, area_code: str, kind: str) -> tuple[str, ...]:
    """The principles (or statements) of `area_code`'s framework, in their order: the loaded
    framework when the area has one, else the defaults."""
    defaults = DEFAULT_PRINCIPLES if kind == "principle" else DEFAULT_STATEMENTS
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fct_practice_framework'"
    ).fetchone()[0]
    if not exists:
        return defaults
    rows = con.execute(
        "SELECT name FROM fct_practice_framework WHERE area_code = ? AND kind = ? "
        "ORDER BY position NULLS LAST, name",
        [area_code, kind],
    ).fetchall()
    return tuple(r[0] for r in rows) or defaults


def _closest(value: str, allowed: tuple[str, ...]) -> str:
    """' Did you mean Respect?' when a value is close to an allowed one, else ''."""
    folded = {a.casefold(): a for a in allowed}
    match = difflib.get_close_matches(str(value).casefold(), list(folded), n=1, cutoff=0.6)
    return f" Did you mean {folded[match[0]]}?" if match else ""


def _staged_areas(checker) -> list[str]:
    rows = checker.con.execute(
        f"SELECT DISTINCT area_code FROM {STAGE_TABLE} WHERE area_code IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


_FRAMEWORK_HINT = " A council's own framework is loaded as a practice_framework file."


def _check_allowed(
    checker, rule: str, column: str, allowed_for_area, what: str, hint_more: str = ""
) -> None:
    """Rows whose `column` is not among the values allowed for their area."""
    for area in _staged_areas(checker):
        allowed = tuple(allowed_for_area(area))
        checker.add_rows(
            rule,
            f"SELECT _row, {column} FROM {STAGE_TABLE} WHERE area_code = ? "
            f"AND {column} IS NOT NULL AND {column} NOT IN (SELECT unnest(?::VARCHAR[]))",
            [area, list(allowed)],
            checker.header(column),
            lambda row, allowed=allowed, area=area: (
                f"'{row[1]}' is not {what} for {area}.{_closest(row[1], allowed)}"
            ),
            f"Use one of: {'; '.join(allowed)}." + hint_more,
        )


def _check_not_above(checker, rule: str, part: str, whole: str) -> None:
    """Rows where the count `part` is more than the count `whole` it is part of."""
    if part not in checker.mapping or whole not in checker.mapping:
        return
    checker.add_rows(
        rule,
        f"SELECT _row, {part}, {whole} FROM {STAGE_TABLE} WHERE {part} > {whole}",
        [],
        checker.header(part),
        lambda row: f"is more than {whole} ({row[1]} against {row[2]}).",
        f"{part} counts some of {whole}, so it cannot be larger; check both columns.",
    )


# --- practice_framework ----------------------------------------------------------------------


def check_framework_kind(checker) -> None:
    checker.add_rows(
        "kind_unknown",
        f"SELECT _row, kind FROM {STAGE_TABLE} WHERE kind NOT IN ('principle', 'statement')",
        [],
        checker.header("kind"),
        "is not principle or statement.",
        "Write principle (in lower case) for what case-file audits judge, statement for what "
        "families rate.",
    )


# --- practice_audit --------------------------------------------------------------------------


def check_judgement_known(checker) -> None:
    _check_allowed(
        checker,
        "judgement_unknown",
        "judgement",
        lambda area: (*AUDIT_GRADES, *framework_names(checker.con, area, "principle")),
        "a grade or a principle of the practice framework",
        _FRAMEWORK_HINT,
    )


def check_judged_not_above_completed(checker) -> None:
    _check_not_above(checker, "judged_above_completed", "audits_judged", "audits_completed")


def check_completed_is_one_figure(checker) -> None:
    """audits_completed is one figure per period and unit, repeated on each judgement's row."""
    checker.add_rows(
        "completed_differs",
        f"""SELECT _row, audits_completed, first_value FROM (
                SELECT _row, audits_completed,
                       first_value(audits_completed) OVER w AS first_value
                FROM {STAGE_TABLE} WHERE audits_completed IS NOT NULL
                WINDOW w AS (PARTITION BY period_end, area_code, unit ORDER BY _row))
            WHERE audits_completed <> first_value""",
        [],
        checker.header("audits_completed"),
        lambda row: (
            f"differs from the first row of the same period and unit ({row[2]} audits); "
            "audits_completed is one figure per period and unit."
        ),
        "Repeat the same audits_completed on every judgement row of a period and unit.",
    )


def check_grades_total(checker) -> None:
    """The four grades of a period and unit add up to its audits_completed (a warning: some
    audits may be ungraded)."""
    checker.add_rows(
        "grades_not_total",
        f"""SELECT min(_row), sum(audits_judged), max(audits_completed), period_end, unit
            FROM {STAGE_TABLE}
            WHERE judgement IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY period_end, area_code, unit
            HAVING count(*) = {len(AUDIT_GRADES)}
               AND sum(audits_judged) <> max(audits_completed)""",
        [list(AUDIT_GRADES)],
        checker.header("audits_judged"),
        lambda row: (
            f"the four grades for unit {row[4]}, {row[3]:%-d %B %Y} add up to {row[1]}, "
            f"not the {row[2]} audits completed."
        ),
        "Check for ungraded audits or a mistyped grade count.",
    )


# --- family_feedback -------------------------------------------------------------------------


def check_statement_known(checker) -> None:
    _check_allowed(
        checker,
        "statement_unknown",
        "statement",
        lambda area: framework_names(checker.con, area, "statement"),
        "a statement of the practice framework",
        _FRAMEWORK_HINT,
    )


def check_respondent_known(checker) -> None:
    _check_allowed(
        checker,
        "respondent_unknown",
        "respondent",
        lambda area: (*RESPONDENTS, UNIT_ALL),
        "a respondent group",
    )


def check_agreed_not_above_responses(checker) -> None:
    _check_not_above(checker, "agreed_above_responses", "agreed", "responses")


# --- fgc_outcomes ----------------------------------------------------------------------------


def check_fgc_nesting(checker) -> None:
    for part, whole in FGC_NESTING:
        _check_not_above(checker, "fgc_not_nested", part, whole)


RULES_BY_DATASET = {
    "practice_framework": (check_framework_kind,),
    "practice_audit": (
        check_judgement_known,
        check_judged_not_above_completed,
        check_completed_is_one_figure,
        check_grades_total,
    ),
    "family_feedback": (
        check_statement_known,
        check_respondent_known,
        check_agreed_not_above_responses,
    ),
    "fgc_outcomes": (check_fgc_nesting,),
}


def check_practice_rows(checker) -> None:
    """Every practice rule that applies to the checker's dataset, in order."""
    for rule in RULES_BY_DATASET.get(checker.contract.dataset, ()):
        rule(checker)
