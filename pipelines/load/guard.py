"""The identifiable-data guard: refuse an upload that looks like child-level records.

rp-impact holds aggregate counts only. An extract that carries names, dates of birth, postcodes,
addresses, Unique Pupil Numbers, Unique Learner Numbers, NHS numbers, case or person IDs, e-mail
addresses or phone numbers is refused before anything is staged, with the column and the row
that tripped the guard and never the value itself: the guard's issues have `value=None` and
their messages never quote a cell, so nothing identifying reaches a log, the audit tables or the
screen.

Two kinds of check:

- **Headers.** Each header is split into normalised tokens (`Child_ID`, `childId` and `CHILD ID`
  all give `child`, `id`) and compared with identity words. A header that names a contract
  column of the file's dataset is never flagged (so `area_name`, or `name` as its alias in the
  areas file, is fine), and a `name` qualified by a place or organisation (`la_name`,
  `unit name`, `region_name`) is not a person's name.
- **Values.** One SQL pass over the raw table (so a national file of a million rows is checked
  without per-row Python) looks in every column for a UPN with a valid check letter, an NHS
  number that passes modulus 11, a full UK postcode, an e-mail address, a UK phone number, a
  date in a column that is not one of the contract's date columns (a date of birth, perhaps),
  and long free text (case notes, perhaps).

An admin may allow a column that trips the guard (`allow_columns`); the override is recorded as
a `guard_override` warning in the upload's audit (`upload_issues`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb

RULE_COLUMN = "identifying_column"
RULE_VALUE = "identifying_value"
RULE_FREE_TEXT = "free_text"
RULE_OVERRIDE = "guard_override"
GUARD_RULES = frozenset({RULE_COLUMN, RULE_VALUE, RULE_FREE_TEXT, RULE_OVERRIDE})

FREE_TEXT_CHARS = 120
ROWS_LISTED = 5
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"

HINT = (
    "rp-impact holds aggregate counts only, never records about a child. Remove the column (or "
    "correct the rows) and export the extract again. If the column is not identifying, an admin "
    "can allow it for this upload; the override is audited."
)

# -- reference implementations (also used on headers and in tests) ---------------------------


def upn_check_letter(body: str) -> str | None:
    """The DfE check letter for the 12 characters after it (LA, establishment, year, serial).

    Characters 2-13 are weighted 2-13; a letter in position 13 (a temporary UPN) counts as its
    index in the check-letter alphabet; the sum modulo 23 indexes that alphabet, which leaves out
    I, O and S. (DfE, "Unique Pupil Numbers (UPNs): guidance", check letter algorithm.)
    """
    body = body.upper()
    if len(body) != 12 or not body[:11].isdigit():
        return None
    last = body[11]
    if not (last.isdigit() or last in UPN_LETTERS):
        return None
    total = sum(int(ch) * weight for weight, ch in enumerate(body[:11], start=2))
    total += 13 * (int(last) if last.isdigit() else UPN_LETTERS.index(last))
    return UPN_LETTERS[total % 23]


def is_upn(text: str) -> bool:
    text = str(text).strip().upper()
    return len(text) == 13 and upn_check_letter(text[1:]) == text[0]


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 with weights 10..2; None when the remainder makes the number invalid (10)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        return None
    remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        return 0
    return None if check == 10 else check


def is_nhs_number(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", str(text))
    if not re.fullmatch(r"[0-9]{10}", digits) or len(set(digits)) == 1:
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


_POSTCODE = (
    r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9]"
    r"[ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_PHONE = r"(\+44 ?|0)(7[0-9]{3} ?[0-9]{3} ?[0-9]{3}|[12][0-9]{2,3} ?[0-9]{3} ?[0-9]{3,4})"
# Month names and their abbreviations (`Feb`, `Sept.`, `February`), matched case-insensitively.
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
# 14-Feb-2013, 14 February 2013, 14th Feb 13, 14/Feb/2013; and February 14, 2013.
_DAY_MONTH_YEAR = (
    rf"[0-9]{{1,2}}(st|nd|rd|th)?[ /.-]+(of +)?{_MONTH}[ /.,-]+([0-9]{{4}}|[0-9]{{2}})"
)
_MONTH_DAY_YEAR = rf"{_MONTH} +[0-9]{{1,2}}(st|nd|rd|th)?,? +[0-9]{{4}}"
_DATE_WHOLE = (
    r"^([0-9]{1,2}[/.-][0-9]{1,2}[/.-]([0-9]{4}|[0-9]{2})|[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"
    rf"([ T][0-9:.]+)?|{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR})$"
)
# A date inside a sentence ("born 14 February 2013", "DOB 14.02.2013 (aged 10)").
_DATE_EMBEDDED = (
    r"(^|[^0-9a-z])([0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}|"
    rf"{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR})([^0-9a-z]|$)"
)


def looks_like_date(text: str) -> bool:
    """True for a day-precise date, alone or inside a sentence (the Python twin of the SQL)."""
    text = str(text).strip()
    return bool(
        re.search(_DATE_WHOLE, text, re.IGNORECASE)
        or re.search(_DATE_EMBEDDED, text, re.IGNORECASE)
    )


def looks_like_identifier(text: str) -> str | None:
    """What an identifier-shaped string looks like ('an NHS number', ...), or None."""
    text = str(text).strip()
    upper = text.upper()
    for token in re.findall(r"[A-Z][0-9]{11}[0-9A-Z]", upper):
        if is_upn(token):
            return "a UPN (Unique Pupil Number)"
    for token in re.findall(r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])", text):
        if is_nhs_number(token):
            return "an NHS number"
    if re.search(rf"(^|[^A-Z0-9]){_POSTCODE}([^A-Z0-9]|$)", upper):
        return "a postcode"
    if re.search(_EMAIL, text):
        return "an e-mail address"
    if re.search(rf"(^|[^0-9+]){_PHONE}([^0-9]|$)", text):
        return "a phone number"
    return None


# -- headers ---------------------------------------------------------------------------------

_SUBJECTS = {
    "child",
    "children",
    "childs",
    "case",
    "person",
    "persons",
    "client",
    "pupil",
    "student",
    "patient",
    "individual",
    "family",
    "young",
    "yp",
    "mosaic",
    "lcs",
    "eclipse",
    "carefirst",
    "subject",
    "baby",
    "mother",
    "father",
    "parent",
    "carer",
}
_ID_WORDS = {"id", "ids", "ref", "reference", "number", "no", "num", "nr", "identifier", "key"}
_PLACE_OR_ORG = {
    "area",
    "la",
    "local",
    "authority",
    "council",
    "unit",
    "team",
    "locality",
    "region",
    "course",
    "programme",
    "program",
    "agency",
    "district",
    "hub",
    "ward",
    "lsoa",
    "msoa",
    "school",
    "provider",
    "service",
    "org",
    "organisation",
    "organization",
    "setting",
    "file",
    "sheet",
    "measure",
    "indicator",
    "geographic",
    "country",
    "establishment",
    "site",
    "place",
    "partner",
    "sector",
    "wave",
    "age",
    "band",
    "group",
    "column",
    "table",
    "release",
}
_PERSON_NAME_WORDS = {
    "forename",
    "forenames",
    "surname",
    "surnames",
    "firstname",
    "lastname",
    "givenname",
    "familyname",
    "fullname",
    "middlename",
    "maidenname",
    "preferredname",
    "nickname",
    "knownas",
    "childname",
    "childsname",
    "personname",
    "clientname",
    "pupilname",
}


def header_tokens(header: str) -> list[str]:
    """`Child_ID` / `childId` / `CHILD ID` -> ['child', 'id']."""
    text = str(header).replace("\ufeff", "")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return re.findall(r"[a-z]+|[0-9]+", text.lower())


def header_kind(header: str) -> str | None:
    """What an identifying header seems to hold ('a date of birth', ...), or None."""
    tokens = header_tokens(header)
    if not tokens:
        return None
    words = set(tokens)
    joined = "".join(tokens)
    if (
        words & {"dob", "birth", "birthday", "birthdate", "dateofbirth"}
        or joined.startswith(("dateofbirth", "birthdate"))
        or "dob" in joined.split("date")
    ):
        return "dates of birth"
    if "email" in joined or ("e" in words and "mail" in words):
        return "e-mail addresses"
    if words & {"postcode", "postcodes", "zip", "zipcode", "postal"} or "postcode" in joined:
        return "postcodes"
    if {"post", "code"} <= words:
        return "postcodes"
    if words & {"address", "addresses", "street", "addr"} or "address" in joined:
        return "addresses"
    if words & {"phone", "telephone", "tel", "mobile", "landline"} or "phone" in joined:
        return "phone numbers"
    if "upn" in words or "uniquepupilnumber" in joined or joined.startswith("upn"):
        return "UPNs (Unique Pupil Numbers)"
    if "uln" in words or "uniquelearnernumber" in joined or joined.startswith("uln"):
        return "ULNs (Unique Learner Numbers)"
    if "nhs" in words or joined.startswith("nhs"):
        return "NHS numbers"
    if "nino" in words or "nationalinsurance" in joined:
        return "National Insurance numbers"
    if words & _SUBJECTS and words & _ID_WORDS:
        return "child, case or person identifiers"
    subject_id = "|".join(sorted(_SUBJECTS))
    id_word = "|".join(sorted(_ID_WORDS))
    if re.fullmatch(rf"({subject_id})({id_word})s?", joined):
        return "child, case or person identifiers"
    if words & _PERSON_NAME_WORDS or joined in _PERSON_NAME_WORDS:
        return "people's names"
    if (words & {"name", "names"} or joined.endswith("name")) and not words & _PLACE_OR_ORG:
        return "people's names"
    return None


#: Header words of a free-text comments column (a survey's "Any other comments?").
_COMMENT_WORDS = {"comment", "comments", "verbatim", "verbatims", "quote", "quotes", "remarks"}


def is_comment_header(header: str) -> bool:
    """True for a header of free-text comments: `Comments`, `parent_comment`, `Free text`,
    `What went well`, `Verbatim`."""
    tokens = header_tokens(header)
    joined = "".join(tokens)
    return bool(
        set(tokens) & _COMMENT_WORDS
        or "freetext" in joined
        or "comment" in joined
        or joined.startswith(("whatwentwell", "evenbetterif", "anythingelse"))
    )


# -- the guard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardFinding:
    """One reason to refuse: never carries the offending value."""

    rule: str
    column: str
    row: int | None
    message: str
    n_rows: int = 0


def normalise_column(name: str) -> str:
    return "".join(header_tokens(name))


#: A header cell that is a value, not a column's name: a number, an ONS code, a date.
_VALUE_SHAPED = re.compile(r"^([0-9][0-9.,/ :-]*|[EWSN][0-9]{8})$", re.IGNORECASE)
#: Two or three capitalised words, as a person's name is written ("Jayden Smith").
_NAME_SHAPED = re.compile(r"^[A-Z][a-z'\-]+( [A-Z][a-z'\-]+){1,2}$")


def header_is_record(headers: list[str]) -> bool:
    """True when the first row is data, not column names: one of its cells is a number, a code,
    a date or an identifier (a child's record exported without its header row)."""
    return any(
        _VALUE_SHAPED.match(str(h).strip()) or looks_like_date(h) or looks_like_identifier(h)
        for h in headers
        if str(h).strip()
    )


def header_label(index: int, header: str, record: bool = False) -> str:
    """The header to show: its text, unless it looks like a value or its row is a record
    (`header_is_record`), when it is only `column N`."""
    if record or not str(header).strip() or looks_like_identifier(header):
        return f"column {index + 1}"
    header = str(header)
    return header if len(header) <= 60 else header[:57] + "..."


def _record_cell_kind(header: str) -> str | None:
    """What a cell of a first row that is a record holds, when it identifies a child."""
    if looks_like_date(header):
        return "a date (a date of birth, perhaps)"
    seen_as = looks_like_identifier(header)
    if seen_as:
        return seen_as
    if _NAME_SHAPED.match(str(header).strip()) and not header_kind(header):
        return "a person's name, perhaps"
    return None


def scan_record_header(headers: list[str], header_row: int) -> list[GuardFinding]:
    """The identifying cells of a first row that is a record, by column, never by value."""
    findings = []
    for index, header in enumerate(headers):
        kind = _record_cell_kind(header)
        if kind:
            findings.append(
                GuardFinding(
                    RULE_VALUE,
                    f"column {index + 1}",
                    header_row,
                    f"the first row is a record, not a header, and this cell holds {kind}. "
                    "The values are not shown.",
                    1,
                )
            )
    return findings


def scan_headers(
    headers: list[str], mapped: Iterable[int] = (), allowed: Iterable[str] = ()
) -> list[GuardFinding]:
    """Identifying headers among those that are not contract columns of the file's dataset."""
    mapped_set, allowed_set = set(mapped), {normalise_column(a) for a in allowed}
    if header_is_record(headers):
        return []  # its cells are values: `scan_record_header` reports them
    findings = []
    for index, header in enumerate(headers):
        if index in mapped_set or normalise_column(header) in allowed_set:
            continue
        label = header_label(index, header)
        seen_as = looks_like_identifier(header)
        if seen_as:
            findings.append(
                GuardFinding(
                    RULE_COLUMN,
                    label,
                    None,
                    f"the header itself looks like {seen_as}; the first row must be the header "
                    "of an aggregate extract, not a record.",
                )
            )
            continue
        if is_comment_header(header):
            findings.append(
                GuardFinding(
                    RULE_FREE_TEXT,
                    label,
                    None,
                    "the column's name suggests free-text comments. rp-impact takes counts "
                    "only: a family's own words can identify them, so comments are never "
                    "accepted, whatever their length.",
                )
            )
            continue
        kind = header_kind(header)
        if kind:
            findings.append(
                GuardFinding(
                    RULE_COLUMN,
                    label,
                    None,
                    f"the column's name suggests it holds {kind}, which identify children.",
                )
            )
    return findings


def _upn_token_sql(u: str) -> str:
    """The first UPN-shaped token in upper-case text `u` (or NULL)."""
    return (
        f"CASE WHEN length({u}) >= 13 THEN nullif(regexp_extract({u}, "
        "'(^|[^A-Z0-9])([A-Z][0-9]{11}[0-9A-Z])([^A-Z0-9]|$)', 2), '') END"
    )


def _upn_valid_sql(t: str) -> str:
    """True when the UPN-shaped token `t` carries the right DfE check letter."""
    digits = " + ".join(f"{w} * TRY_CAST(substr({t}, {w}, 1) AS INTEGER)" for w in range(2, 13))
    last = (
        f"13 * CASE WHEN substr({t}, 13, 1) BETWEEN '0' AND '9' THEN TRY_CAST(substr({t}, 13, 1) "
        f"AS INTEGER) ELSE strpos('{UPN_LETTERS}', substr({t}, 13, 1)) - 1 END"
    )
    return (
        f"({t} IS NOT NULL AND substr({t}, 13, 1) NOT IN ('I', 'O', 'S') AND "
        f"substr('{UPN_LETTERS}', (({digits} + {last}) % 23) + 1, 1) = substr({t}, 1, 1))"
    )


def _nhs_token_sql(v: str) -> str:
    """The digits of the first NHS-number-shaped token in `v` (or NULL)."""
    return (
        f"CASE WHEN length({v}) >= 10 THEN nullif(regexp_replace(regexp_extract({v}, "
        "'(^|[^0-9])([0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4})([^0-9]|$)', 2), '[^0-9]', '', 'g'), '') "
        "END"
    )


def _nhs_valid_sql(d: str) -> str:
    weighted = " + ".join(
        f"{w} * TRY_CAST(substr({d}, {11 - w}, 1) AS INTEGER)" for w in range(10, 1, -1)
    )
    return (
        f"({d} IS NOT NULL AND length({d}) = 10 AND NOT regexp_matches({d}, '^0+$|^1+$|^2+$|"
        f"^3+$|^4+$|^5+$|^6+$|^7+$|^8+$|^9+$') AND ({weighted}) % 11 <> 1 AND "
        f"(11 - ({weighted}) % 11) % 11 = TRY_CAST(substr({d}, 10, 1) AS INTEGER))"
    )


def _value_checks(kind: str, i: int) -> list[tuple[str, str, str]]:
    """(rule, what it looks like, SQL condition) for column `i` of contract kind `kind`.

    The conditions read the projected columns v{i} (trimmed text), u{i} (upper case), t{i}
    (a UPN-shaped token) and d{i} (the digits of an NHS-number-shaped token).
    """
    v, u = f"v{i}", f"u{i}"
    checks = [
        (RULE_VALUE, "UPNs (Unique Pupil Numbers)", _upn_valid_sql(f"t{i}")),
        (RULE_VALUE, "NHS numbers", _nhs_valid_sql(f"d{i}")),
        (
            RULE_VALUE,
            "full postcodes",
            f"(length({v}) >= 5 AND regexp_matches({u}, '(^|[^A-Z0-9]){_POSTCODE}([^A-Z0-9]|$)'))",
        ),
        (
            RULE_VALUE,
            "e-mail addresses",
            f"(contains({v}, '@') AND regexp_matches({v}, '{_EMAIL}'))",
        ),
        (
            RULE_VALUE,
            "phone numbers",
            f"(length({v}) >= 10 AND regexp_matches({v}, '(^|[^0-9+]){_PHONE}([^0-9]|$)'))",
        ),
    ]
    if kind != "date":
        checks.append(
            (
                RULE_VALUE,
                "dates (dates of birth, perhaps) in a column that is not one of the contract's "
                "date columns",
                f"(length({v}) >= 6 AND (regexp_matches({v}, '{_DATE_WHOLE}', 'i') OR "
                f"regexp_matches({v}, '{_DATE_EMBEDDED}', 'i')))",
            )
        )
    if kind == "text":
        checks.append(
            (
                RULE_FREE_TEXT,
                f"free text longer than {FREE_TEXT_CHARS} characters (case notes, perhaps)",
                f"(length({v}) > {FREE_TEXT_CHARS})",
            )
        )
    return checks


_CANDIDATE_ANY = r"@|[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}|[A-Za-z][0-9]{11}|[A-Za-z][0-9A-Za-z]{1,3} ?[0-9][A-Za-z]{2}"
_CANDIDATE_DATE = (
    r"[0-9][/.-][0-9]{1,2}[/.-][0-9]|[0-9]{4}[/.-][0-9]|[0-9][a-z]{0,2}[ /.-]+(of +)?[A-Za-z]{3}"
    r"|[A-Za-z]{3}[a-z]*\.? +[0-9]{1,2}[a-z]{0,2},? +[0-9]{4}"
)


def _candidate_sql(i: int, kind: str) -> str:
    """A cheap test that a value of column `i` might trip one of the (slower) checks."""
    pattern = _CANDIDATE_ANY if kind == "date" else f"{_CANDIDATE_ANY}|{_CANDIDATE_DATE}"
    long_text = f" OR length(c{i}) > {FREE_TEXT_CHARS}" if kind == "text" else ""
    return f"(regexp_matches(c{i}, '{pattern}'){long_text})"


def _kind(column_kinds: dict[int, str], index: int) -> str:
    kind = column_kinds.get(index, "text")
    return kind if kind in ("date", "count") else "text"


def scan_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    headers: list[str],
    column_kinds: dict[int, str],
    allowed: Iterable[str] = (),
    value_tables: Callable[[int], str] | None = None,
) -> list[GuardFinding]:
    """Identifier-shaped values per column of `table` (columns c0..cN and `_row`), in SQL.

    `column_kinds` maps a header index to the contract kind of the column it feeds ('date',
    'count', 'text', ...); unmapped columns count as 'text'. `value_tables(i)`, when given,
    names a table of column i's distinct values (`c{i}`) with their row counts (`n`): every
    check is a function of one value, so it runs once per distinct value instead of once per
    cell, and `table` is read again only for the rows of a column that trips the guard.
    Values are never returned.
    """
    allowed_set = {normalise_column(a) for a in allowed if normalise_column(a)}
    scanned = [i for i, h in enumerate(headers) if normalise_column(h) not in allowed_set]
    if not scanned:
        return []
    record = header_is_record(headers)

    def source(i: int) -> str:
        return value_tables(i) if value_tables else table

    flags = con.execute(
        "SELECT "
        + ", ".join(
            f"(SELECT coalesce(bool_or({_candidate_sql(i, _kind(column_kinds, i))}), false) "
            f"FROM {source(i)})"
            for i in scanned
        )
    ).fetchone()
    candidates = [i for i, flagged in zip(scanned, flags, strict=True) if flagged]
    findings: list[GuardFinding] = []
    for index in candidates:
        findings += _exact_checks(
            con, table, source(index), headers, index, _kind(column_kinds, index), record
        )
    return findings


