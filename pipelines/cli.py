"""`rp-impact`: the command line for analysts and for automation.

Exit codes a script can trust: 0 success, 1 a file was refused (or a command failed for a
reason the message gives: permission denied, warehouse busy after retrying), 2 a usage error.

The command line acts as an analyst unless `--role` (or RP_IMPACT_ROLE) says otherwise; admin
commands (`restore`, `delete-upload`, `ingest --allow-column`) need `--role admin`. This guards
against mistakes; the real boundary for the command line is who can read the warehouse file.

When another process holds the warehouse (DuckDB allows one writer), the command says
"another upload is in progress, retrying" on stderr and retries for a bounded time
(RP_IMPACT_BUSY_WAIT seconds, default 60) before giving up with exit code 1.
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines import __version__, config

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _print_result(result, verbose: bool = True, stream=sys.stdout) -> None:
    print(result.summary(), file=stream)
    for note in result.notes:
        print(f"  note: {note}", file=stream)
    if verbose:
        for issue in result.issues:
            print(f"  {issue.severity}: {issue.as_text()}", file=stream)


def _progress(number: int, total: int, result) -> None:
    if total > 1:
        print(f"[{number}/{total}] ", end="", file=sys.stderr, flush=True)


def busy_wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("RP_IMPACT_BUSY_WAIT", "60")))
    except ValueError:
        return 60.0


def open_with_retry(path, *, read_only: bool = False, wait: float | None = None, stream=None):
    """Open the warehouse; while another process holds it, say so on stderr and retry.

    Bounded: gives up after `wait` seconds (RP_IMPACT_BUSY_WAIT) with WarehouseBusyError.
    """
    from pipelines.store.warehouse import Warehouse, WarehouseBusyError

    stream = stream or sys.stderr
    path = Path(path) if path else config.warehouse_path()
    wait = busy_wait_seconds() if wait is None else wait
    deadline = time.monotonic() + wait
    delay, attempt = 0.25, 0
    while True:
        attempt += 1
        try:
            return Warehouse(path, read_only=read_only, retries=0)
        except WarehouseBusyError as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusyError(path, attempt) from exc.__cause__
            pause = min(delay, remaining)
            print(
                f"note: another upload is in progress (the warehouse {path.name} is in use by "
                f"another process); retrying in {pause:.1f} s (attempt {attempt}, giving up "
                f"after {wait:.0f} s).",
                file=stream,
                flush=True,
            )
            time.sleep(pause)
            delay = min(delay * 2, 3.0)


def _open(args, read_only: bool = False):
    from pipelines.store.warehouse import WarehouseBusyError, WarehouseError

    try:
        return open_with_retry(args.warehouse, read_only=read_only)
    except (WarehouseBusyError, WarehouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from exc


def cmd_build(args) -> int:
    from pipelines.load.ingest import build_from_folder

    path = Path(args.warehouse or config.warehouse_path())
    if args.fresh and path.exists():
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"error: {folder} is not a folder of extracts.", file=sys.stderr)
        return EXIT_USAGE
    with _open(args) as wh:
        results = build_from_folder(wh, folder, progress=_progress)
        for result in results:
            if result.refused or args.verbose:
                _print_result(result)
        dfe_folder = folder / "dfe"
        dfe_results = []
        if dfe_folder.is_dir():
            from pipelines.load.dfe import import_dfe_files

            dfe_results = import_dfe_files(
                wh, sorted(dfe_folder.glob("*.csv")), user="sample-build", backup=False
            )
        loaded = sum(r.outcome == "loaded" for r in results)
        refused = [r for r in results if r.refused]
        print(
            f"Built {path}: {loaded} extracts loaded, {len(results) - loaded - len(refused)} "
            f"already present, {len(refused)} refused; {len(dfe_results)} DfE files imported."
        )
    return EXIT_REFUSED if refused else EXIT_OK


def _public_areas_file(wh, folder: Path) -> Path | None:
    """An areas extract naming each council in the rollout table from DfE's own list, so that
    pages and the report name a council that has no local extracts; None when there is none."""
    import csv

    from pipelines import benchmarks as dfe_reads

    rows = []
    for code in wh.query("SELECT DISTINCT area_code FROM fct_rollout ORDER BY 1")["area_code"]:
        try:
            council = dfe_reads.resolve_council(wh, str(code))
        except KeyError:
            continue
        rows.append(
            [code, council["area_name"], council["area_code"]]
            + [council.get("region_code") or "", council.get("region_name") or ""]
        )
    if not rows:
        return None
    path = folder / "public_areas.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["area_code", "area_name", "old_la_code", "region_code", "region_name"])
        out.writerows(rows)
    return path


def cmd_build_public(args) -> int:
    """A warehouse of public data only: DfE's published files, a rollout table, and an areas
    file naming the rollout's councils (from DfE's list). Demo mode serves it without
    sign-in, with a banner saying it is public data only (`pipelines.auth.public_data_only`)."""
    import tempfile

    from pipelines.auth import PUBLIC_BUILD_USER
    from pipelines.load.dfe import import_dfe_files
    from pipelines.load.ingest import ingest_files

    folder = Path(args.folder)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        print(f"error: {folder} is not a folder of DfE CSV files.", file=sys.stderr)
        return EXIT_USAGE
    if args.rollout and not Path(args.rollout).is_file():
        print(f"error: no rollout file at {args.rollout}.", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.warehouse or config.warehouse_path())
    if args.fresh and path.exists():
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    with _open(args) as wh:
        results = import_dfe_files(wh, files, user=PUBLIC_BUILD_USER, role=args.role, backup=False)
        refused = [r for r in results if getattr(r, "outcome", "") == "refused"]
        for result in refused:
            print(result.summary(), file=sys.stderr)
        extracts = []
        if args.rollout:
            extracts = ingest_files(
                wh,
                [args.rollout],
                user=PUBLIC_BUILD_USER,
                dataset="rollout",
                role=args.role,
                backup=False,
            )
            with tempfile.TemporaryDirectory() as tmp:
                areas = _public_areas_file(wh, Path(tmp))
                if areas is not None:
                    extracts += ingest_files(
                        wh,
                        [areas],
                        user=PUBLIC_BUILD_USER,
                        dataset="areas",
                        role=args.role,
                        backup=False,
                    )
            for result in extracts:
                if result.refused or args.verbose:
                    _print_result(result)
        councils = wh.query("SELECT count(DISTINCT area_code) FROM fct_rollout").iloc[0, 0]
    print(
        f"Built {path}: {len(results) - len(refused)} DfE files imported, {len(refused)} "
        f"refused; rollout dates for {int(councils)} council(s). Public data only: start the "
        "dashboard with RP_IMPACT_DEMO=1 to serve it without sign-in."
    )
    return EXIT_REFUSED if refused or any(r.refused for r in extracts) else EXIT_OK


def cmd_analyse(args) -> int:
    """The verdicts and findings for one council as text or JSON, for scripts
    (`pipelines.analysis.benchmarks.council_answer`): the Board summary's, or with --rollout,
    the annual comparison of a council with only DfE's figures using that date."""
    import datetime as dt

    from pipelines.analysis.benchmarks import council_answer
    from pipelines.present.verdicts import answer_json, answer_text

    rollout = None
    if args.rollout:
        try:
            rollout = dt.date.fromisoformat(args.rollout)
        except ValueError:
            print(
                f"error: --rollout must be a date such as 2019-10-01, not '{args.rollout}'.",
                file=sys.stderr,
            )
            return EXIT_USAGE
    with _open(args, read_only=True) as wh:
        try:
            answer = council_answer(wh, args.area.strip(), rollout=rollout)
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(answer_json(answer) if args.json else answer_text(answer))
    return EXIT_OK


