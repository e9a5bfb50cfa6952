"""`rp-impact import-903 FILE...` and `rp-impact import-cin FILE...`: statutory returns in.

The returns are read and aggregated in memory (`pipelines.load.returns`); only the aggregates
are loaded, through the same atomic ingest as any extract. `--dry-run` prints the preview (with
small numbers suppressed, as every view is) and writes nothing. Returns that are refused are
recorded in the audit, as a refused extract is (`record_refusal`: a name, a hash, the outcome
and the reason; never a row of the returns), except on a dry run. Exit codes as
`rp-impact`'s: 0 loaded (or a clean dry run), 1 refused (or the warehouse busy, or permission
denied), 2 a usage error (a file that does not exist, an unreadable unit map).

`pipelines.cli` wires `add_parsers` into its sub-commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from pipelines import config
from pipelines.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, _open, _print_result


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD).") from exc


def add_parsers(subparsers) -> None:
    """Add `import-903` and `import-cin` to `rp-impact`'s sub-command parsers."""
    for command, what, handler in (
        ("import-903", "SSDA903 CSV tables (header and episodes, any years)", cmd_import_903),
        ("import-cin", "CIN census XML files (any census years)", cmd_import_cin),
    ):
        p = subparsers.add_parser(
            command,
            help=f"import {what} as outcomes aggregates (no child-level data is kept)",
        )
        p.add_argument("files", nargs="+", metavar="FILE")
        p.add_argument(
            "--area",
            required=command == "import-903",
            help="the council's ONS code (or DfE three-digit LA code)"
            + ("" if command == "import-903" else "; default: the census header's LEA"),
        )
        p.add_argument(
            "--unit-map",
            metavar="FILE",
            help="CSV mapping postcode sector (903 HOME_POST) or child to a unit; default: All",
        )
        p.add_argument(
            "--to",
            type=_date,
            metavar="DATE",
            help="last day to count (default: the end of the latest year, or last month)",
        )
        p.add_argument("--dry-run", action="store_true", help="preview the aggregates only")
        p.add_argument("--user", default=config.current_user())
        p.set_defaults(func=handler)


def _unit_map(args):
    from pipelines.load.returns import UnitMapError, read_unit_map

    if not args.unit_map:
        return None
    try:
        return read_unit_map(args.unit_map)
    except UnitMapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc


def _missing_files(files) -> bool:
    missing = [f for f in files if not Path(f).is_file()]
    for name in missing:
        print(f"error: {Path(name).name} is not a file.", file=sys.stderr)
    return bool(missing)


def print_preview(preview, stream=None) -> None:
    """The preview as text: summary, files (hash, year), problems, notes, and the yearly
    totals for the whole area with small numbers suppressed."""
    from pipelines import disclosure

    stream = stream or sys.stdout

    print(preview.summary(), file=stream)
    for f in preview.files:
        year = f"year ending March {f.year}" if f.year else "year not known"
        print(f"  file: {f.name} ({f.table}, {year}, sha256 {f.sha256[:16]}…)", file=stream)
    for issue in preview.issues:
        print(f"  {issue.severity}: {issue.as_text()}", file=stream)
    for note in preview.notes:
        print(f"  note: {note}", file=stream)
    if preview.outcomes.empty:
        return
    totals = yearly_totals(preview.outcomes)
    shown = disclosure.suppress(totals, [c for c in totals.columns if c != "year ending March"])
    print(shown.to_string(index=False), file=stream)


def yearly_totals(outcomes):
    """The whole area's flows summed and stocks at the year's end, per financial year."""
    from pipelines.measures import STOCK_MEASURES

    rows = outcomes.loc[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")].copy()
    ends = rows["period_end"].astype(str)
    rows["year ending March"] = ends.str[:4].astype(int) + (ends.str[5:7].astype(int) >= 4)
    measures = [
        c
        for c in rows.columns
        if c not in ("period_end", "area_code", "unit", "age_band", "year ending March")
    ]
    flows = [m for m in measures if m not in STOCK_MEASURES]
    stocks = [m for m in measures if m in STOCK_MEASURES]
    grouped = rows.groupby("year ending March")
    out = grouped[flows].sum() if flows else grouped.size().to_frame("rows")[[]]
    for stock in stocks:
        out[stock] = grouped[stock].last()
    return out.reset_index()[["year ending March", *stocks, *flows]]


def _run(args, preview_function, area_code) -> int:
    from pipelines.load.returns import commit, record_refusal

    if _missing_files(args.files):
        return EXIT_USAGE
    unit_map = _unit_map(args)
    preview = preview_function(
        args.files, area_code=area_code, unit_map=unit_map, period_to=args.to, role=args.role
    )
    print_preview(preview)
    if not preview.ok:
        if not args.dry_run:  # audited as a refused extract is; a dry run writes nothing
            with _open(args) as wh:
                refused = record_refusal(wh, preview, user=args.user, role=args.role)
                _print_result(refused, verbose=False, stream=sys.stdout)
        return EXIT_REFUSED
    if args.dry_run:
        return EXIT_OK
    with _open(args) as wh:
        result = commit(wh, preview, user=args.user, role=args.role)
    _print_result(result, verbose=True)
    return EXIT_REFUSED if result.refused else EXIT_OK


def cmd_import_903(args) -> int:
    from pipelines.load.returns import preview_903

    return _run(args, preview_903, args.area)


def cmd_import_cin(args) -> int:
    from pipelines.load.returns import preview_cin
    from pipelines.load.returns.cin import read_cin

    area = args.area
    if not area:
        codes = set()
        if not _missing_files(args.files):
            codes = read_cin(args.files).lea_codes  # the header's three-digit LEA code
        area = next(iter(codes)) if len(codes) == 1 else None
    return _run(args, preview_cin, area)
