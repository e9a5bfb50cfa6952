"""The command line: accounts, roles, backups, restore, and a clear message when busy."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.cli import main
from tests.conftest import AREAS_CSV, POPULATION_CSV

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
Q1 = HEADER + "2023-04-30,E06999901,All,All,12,7\n"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_USERS", str(tmp_path / "users.toml"))
    monkeypatch.delenv("RP_IMPACT_ROLE", raising=False)
    warehouse = tmp_path / "wh.duckdb"
    for name, text in (("areas.csv", AREAS_CSV), ("population.csv", POPULATION_CSV)):
        (tmp_path / name).write_text(text)
        assert main(["--warehouse", str(warehouse), "ingest", str(tmp_path / name)]) == 0
    return warehouse


def run_cli(*args, env=None, input=None, timeout=60):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=REPO,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_users_add_list_remove(cli_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a very long password\n"))
    assert main(["users", "add", "ana", "--role", "analyst", "--password-stdin"]) == 0
    assert main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert "ana\tanalyst" in out and "a very long password" not in out
    assert "a very long password" not in (tmp_path / "users.toml").read_text()
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("short\n"))
    assert main(["users", "add", "bob", "--role", "viewer", "--password-stdin"]) == 1
    assert "at least" in capsys.readouterr().err
    assert main(["users", "remove", "ana"]) == 0
    assert main(["users", "remove", "ana"]) == 1


def test_a_viewer_cannot_ingest(cli_env, tmp_path, capsys):
    path = tmp_path / "q1.csv"
    path.write_text(Q1)
    assert main(["--warehouse", str(cli_env), "--role", "viewer", "ingest", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Permission denied" in err and "Traceback" not in err
    assert main(["--warehouse", str(cli_env), "ingest", str(path), "--allow-column", "x"]) == 1
    assert "admin" in capsys.readouterr().err


def test_backups_restore_and_delete(cli_env, tmp_path, capsys):
    wh = ["--warehouse", str(cli_env)]
    path = tmp_path / "q1.csv"
    path.write_text(Q1)
    assert main([*wh, "ingest", str(path)]) == 0
    assert main([*wh, "backups"]) == 0
    assert "before-upload" in capsys.readouterr().out
    # Upload 3 is the quarter: restoring "before 3" needs admin and a confirmation.
    assert main([*wh, "restore", "3", "--yes"]) == 1
    assert "Permission denied" in capsys.readouterr().err
    assert main([*wh, "--role", "admin", "restore", "3"]) == 2
    assert "Would restore" in capsys.readouterr().out
    assert main([*wh, "--role", "admin", "restore", "3", "--yes"]) == 0
    con = duckdb.connect(str(cli_env), read_only=True)
    assert con.execute("SELECT count(*) FROM fct_outcomes").fetchone()[0] == 0
    con.close()
    assert main([*wh, "ingest", str(path)]) == 0
    assert main([*wh, "delete-upload", "3", "--yes"]) == 1
    assert main([*wh, "--role", "admin", "delete-upload", "3", "--yes"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert main([*wh, "--role", "admin", "backup"]) == 0


def _hold_warehouse(warehouse, then: str, **pipes) -> subprocess.Popen:
    """Another process that opens the warehouse, says 'held' once it has it, then runs ``then``
    (Python source); ``pipes`` are more `subprocess.Popen` pipes, such as ``stdin``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            + then,
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
        **pipes,
    )


def _ingest_while_held(cli_env, tmp_path, then: str, busy_wait: str):
    """Ingest Q1 while another process holds the warehouse (and runs ``then`` once it has it)."""
    path = tmp_path / "q1.csv"
    path.write_text(Q1)
    holder = _hold_warehouse(cli_env, then)
    try:
        assert holder.stdout.readline().strip() == "held"
        return run_cli(
            "--warehouse",
            str(cli_env),
            "ingest",
            str(path),
            env={"RP_IMPACT_BUSY_WAIT": busy_wait},
        )
    finally:
        holder.kill()
        holder.wait()