def cmd_decide(args) -> int:
    """Make the disclosure decisions of every flow measure ahead of time and keep them
    (`pipelines.present.cube.decide_flows`), so the first Trends view of a flow and the
    report take them from disk. The cells are read and the warehouse closed before the
    seconds each decision takes, so an ingest is not kept waiting."""
    from pipelines import config, marts
    from pipelines.present import cube, practice_gate

    with _open(args, read_only=True) as wh:
        known = marts.areas(wh)["area_code"].tolist()
        chosen = args.area or known[:1]
        unknown = [code for code in chosen if code not in known]
        if unknown:
            print(f"error: no outcomes are loaded for area {unknown[0]}.", file=sys.stderr)
            return EXIT_USAGE
        pending = {code: cube.decide_flows(wh, code) for code in chosen}
        families = {code: practice_gate.decide_families(wh, code) for code in chosen}
    if not chosen:
        print("No outcomes are loaded, so there is nothing to decide.")
        return EXIT_OK
    for code, reads in pending.items():
        started = time.monotonic()
        done = cube.finish_decisions(reads)
        print(
            f"{code}: {len(done)} flow measure(s) decided or already kept "
            f"({time.monotonic() - started:.1f} s): {', '.join(done) or 'none'}.",
            flush=True,
        )
        started = time.monotonic()
        for family in families[code]:
            practice_gate.finish_family(family, config.suppression_threshold())
        if families[code]:
            print(
                f"{code}: {len(families[code])} practice family decided or already kept "
                f"({time.monotonic() - started:.1f} s): the audit grades.",
                flush=True,
            )
    return EXIT_OK


