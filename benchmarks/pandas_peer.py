"""The peer for the ingest benchmark: an idiomatic, vectorised pandas implementation.

It does what `pipelines.load.ingest.ingest_file` does for an outcomes extract, the way a competent
analyst would write it with pandas: read the CSV as strings with `pandas.read_csv`, apply the
same contract rules with vectorised string and groupby operations (no per-row Python), then
upsert into the same DuckDB warehouse (history of revised rows, update, insert, audit row) from
the DataFrame in one transaction. It exists only to be timed against the real pipeline; the
product never calls it.

Rules implemented (all of the outcomes contract): missing columns, counts (suppression markers,
integer, negative, not a number), dates (ISO or UK), area codes (ONS or mapped old codes),
key columns, duplicate keys, period end of month, period not in the future, localities above
the All row, age bands not summing to All, and the 50% quarter-on-quarter jump (against the
warehouse's earlier quarters too).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.contracts import CONTRACTS, STOCK_MEASURES, SUPPRESSION_MARKERS, normalise_header
from pipelines.load.readers import sha256_of
from pipelines.store.warehouse import Warehouse, next_upload_id

CONTRACT = CONTRACTS["outcomes"]
KEY = list(CONTRACT.key)
COUNT_RE = r"[0-9]+(\.0+)?"
ISO_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00(:00)?)?"
UK_RE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
ONS_RE = r"[EWSN][0-9]{8}"
# The same thresholds as pipelines.load.validate (MAX_ISSUES_PER_RULE) and
# pipelines.load.row_rules (JUMP_MIN_BASE).
MAX_ISSUES_PER_RULE = 50
JUMP_MIN_BASE = 20


class _Issues:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, rule: str, rows: pd.Series, values: pd.Series, column: str, message: str):
        """One issue per offending row (first 50 by row number), then a summary line."""
        if rows.empty:
            return
        severity = CONTRACT.rule(rule).severity
        order = np.argsort(rows.to_numpy(), kind="stable")[:MAX_ISSUES_PER_RULE]
        for r, v in zip(rows.to_numpy()[order], values.to_numpy()[order], strict=True):
            self.items.append(
                {
                    "rule": rule,
                    "severity": severity,
                    "row": int(r),
                    "column": column,
                    "value": None if pd.isna(v) else str(v),
                    "message": message,
                }
            )
        if len(rows) > len(order):
            self.items.append(
                {
                    "rule": rule,
                    "severity": severity,
                    "row": None,
                    "column": column,
                    "value": None,
                    "message": f"{len(rows) - len(order)} more rows break the same rule.",
                }
            )

    @property
    def errors(self) -> list[dict]:
        return [i for i in self.items if i["severity"] == "error"]


def _column_map(headers: list[str]) -> dict[str, str]:
    normalised = {normalise_header(h): h for h in headers}
    mapping = {}
    for column in CONTRACT.columns:
        for name in (column.name, *column.aliases):
            if normalise_header(name) in normalised:
                mapping[column.name] = normalised[normalise_header(name)]
                break
    return mapping


def _parse_dates(text: pd.Series) -> pd.Series:
    iso = text.str.fullmatch(ISO_RE, na=False)
    uk = text.str.fullmatch(UK_RE, na=False)
    out = pd.to_datetime(text.str[:10].where(iso), format="%Y-%m-%d", errors="coerce")
    return out.fillna(pd.to_datetime(text.where(uk), format="%d/%m/%Y", errors="coerce"))


def validate(path: Path, wh: Warehouse) -> tuple[pd.DataFrame | None, _Issues, list[str]]:
    issues = _Issues()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    mapping = _column_map(list(raw.columns))
    for column in CONTRACT.columns:
        if column.required and column.name not in mapping:
            issues.items.append(
                {
                    "rule": "missing_column",
                    "severity": "error",
                    "row": 1,
                    "column": column.name,
                    "value": None,
                    "message": f"the required column '{column.name}' is missing.",
                }
            )
    measures = [m for m in CONTRACT.value_columns if m in mapping]
    if not measures or issues.errors:
        return None, issues, measures
    row = pd.Series(np.arange(2, len(raw) + 2), index=raw.index)
    markers = set(SUPPRESSION_MARKERS)
    typed = pd.DataFrame({"_row": row})

    # types, on the strings
    for m in measures:
        s = raw[mapping[m]].str.strip()
        lower = s.str.lower()
        is_marker = lower.isin(markers)
        text = s.str.replace(",", "", regex=False)
        ok = text.str.fullmatch(COUNT_RE)
        bad = ~is_marker & ~ok
        if bad.any():
            b = text[bad]
            negative = b.str.fullmatch(r"-[0-9]+(\.[0-9]+)?")
            fraction = b.str.fullmatch(r"[0-9]*\.[0-9]+")
            number = b.str.fullmatch(r"-?[0-9]*\.?[0-9]+")
            issues.add("count_negative", row[bad][negative], s[bad][negative], m, "is negative")
            issues.add(
                "count_not_integer",
                row[bad][fraction],
                s[bad][fraction],
                m,
                "is not a whole number",
            )
            issues.add(
                "count_not_integer", row[bad][~number], s[bad][~number], m, "is not a number"
            )
        typed[m] = pd.to_numeric(text.where(ok), errors="coerce").astype("Int64")
        typed[f"{m}_null_reason"] = lower.where(is_marker).mask(is_marker & (s == ""), "empty")
    pe_text = raw[mapping["period_end"]].str.strip()
    typed["period_end"] = _parse_dates(pe_text)
    bad = typed["period_end"].isna()
    issues.add("date_invalid", row[bad], pe_text[bad], "period_end", "is not a valid date")
    area = raw[mapping["area_code"]].str.strip()
    upper = area.str.upper()
    ons = upper.str.fullmatch(ONS_RE)
    lookup = wh.query(
        "SELECT DISTINCT old_la_code, area_code FROM fct_areas WHERE old_la_code IS NOT NULL"
    )
    mapped = area.map(dict(zip(lookup.old_la_code, lookup.area_code, strict=False)))
    typed["area_code"] = upper.where(ons, mapped)
    bad = typed["area_code"].isna()
    issues.add("area_invalid", row[bad], area[bad], "area_code", "is not an ONS area code")
    for name in ("unit", "age_band"):
        text = raw[mapping[name]].str.strip() if name in mapping else pd.Series("", raw.index)
        typed[name] = text.mask(text == "", "All")
    if issues.errors:
        return None, issues, measures

    # rules on typed rows
    dup = typed.duplicated(KEY, keep="first")
    first = typed.groupby(KEY, sort=False)["_row"].transform("min")
    issues.add("duplicate_key", typed["_row"][dup], first[dup], "period_end", "repeats a key")
    pe = typed["period_end"]
    not_end = pe != pe + pd.offsets.MonthEnd(0)
    issues.add(
        "period_not_end",
        typed["_row"][not_end],
        pe[not_end],
        "period_end",
        "is not the last day of a month or quarter",
    )
    future = pe > pd.Timestamp(dt.date.today())
    issues.add(
        "period_in_future", typed["_row"][future], pe[future], "period_end", "is in the future"
    )
    _check_sums(typed, measures, issues)
    _check_jumps(typed, measures, issues, wh)
    return typed, issues, measures


_TOTAL_RULES = {
    "unit_sum_above_all": "the localities add up to more than this All row",
    "age_bands_not_all": "the age bands do not add up to this All row",
}


def _add_total_hits(issues: _Issues, joined: pd.DataFrame, hit, rule: str, m: str) -> None:
    """Record each row where ``hit`` holds (missing counts as no), with the ``m`` total found."""
    hit = hit.fillna(False).astype(bool)
    issues.add(rule, joined["_row"][hit], joined[f"{m}_total"][hit], m, _TOTAL_RULES[rule])


def _check_sums(typed: pd.DataFrame, measures: list[str], issues: _Issues) -> None:
    all_unit = typed["unit"] == "All"
    all_band = typed["age_band"] == "All"
    by_band = ["period_end", "area_code", "age_band"]
    by_unit = ["period_end", "area_code", "unit"]
    units = typed[~all_unit].groupby(by_band)[measures].sum(min_count=1)
    a_rows = typed[all_unit].set_index(by_band)
    joined = a_rows[["_row", *measures]].join(units, rsuffix="_total", how="inner")
    for m in measures:
        hit = joined[f"{m}_total"] > joined[m]
        _add_total_hits(issues, joined, hit, "unit_sum_above_all", m)
    bands = typed[~all_band].groupby(by_unit)[measures]
    totals = bands.sum(min_count=1).join(bands.count(), rsuffix="_known")
    totals["_n"] = typed[~all_band].groupby(by_unit).size()
    b_rows = typed[all_band].set_index(by_unit)
    joined = b_rows[["_row", *measures]].join(totals, rsuffix="_total", how="inner")
    for m in measures:
        hit = (joined[f"{m}_known"] == joined["_n"]) & (joined[f"{m}_total"] != joined[m])
        _add_total_hits(issues, joined, hit, "age_bands_not_all", m)


def _check_jumps(typed: pd.DataFrame, measures: list[str], issues: _Issues, wh) -> None:
    low = typed["period_end"].min() - pd.DateOffset(months=6)
    high = typed["period_end"].max()
    cols = ", ".join(["period_end", "area_code", "unit", "age_band", *measures])
    existing = wh.query(
        f"SELECT {cols} FROM fct_outcomes WHERE period_end BETWEEN ? AND ?",
        [low.date(), high.date()],
    )
    frames = [typed[["_row", *KEY, *measures]]]
    if not existing.empty:
        existing["period_end"] = pd.to_datetime(existing["period_end"])
        existing = existing.merge(typed[KEY], on=KEY, how="left", indicator=True)
        existing = existing[existing["_merge"] == "left_only"].drop(columns="_merge")
        frames.append(existing.assign(_row=np.nan))
    combined = pd.concat(frames, ignore_index=True).sort_values("period_end", kind="stable")
    combined["q"] = combined["period_end"] + pd.offsets.QuarterEnd(0)
    groups = ["area_code", "unit", "age_band", "q"]
    g = combined.groupby(groups, sort=True)
    quarters = pd.DataFrame({"first_row": g["_row"].min()})
    stocks = [m for m in measures if m in STOCK_MEASURES]
    flows = [m for m in measures if m not in STOCK_MEASURES]
    if stocks:
        # the value on the quarter's last period (NULL if that value is NULL: arg_max_null)
        last = combined.drop_duplicates(groups, keep="last").set_index(groups)[stocks]
        quarters[stocks] = last.reindex(quarters.index)
    if flows:
        sums = g[flows].sum(min_count=1)
        complete = g[flows].count().eq(g.size(), axis=0)
        quarters[flows] = sums.where(complete)
    quarters = quarters.reset_index()
    series = ["area_code", "unit", "age_band"]
    previous = quarters.groupby(series, sort=False)[[*measures, "q"]].shift(1)
    consecutive = previous["q"] == quarters["q"] - pd.offsets.QuarterEnd(1)
    base_ok = quarters["first_row"].notna() & consecutive
    for m in measures:
        prev = previous[m].astype("Float64")
        v = quarters[m].astype("Float64")
        hit = base_ok & (prev >= JUMP_MIN_BASE) & ((v - prev).abs() > 0.5 * prev)
        hit = hit.fillna(False).astype(bool)
        pct = (100.0 * (v - prev) / prev).round()
        issues.add(
            "jump_over_50pct",
            quarters["first_row"][hit].astype("int64"),
            pct[hit],
            m,
            "the quarter's figure changed by more than 50%",
        )


def _upsert(
    wh: Warehouse,
    typed: pd.DataFrame,
    measures: list[str],
    name: str,
    sha: str,
    issues: _Issues,
    user: str,
) -> dict:
    columns = []
    for m in measures:
        columns += [m, f"{m}_null_reason"]
    frame = typed[[*KEY, *columns]].copy()
    frame["period_end"] = frame["period_end"].dt.date
    join = " AND ".join(f"s.{k} = f.{k}" for k in KEY)
    diff = " OR ".join(f"s.{c} IS DISTINCT FROM f.{c}" for c in columns)
    now = dt.datetime.now().replace(microsecond=0)
    with wh.transaction() as tx:
        tx.register("peer_stage", frame)
        added, revised = tx.execute(
            f"""SELECT count(*) FILTER (WHERE f.period_end IS NULL),
                       count(*) FILTER (WHERE f.period_end IS NOT NULL AND ({diff}))
                FROM peer_stage s LEFT JOIN fct_outcomes f ON {join}"""
        ).fetchone()
        upload_id = next_upload_id(tx)
        warnings = [i for i in issues.items if i["severity"] == "warning"]
        tx.execute(
            """INSERT INTO raw_uploads (upload_id, file_name, sha256, dataset, n_rows, user_name,
                   uploaded_at, outcome, n_added, n_revised, n_unchanged, n_warnings, n_errors,
                   message, source)
               VALUES (?, ?, ?, 'outcomes', ?, ?, now(), 'loaded', ?, ?, ?, ?, 0, ?, 'bench')""",
            [
                upload_id,
                name,
                sha,
                len(frame),
                user,
                added,
                revised,
                len(frame) - added - revised,
                len(warnings),
                "pandas peer",
            ],
        )
        if warnings:
            tx.executemany(
                "INSERT INTO upload_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        upload_id,
                        i["severity"],
                        i["row"],
                        i["column"],
                        i["value"],
                        i["rule"],
                        i["message"],
                        "",
                    )
                    for i in warnings
                ],
            )
        tx.execute(
            f"""INSERT INTO hist_outcomes SELECT f.*, ?, ? FROM fct_outcomes f
                WHERE EXISTS (SELECT 1 FROM peer_stage s WHERE {join} AND ({diff}))""",
            [upload_id, now],
        )
        sets = ", ".join(f"{c} = s.{c}" for c in columns)
        tx.execute(
            f"""UPDATE fct_outcomes f SET {sets}, upload_id = ?, loaded_at = ?
                FROM peer_stage s WHERE {join} AND ({diff})""",
            [upload_id, now],
        )
        names = ", ".join([*KEY, *columns])
        tx.execute(
            f"""INSERT INTO fct_outcomes ({names}, upload_id, loaded_at)
                SELECT {", ".join(f"s.{c}" for c in [*KEY, *columns])}, ?, ? FROM peer_stage s
                WHERE NOT EXISTS (SELECT 1 FROM fct_outcomes f WHERE {join})""",
            [upload_id, now],
        )
        tx.unregister("peer_stage")
    return {"outcome": "loaded", "n_added": int(added), "n_revised": int(revised)}


def ingest_outcomes(path: Path | str, wh: Warehouse, user: str = "bench") -> dict:
    """Validate and upsert one outcomes extract; refuse it (write nothing) on any error."""
    path = Path(path)
    sha = sha256_of(path)
    loaded = wh.query(
        "SELECT count(*) AS n FROM raw_uploads WHERE sha256 = ? AND outcome = 'loaded'", [sha]
    )
    if int(loaded.n.iloc[0]):
        return {"outcome": "no-op"}
    typed, issues, measures = validate(path, wh)
    if typed is None or issues.errors:
        return {"outcome": "refused", "errors": len(issues.errors)}
    result = _upsert(wh, typed, measures, path.name, sha, issues, user)
    result["n_warnings"] = sum(i["severity"] == "warning" for i in issues.items)
    return result
