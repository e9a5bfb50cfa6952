"""Read CIN census XML files (several census years at once) into child-level frames in memory.

The CIN census is one XML message per census year ([CIN] DfE, "Children in need census:
technical specification", one per year): `<Message>` holds a `<Header>` (with
`<CollectionDetails>`: `<Collection>`, `<Year>`, `<ReferenceDate>`; and `<Source>` with the
three-digit `<LEA>`) and `<Children>`, one `<Child>` each with `<ChildIdentifiers>`
(`<LAchildID>`, `<UPN>`, `<PersonBirthDate>` or, for an unborn child,
`<ExpectedPersonBirthDate>`) and one or more `<CINdetails>`. Each `<CINdetails>` is a CIN
episode (`<CINreferralDate>`, `<CINclosureDate>`, `<ReferralNFA>`, `<Assessments>`,
`<Section47>` with `<S47ActualStartDate>` and `<DateOfInitialCPC>`) holding its
`<ChildProtectionPlans>` (`<CPPstartDate>`, `<CPPendDate>`, `<InitialCategoryOfAbuse>`,
`<LatestCategoryOfAbuse>`, `<NumberOfPreviousCPP>`). Dates are ISO YYYY-MM-DD.

Safety: the XML is parsed by the standard library's expat into an `xml.etree` tree, with any
document type declaration, entity declaration or external entity refused before it is
processed (no "billion laughs", no external fetches), and a size limit. Only dates, codes and
counts are kept; LAchildID becomes an opaque integer key and UPNs are never read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import pandas as pd

from pipelines.load.readers import safe_display_name, sha256_of
from pipelines.load.returns.ssda903 import (
    ReturnsRead,
    SourceFile,
    child_keys,
    collection_year_from_name,
)
from pipelines.load.validate import Issue

MAX_XML_BYTES = 512 * 1024 * 1024
#: Categories of abuse ([CIN] N00113/N00114).
ABUSE_CATEGORIES = frozenset({"NEG", "PHY", "EMO", "SAB", "MUL"})


class UnsafeXml(ValueError):
    """The XML declares a DTD or an entity: refused before anything in it is processed."""


@dataclass
class ReadCin(ReturnsRead):
    plans: pd.DataFrame
    episodes: pd.DataFrame
    reference_dates: list[pd.Timestamp] = field(default_factory=list)
    lea_codes: set[str] = field(default_factory=set)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def parse_safely(data: bytes) -> ET.Element:
    """Parse XML bytes into an ElementTree element, refusing DTDs and entities.

    Each element carries its line in the attribute `_line`, so problems can name the line.
    """

    def refuse(*_args):
        raise UnsafeXml("the XML declares a document type or an entity, which is not accepted")

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda tag, _attrs: builder.start(
        _local(tag), {"_line": str(parser.CurrentLineNumber)}
    )
    parser.EndElementHandler = lambda tag: builder.end(_local(tag))
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close()


def _text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = element.find(name)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _date(value: str | None):
    if value is None:
        return pd.NaT
    return pd.to_datetime(value[:10], format="%Y-%m-%d", errors="coerce")


def read_cin(paths, names: list[str] | None = None) -> ReadCin:
    """Read every CIN census file given into frames of plans and CIN episodes.

    Problems (an unreadable or unsafe file, an unparseable date, a plan ending before it
    starts) are returned as issues with the file, the XML line and the element; nothing here
    raises for bad input.
    """
    paths = [Path(p) for p in paths]
    names = [safe_display_name(n) for n in (names or [p.name for p in paths])]
    result = ReadCin(pd.DataFrame(), pd.DataFrame())
    plans, episodes = [], []
    for path, name in zip(paths, names, strict=True):
        _read_one(path, name, result, plans, episodes)
    result.plans = pd.DataFrame(
        plans,
        columns=[
            "child",
            "dob",
            "start",
            "end",
            "previous",
            "year",
            "file",
            "row",
            "start_bad",
            "end_bad",
            "category",
        ],
    )
    result.episodes = pd.DataFrame(
        episodes, columns=["child", "dob", "referral", "closure", "nfa", "year", "file", "row"]
    )
    for frame, columns in (
        (result.plans, ("dob", "start", "end")),
        (result.episodes, ("dob", "referral", "closure")),
    ):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column])
    # The ids become opaque keys here; no frame returned holds an LAchildID.
    result.plans["child"] = child_keys(result.plans["child"].tolist())
    result.episodes["child"] = child_keys(result.episodes["child"].tolist())
    return result


def _issue(name, row, column, rule, message, hint="", value=None) -> Issue:
    return Issue(name, row, column, value, rule, "error", message, hint)


def _read_one(path: Path, name: str, result: ReadCin, plans: list, episodes: list) -> None:
    try:
        if path.stat().st_size > MAX_XML_BYTES:
            result.issues.append(_issue(name, None, None, "too_large", "is larger than 512 MB."))
            return
        data = path.read_bytes()
        sha = sha256_of(path)
        root = parse_safely(data)
    except UnsafeXml as exc:
        result.issues.append(
            _issue(
                name,
                None,
                None,
                "unsafe_xml",
                f"was refused: {exc}.",
                "Export the census again from the case management system, without a DTD.",
            )
        )
        return
    except (OSError, expat.ExpatError):
        result.issues.append(
            _issue(name, None, None, "unreadable", "could not be read as CIN census XML.")
        )
        return
    header = root.find("Header")
    details = header.find("CollectionDetails") if header is not None else None
    year_text = _text(details, "Year")
    reference = _date(_text(details, "ReferenceDate"))
    year = int(year_text) if year_text and year_text.isdigit() else None
    year = year or (reference.year if pd.notna(reference) else collection_year_from_name(name))
    if year is None:
        result.issues.append(
            _issue(
                name,
                None,
                "ReferenceDate",
                "collection_year",
                "does not say its census year (Header/CollectionDetails/Year).",
            )
        )
        return
    if pd.isna(reference):
        reference = pd.Timestamp(year, 3, 31)
    result.reference_dates.append(reference)
    lea = _text(header.find("Source") if header is not None else None, "LEA")
    if lea:
        result.lea_codes.add(lea)
    children = root.find("Children")
    n_rows = 0
    for child in children.iter("Child") if children is not None else ():
        ids = child.find("ChildIdentifiers")
        identifier = _text(ids, "LAchildID")
        line = int(child.get("_line", 0)) or None
        if identifier is None:
            result.issues.append(
                _issue(name, line, "LAchildID", "child_missing", "a <Child> has no LAchildID.")
            )
            continue
        key = identifier
        dob = _date(_text(ids, "PersonBirthDate") or _text(ids, "ExpectedPersonBirthDate"))
        for cin in child.findall("CINdetails"):
            n_rows += 1
            nfa = (_text(cin, "ReferralNFA") or "").lower() in ("1", "true")
            episodes.append(
                [
                    key,
                    dob,
                    _date(_text(cin, "CINreferralDate")),
                    _date(_text(cin, "CINclosureDate")),
                    nfa,
                    year,
                    name,
                    int(cin.get("_line", 0)) or None,
                ]
            )
            for plan in cin.findall("ChildProtectionPlans"):
                start_text, end_text = _text(plan, "CPPstartDate"), _text(plan, "CPPendDate")
                start, end = _date(start_text), _date(end_text)
                previous = _text(plan, "NumberOfPreviousCPP")
                plans.append(
                    [
                        key,
                        dob,
                        start,
                        end,
                        int(previous) if previous and previous.isdigit() else None,
                        year,
                        name,
                        int(plan.get("_line", 0)) or None,
                        start_text is None or pd.isna(start),
                        end_text is not None and pd.isna(end),
                        _text(plan, "LatestCategoryOfAbuse"),
                    ]
                )
    result.files.append(SourceFile(name, sha, "cin", "cin", year, n_rows))


def latest_plans(plans: pd.DataFrame) -> pd.DataFrame:
    """One row per plan across census years: a plan open at 31 March appears again in the next
    census (with its end date once it ends), so the latest census's row wins."""
    ordered = plans.sort_values(["child", "start", "year"], kind="mergesort")
    return ordered.drop_duplicates(["child", "start"], keep="last")


def latest_cin_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per CIN episode across census years (by child and referral date)."""
    ordered = episodes.sort_values(["child", "referral", "year"], kind="mergesort")
    return ordered.drop_duplicates(["child", "referral"], keep="last")