def cmd_validate(args) -> int:
    from pipelines.load.ingest import validate_only
    from pipelines.store.warehouse import WarehouseCorruptError, WarehouseError, open_warehouse

    path = Path(args.warehouse or config.warehouse_path())
    wh = None
    if path.exists():
        try:
            wh = open_warehouse(path, read_only=True)
        except WarehouseCorruptError as exc:
            # The warehouse's fault, not the file's: say so and check nothing.
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except WarehouseError as exc:
            print(f"note: checks against loaded data skipped ({exc})", file=sys.stderr)
    status = EXIT_OK
    try:
        for file in args.files:
            result = validate_only(file, wh, dataset=args.dataset, role=args.role)
            _print_result(result)
            if result.refused:
                status = EXIT_REFUSED
    finally:
        if wh is not None:
            wh.close()
    return status


def cmd_ingest(args) -> int:
    from pipelines.load.ingest import ingest_files

    with _open(args) as wh:
        results = ingest_files(
            wh,
            args.files,
            progress=_progress,
            user=args.user,
            dataset=args.dataset,
            role=args.role,
            allow_columns=args.allow_column or (),
        )
        for result in results:
            _print_result(result, verbose=True)
    return EXIT_REFUSED if any(r.refused for r in results) else EXIT_OK


def cmd_plan(args) -> int:
    """Show each area's analysis plan and its recorded history; --record stores it now."""
    from pipelines import marts
    from pipelines.analysis.plan import plan_history
    from pipelines.load.plan_record import record_plans

    with _open(args, read_only=not args.record) as wh:
        codes = [args.area] if args.area else marts.areas(wh).area_code.tolist()
        if args.record:
            written = record_plans(wh, codes, user=args.user)
            print(f"Recorded {len(written)} new or changed plan(s) for {len(codes)} area(s).")
        for code in codes:
            print(f"{code} {marts.area_name(wh, code)}")
            for line in plan_history(wh, code).lines():
                print(f"  {line}")
    return EXIT_OK


def cmd_uploads(args) -> int:
    with _open(args, read_only=True) as wh:
        frame = wh.query(
            "SELECT upload_id, uploaded_at, file_name, dataset, outcome, n_rows, n_added, "
            "n_revised, n_warnings, n_errors, user_name FROM mart_uploads "
            "ORDER BY upload_id DESC LIMIT ?",
            [args.limit],
        )
    if frame.empty:
        print("No uploads yet.")
    else:
        print(frame.to_string(index=False))
    return EXIT_OK


def cmd_import_dfe(args) -> int:
    from pipelines.load.dfe import import_dfe_files

    with _open(args) as wh:
        results = import_dfe_files(wh, args.files, user=args.user, role=args.role)
    refused = False
    for result in results:
        print(result.summary() if hasattr(result, "summary") else result)
        refused = refused or getattr(result, "outcome", "") == "refused"
    return EXIT_REFUSED if refused else EXIT_OK


