"""`rp-impact`: the command line for analysts and for automation.

Exit codes a script can trust: 0 success, 1 a file was refused (or a command failed for a
reason the message gives), 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
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


def _open(args, read_only: bool = False):
    from pipelines.warehouse import WarehouseBusyError, WarehouseError, open_warehouse

    try:
        return open_warehouse(args.warehouse, read_only=read_only)
    except (WarehouseBusyError, WarehouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from exc


def cmd_build(args) -> int:
    from pipelines.ingest import build_from_folder

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
            from pipelines.dfe import import_dfe_files

            dfe_results = import_dfe_files(
                wh, sorted(dfe_folder.glob("*.csv")), user="sample-build"
            )
        loaded = sum(r.outcome == "loaded" for r in results)
        refused = [r for r in results if r.refused]
        print(
            f"Built {path}: {loaded} extracts loaded, {len(results) - loaded - len(refused)} "
            f"already present, {len(refused)} refused; {len(dfe_results)} DfE files imported."
        )
    return EXIT_REFUSED if refused else EXIT_OK


def cmd_validate(args) -> int:
    from pipelines.ingest import validate_only
    from pipelines.warehouse import WarehouseBusyError, WarehouseError, open_warehouse

    path = Path(args.warehouse or config.warehouse_path())
    wh = None
    if path.exists():
        try:
            wh = open_warehouse(path, read_only=True)
        except (WarehouseBusyError, WarehouseError) as exc:
            print(f"note: checks against loaded data skipped ({exc})", file=sys.stderr)
    status = EXIT_OK
    try:
        for file in args.files:
            result = validate_only(file, wh, dataset=args.dataset)
            _print_result(result)
            if result.refused:
                status = EXIT_REFUSED
    finally:
        if wh is not None:
            wh.close()
    return status


def cmd_ingest(args) -> int:
    from pipelines.ingest import ingest_files

    with _open(args) as wh:
        results = ingest_files(
            wh, args.files, progress=_progress, user=args.user, dataset=args.dataset
        )
        for result in results:
            _print_result(result, verbose=True)
    return EXIT_REFUSED if any(r.refused for r in results) else EXIT_OK


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
    from pipelines.dfe import import_dfe_files

    with _open(args) as wh:
        results = import_dfe_files(wh, args.files, user=args.user)
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
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    env = dict(os.environ)
    if args.warehouse:
        env["RP_IMPACT_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    streamlit = shutil.which("streamlit") or str(Path(sys.executable).parent / "streamlit")
    command = [streamlit, "run", str(app), "--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    return subprocess.call(command, env=env)


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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="build the warehouse from a folder of extracts (the sample)")
    p.add_argument("folder", nargs="?", default=str(config.SAMPLE_DIR))
    p.add_argument("--fresh", action="store_true", help="delete the warehouse first")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("validate", help="dry run: check files against their contract")
    p.add_argument("files", nargs="+")
    p.add_argument("--dataset", help="force the dataset instead of detecting it from the header")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ingest", help="validate and load files (each atomically)")
    p.add_argument("files", nargs="+")
    p.add_argument("--dataset")
    p.add_argument("--user", default=config.current_user())
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

    p = sub.add_parser("serve", help="start the dashboard")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; every file is loaded whole or not at all.", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    raise SystemExit(main())