def _exact_checks(
    con, table: str, values: str, headers: list[str], i: int, kind: str, record: bool = False
) -> list[GuardFinding]:
    checks = _value_checks(kind, i)
    label = "CASE " + " ".join(f"WHEN {cond} THEN {n}" for n, (_, _, cond) in enumerate(checks))
    labelled = (
        f"SELECT c{i}, {label} END AS check_number FROM ("
        f"SELECT c{i}, trim(c{i}) AS v{i}, upper(trim(c{i})) AS u{i}, "
        f"{_upn_token_sql(f'upper(trim(c{i}))')} AS t{i}, {_nhs_token_sql(f'trim(c{i})')} AS d{i} "
        f"FROM (SELECT DISTINCT c{i} FROM {values} WHERE {_candidate_sql(i, kind)}))"
    )
    # A NULL cell trips no check, so an equality join finds every row of a flagged value.
    rows = con.execute(
        f"SELECT l.check_number, count(*), list(r._row ORDER BY r._row)[1:{ROWS_LISTED}] "
        f"FROM {table} r JOIN ({labelled}) l ON r.c{i} = l.c{i} "
        "WHERE l.check_number IS NOT NULL GROUP BY l.check_number ORDER BY l.check_number"
    ).fetchall()
    findings = []
    for number, count, first_rows in rows:
        rule, what, _ = checks[int(number)]
        where = ", ".join(str(r) for r in first_rows)
        more = f" and {count - len(first_rows)} more" if count > len(first_rows) else ""
        findings.append(
            GuardFinding(
                rule,
                header_label(i, headers[i], record),
                int(first_rows[0]),
                f"looks like it holds {what}: {count} row(s) (row {where}{more}). "
                "The values are not shown.",
                int(count),
            )
        )
    return findings


def overrides_present(headers: list[str], allowed: Iterable[str]) -> list[str]:
    """The file's headers that an admin allowed."""
    allowed_set = {normalise_column(a) for a in allowed if normalise_column(a)}
    return [h for h in headers if normalise_column(h) in allowed_set]