def cmd_contracts(args) -> int:
    from pipelines.contracts import contracts_markdown

    text = contracts_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}")
    else:
        print(text)
    return EXIT_OK


def cmd_template(args) -> int:
    from pipelines.contracts import template_csv

    sys.stdout.write(template_csv(args.dataset))
    return EXIT_OK


def cmd_serve(args) -> int:
    """`streamlit run dashboard/app.py` by way of `dashboard/serve.py`, which makes the Board
    summary's reads in the server's process before it accepts a browser (run, not imported:
    `pipelines` does not import the dashboard)."""
    launcher = Path(__file__).resolve().parent.parent / "dashboard" / "serve.py"
    env = dict(os.environ)
    if args.warehouse:
        env["RP_IMPACT_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    command = [sys.executable, str(launcher), "--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    return subprocess.call(command, env=env)


def cmd_report(args) -> int:
    from pipelines.report import PdfUnavailableError, ReportError, build_brief, build_report

    out = Path(args.out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("html", "pdf"):
        print("error: --out must end in .html or .pdf", file=sys.stderr)
        return EXIT_USAGE
    if args.brief and args.appendix:
        print("error: --appendix is for the full report; the brief has none", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.warehouse or config.warehouse_path())
    if not path.exists():
        print(f"error: no warehouse at {path}; run `rp-impact build` first.", file=sys.stderr)
        return EXIT_REFUSED
    what = "board brief" if args.brief else "report"
    print(
        f"Building the {fmt.upper()} {what} for {args.year - 1}-{str(args.year)[-2:]}...",
        file=sys.stderr,
    )
    options = {
        "year": args.year,
        "area_code": args.area,
        "out": out,
        "format": fmt,
        "partnership_name": args.partnership,
        "unit_cost": args.unit_cost,
    }
    try:
        if args.brief:
            result = build_brief(path, **options)
        else:
            result = build_report(
                path, **options, investment=args.investment, appendix=args.appendix
            )
    except (ReportError, PdfUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    pages = f", {result.pages} pages" if result.pages else ""
    print(f"Wrote {result.path} in {result.seconds:.1f} s{pages}.")
    appendix = result.numbers.get("appendix_file")
    if appendix:
        print(f"Wrote the appendix (data tables, upload log, file fingerprints) to {appendix}.")
    for warning in result.warnings:
        print(f"  note: {warning}")
    return EXIT_OK


def cmd_export(args) -> int:
    from pipelines.store.export import export_marts

    with _open(args, read_only=True) as wh:
        try:
            counts = export_marts(wh, args.parquet, overwrite=args.overwrite)
        except (FileExistsError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    for mart, rows in counts.items():
        print(f"{mart}: {rows:,} rows")
    print(f"Wrote Parquet marts partitioned by area and year to {args.parquet}")
    return EXIT_OK


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise SystemExit("error: no terminal for a password prompt; use --password-stdin.")
    first = getpass.getpass(f"Password for {args.name}: ")
    if first != getpass.getpass("Repeat the password: "):
        raise SystemExit("error: the passwords differ; nothing was changed.")
    return first


def cmd_users(args) -> int:
    from pipelines import auth

    try:
        if args.users_command == "add":
            user = auth.add_user(args.name, args.role_name, _read_password(args))
            print(f"Added {user.name} ({user.role}) to {auth.users_path()}.")
        elif args.users_command == "remove":
            auth.remove_user(args.name)
            print(f"Removed {args.name}.")
        elif args.users_command == "set-role":
            user = auth.set_role(args.name, args.role_name)
            print(f"{user.name} is now {user.role}.")
        else:
            users = auth.load_users()
            if not users:
                print(f"No local accounts in {auth.users_path()}.")
            for user in sorted(users.values(), key=lambda u: u.name):
                print(f"{user.name}\t{user.role}\tcreated {user.created_at}")
    except auth.AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_backups(args) -> int:
    from pipelines.store.backup import backup_dir, list_backups

    path = Path(args.warehouse or config.warehouse_path())
    backups = list_backups(path)
    if not backups:
        print(f"No backups in {backup_dir(path)}.")
    for backup in backups:
        print(backup.describe())
    return EXIT_OK


def cmd_backup(args) -> int:
    from pipelines import auth
    from pipelines.store.backup import take_backup

    auth.require(args.role, "backup")
    with _open(args) as wh:
        backup = take_backup(wh, "manual")
    print(f"Backup taken: {backup.describe()}")
    return EXIT_OK


def cmd_restore(args) -> int:
    from pipelines import auth
    from pipelines.store.backup import BackupError, find_backup, restore_at

    auth.require(args.role, "restore")
    path = Path(args.warehouse or config.warehouse_path())
    try:
        backup = find_backup(path, args.target)
        if not args.yes:
            print(
                f"Would restore {backup.describe()}.\nEvery upload after {backup.max_upload_id} "
                "would be undone (a backup of the current state is taken first, or a damaged "
                "warehouse is kept aside). Run again with --yes to restore."
            )
            return EXIT_USAGE
        print(restore_at(path, backup, lambda: _open(args)))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_delete_upload(args) -> int:
    """Take an extract's or a DfE import's figures out (a dry run names the upload first)."""
    from pipelines import auth
    from pipelines.load.ingest import delete_upload, describe_upload

    auth.require(args.role, "delete_upload")
    if not args.yes:
        from pipelines.store.warehouse import WarehouseBusyError, WarehouseError

        try:  # naming the upload is a courtesy: the dry run works without the warehouse
            with open_with_retry(args.warehouse, read_only=True, wait=0) as wh:
                print(describe_upload(wh, args.upload_id))
        except (WarehouseBusyError, WarehouseError):
            pass
        print(f"Would delete upload {args.upload_id}. Run again with --yes to delete it.")
        return EXIT_USAGE
    with _open(args) as wh:
        try:
            result = delete_upload(wh, args.upload_id, role=args.role, user=args.user)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    print(result.summary())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rp-impact",
        description="Restorative Practice impact analytics: load extracts, build the warehouse, "
        "serve the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"rp-impact {__version__}")
    parser.add_argument(
        "--warehouse", help="warehouse file (default: $RP_IMPACT_WAREHOUSE or var/warehouse.duckdb)"
    )
    parser.add_argument(
        "--role",
        default=os.environ.get("RP_IMPACT_ROLE", "analyst"),
        choices=["viewer", "analyst", "admin"],
        help="the role to act as (default: $RP_IMPACT_ROLE or analyst)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="build the warehouse from a folder of extracts (the sample)")
    p.add_argument("folder", nargs="?", default=str(config.SAMPLE_DIR))
    p.add_argument("--fresh", action="store_true", help="delete the warehouse first")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "build-public",
        help="build a public-data warehouse from a folder of DfE files and a rollout CSV",
    )
    p.add_argument("folder", help="folder of DfE published CSV files")
    p.add_argument("--rollout", help="rollout CSV (area_code, unit, programme, wave, start_date)")
    p.add_argument("--fresh", action="store_true", help="delete the warehouse first")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_build_public)

    p = sub.add_parser("validate", help="dry run: check files against their contract")
    p.add_argument("files", nargs="+")
    p.add_argument("--dataset", help="force the dataset instead of detecting it from the header")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ingest", help="validate and load files (each atomically)")
    p.add_argument("files", nargs="+")
    p.add_argument("--dataset")
    p.add_argument("--user", default=config.current_user())
    p.add_argument(
        "--allow-column",
        action="append",
        metavar="COLUMN",
        help="admin only: let this column past the identifiable-data guard (audited)",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("uploads", help="show the upload audit log")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_uploads)

    p = sub.add_parser("import-dfe", help="import DfE published statistics (CSV files or URLs)")
    p.add_argument("files", nargs="+")
    p.add_argument("--user", default=config.current_user())
    p.set_defaults(func=cmd_import_dfe)

    p = sub.add_parser("contracts", help="print the data contracts as Markdown")
    p.add_argument("--out")
    p.set_defaults(func=cmd_contracts)

    p = sub.add_parser("template", help="print a CSV template for a dataset")
    p.add_argument("dataset", choices=["outcomes", "training", "rollout", "population", "areas"])
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("users", help="manage local accounts (RP_IMPACT_USERS, var/users.toml)")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    q = users.add_parser("add", help="add an account (password from a prompt or stdin)")
    q.add_argument("name")
    q.add_argument(
        "--role", dest="role_name", required=True, choices=["viewer", "analyst", "admin"]
    )
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    q = users.add_parser("remove", help="remove an account")
    q.add_argument("name")
    q = users.add_parser("set-role", help="change an account's role")
    q.add_argument("name")
    q.add_argument("role_name", choices=["viewer", "analyst", "admin"])
    users.add_parser("list", help="list accounts and roles")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("backups", help="list the warehouse backups kept")
    p.set_defaults(func=cmd_backups)

    p = sub.add_parser("backup", help="admin: take a backup now (e.g. nightly from cron)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="admin: restore a backup (id, before UPLOAD_ID, latest)")
    p.add_argument("target", help="a backup id from `rp-impact backups`, an upload id, or latest")
    p.add_argument("--yes", action="store_true", help="really restore (otherwise a dry run)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "delete-upload", help="admin: take an upload's figures out (an extract or a DfE import)"
    )
    p.add_argument("upload_id", type=int)
    p.add_argument("--yes", action="store_true", help="really delete (otherwise a dry run)")
    p.add_argument("--user", default=config.current_user())
    p.set_defaults(func=cmd_delete_upload)

    p = sub.add_parser("plan", help="show the analysis plan and its recorded changes")
    p.add_argument("--area", help="one ONS area code (default: every area)")
    p.add_argument("--record", action="store_true", help="record the plan in force now")
    p.add_argument("--user", default=config.current_user())
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "analyse", help="print a council's verdicts and findings (text, or JSON for scripts)"
    )
    p.add_argument("--area", required=True, help="ONS or DfE code of any council in England")
    p.add_argument(
        "--rollout",
        metavar="DATE",
        help="the date Restorative Practice started (YYYY-MM-DD), for a council with only "
        "DfE's published figures (default: the rollout table's)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser("report", help="the annual effectiveness report (HTML or PDF)")
    p.add_argument(
        "--year",
        type=int,
        required=True,
        help="financial year by its end: 2025 is April 2024 to March 2025",
    )
    p.add_argument("--area", required=True, help="ONS area code, e.g. E06999901")
    p.add_argument("--out", required=True, help="report.html or report.pdf")
    p.add_argument(
        "--brief",
        action="store_true",
        help="the board brief (at most four A4 pages) instead of the full report",
    )
    p.add_argument(
        "--appendix",
        metavar="PATH",
        help="where the full report's appendix goes (data tables, upload log, SHA-256 "
        "fingerprints; default: <name>-appendix.html or .pdf beside the report)",
    )
    p.add_argument("--partnership", help="partnership name for the title page")
    p.add_argument(
        "--unit-cost",
        type=float,
        help="the council's own cost of a child-year in care (GBP); without it no money "
        "value is shown",
    )
    p.add_argument("--investment", type=float, help="programme investment to set costs against")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "decide",
        help="make and keep the disclosure decisions of every flow measure (decisions/ beside "
        "the warehouse), so the first views and the report need not",
    )
    p.add_argument(
        "--area",
        action="append",
        help="an ONS area code; repeat for several (default: the area the dashboard opens on)",
    )
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("export", help="export the marts as Parquet partitioned by area and year")
    p.add_argument("--parquet", required=True, metavar="DIR")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", help="start the dashboard")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true")
    p.set_defaults(func=cmd_serve)
    # Imported here: pipelines.cli_returns reuses this module's exit codes and helpers.
    from pipelines.cli_returns import add_parsers as add_returns_parsers

    add_returns_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import duckdb

    from pipelines.store.warehouse import WarehouseError, warehouse_fault

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; every file is loaded whole or not at all.", file=sys.stderr)
        return EXIT_REFUSED
    except PermissionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (duckdb.Error, OSError) as exc:  # a full disk or a damaged block, mid-command
        if (fault := warehouse_fault(exc, args.warehouse or config.warehouse_path())) is None:
            raise
        print(f"error: {fault}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    raise SystemExit(main())