def test_a_busy_warehouse_gives_a_clear_message_not_a_traceback(cli_env, tmp_path):
    result = _ingest_while_held(cli_env, tmp_path, " time.sleep(30)", "2")
    assert result.returncode == 1
    assert "another upload is in progress" in result.stderr and "retrying" in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "error: Another process has the warehouse" in result.stderr


def test_a_busy_warehouse_is_retried_until_free(cli_env, tmp_path):
    # The holder lets go only once the ingest has said it is waiting, so the test does not
    # depend on how fast a loaded machine starts the ingest's interpreter.
    path = tmp_path / "q1.csv"
    path.write_text(Q1)
    holder = _hold_warehouse(
        cli_env, " sys.stdin.readline(); c.close(); time.sleep(30)", stdin=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        ingest = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.cli",
                "--warehouse",
                str(cli_env),
                "ingest",
                str(path),
            ],
            cwd=REPO,
            env={**os.environ, "RP_IMPACT_BUSY_WAIT": "60"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        waited = ""
        while "another upload is in progress" not in waited:
            line = ingest.stderr.readline()
            assert line, f"the ingest ended without saying it waited: {waited}"
            waited += line
        holder.stdin.write("release\n")
        holder.stdin.flush()
        out, err = ingest.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert ingest.returncode == 0, err
    assert "added" in out and "Traceback" not in waited + err


def test_report_command_writes_html_and_rejects_other_suffixes(sample_copy, tmp_path, capsys):
    from pipelines.cli import main

    out = tmp_path / "board.html"
    args = ["--warehouse", str(sample_copy), "report", "--year", "2026", "--area", "E06999901"]
    assert main([*args, "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main([*args, "--out", str(tmp_path / "board.docx")]) == 2
    assert main([*args[:-1], "E00000000", "--out", str(out)]) == 1
    assert "error:" in capsys.readouterr().err


def test_export_command_writes_partitioned_parquet(sample_copy, tmp_path, capsys):
    from pipelines.cli import main

    target = tmp_path / "parquet"
    assert main(["--warehouse", str(sample_copy), "export", "--parquet", str(target)]) == 0
    assert any(target.glob("mart_outcome_rates/area=E06999901/year=*/*.parquet"))
    assert main(["--warehouse", str(sample_copy), "export", "--parquet", str(target)]) == 1


def test_plan_shows_the_plan_and_records_it_once(cli_env, tmp_path, capsys, monkeypatch):
    path = tmp_path / "q1.csv"
    path.write_text(Q1)
    wh = ["--warehouse", str(cli_env)]
    assert main([*wh, "ingest", str(path)]) == 0  # a committed outcomes upload records the plan
    capsys.readouterr()
    assert main([*wh, "plan", "--area", "E06999901"]) == 0
    shown = capsys.readouterr().out
    assert "Analysis plan fixed on" in shown
    assert (
        "primary outcomes are children starting to be looked after and child protection plans "
        "started" in shown
    )
    assert "not yet recorded" not in shown and "differs" not in shown
    assert main([*wh, "plan", "--record"]) == 0
    assert "Recorded 0 new or changed plan(s)" in capsys.readouterr().out
    changed = tmp_path / "plan.toml"
    changed.write_text('[default]\nfixed_on = 2026-10-01\nprimary = ["cla_starts"]\n')
    monkeypatch.setenv("RP_IMPACT_ANALYSIS_PLAN", str(changed))
    assert main([*wh, "plan", "--area", "E06999901"]) == 0
    assert "now differs from the plan last recorded" in capsys.readouterr().out
    assert main([*wh, "plan", "--record", "--user", "ana"]) == 0
    recorded = capsys.readouterr().out
    assert "Recorded 1 new or changed plan(s) for 1 area(s)." in recorded
    assert "by ana" in recorded and "primary from" in recorded
