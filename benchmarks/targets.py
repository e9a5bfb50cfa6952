"""Issue 19's six targets ("Speed where users wait"): how each is measured, and the table.

`python -m benchmarks.run` prints this table at the end of every run and appends it to
docs/performance.md; `python -m benchmarks.run --targets-only` measures only these six rows.

| target | how it is measured here |
|---|---|
| ingest / floor ≤ 3× | the harness's own national ingest and floor medians (benchmarks/run.py) |
| `make run` ≤ 45 s | `git clone` of HEAD into a temporary folder, `make run PORT=<free>` there, from the command to `/_stcore/health` and then `/` answering 200 |
| first Board view ≤ 3 s | `rp-impact serve` on the sample warehouse; Chromium (Playwright) from health OK to the Board's first verdict on screen (`tests.browser_support.first_board_view`) |
| report brief ≤ 5 s, full ≤ 15 s | `pipelines.report.build_brief` / `build_report`, HTML then PDF, on the sample warehouse |
| `make test` ≤ 6 min | read from test-artifacts/suite_seconds.json, written by the last full run (tests/conftest.py) |
| 55 KB XLSX, 6M empty rows, ≤ 1 s, ≤ 200 MB | the real reader (`pipelines.load.readers.read_extract`) in a child process |

Everything but the ingest rows and the table's formatting runs in child processes
(`benchmarks.tasks`), so the functions below that build the table are pure and tested
(tests/test_bench_targets.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITE_FILE = REPO / "test-artifacts" / "suite_seconds.json"


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    target: str
    verdict: str  # "met", "**missed**", "not measured" or "**error**: ..."


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "**missed**"


def seconds_text(seconds: float) -> str:
    """12.3 s below two minutes, else "7 min 10 s"."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def render_targets(rows: list[Target], note: str = "") -> str:
    lines = [
        "#### Issue 19 targets",
        "",
        *([note, ""] if note else []),
        "| what | measured now | target | met? |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.what} | {r.measured} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def failed(what: str, target: str, error: BaseException | str) -> Target:
    text = " ".join(str(error).split())[:160].replace("|", "/")
    return Target(what, "not measured", target, f"**error**: {text}")


# -- the six rows ------------------------------------------------------------------------------

INGEST = "National outcomes ingest / DuckDB's bare read of the same file"
MAKE_RUN = "`make run` on a fresh machine, from the command to the first page served"
BOARD = "First Board view after a server start, in the browser"
BRIEF = "Board brief, HTML + PDF (sample warehouse)"
REPORT = "Full annual report, HTML + PDF (sample warehouse)"
SUITE = "`make test` on a fresh clone"
XLSX = "A 55 KB XLSX with six million empty rows"


def ingest_row(ingest_median: float, floor_median: float, runs: int) -> Target:
    ratio = ingest_median / floor_median
    return Target(
        INGEST,
        f"{ratio:.1f}× ({ingest_median:.2f} s / {floor_median:.2f} s, medians of {runs})",
        "≤ 3×, every rule kept",
        verdict(ratio <= 3),
    )


def make_run_row(result: dict) -> Target:
    cache = "warm" if result.get("uv_cache_warm") else "cold (empty)"
    installer = result.get("installer", "?")
    steps = ", ".join(f"{k} from {v:.0f} s" for k, v in result.get("steps", {}).items())
    measured = (
        f"{seconds_text(result['seconds'])} (clone of HEAD; installed with {installer}, "
        f"uv download cache {cache}{'; ' + steps if steps else ''})"
    )
    return Target(MAKE_RUN, measured, "≤ 45 s", verdict(result["seconds"] <= 45))


def board_row(result: dict) -> Target:
    seconds = result["first_board_view_seconds"]
    measured = (
        f"{seconds:.1f} s from health OK to the first verdict (h1 {result['h1_seconds']:.1f} s; "
        f"`rp-impact serve` launch to health {result['server_launch_to_health_seconds']:.1f} s)"
    )
    return Target(BOARD, measured, "≤ 3 s", verdict(seconds <= 3))


def report_rows(result: dict) -> list[Target]:
    """`result`: {"brief": {"html": s, "pdf": s, "pages": n}, "report": {...}}."""
    out = []
    for key, what, limit in (("brief", BRIEF, 5), ("report", REPORT, 15)):
        r = result[key]
        if "error" in r:
            out.append(failed(what, f"≤ {limit} s", r["error"]))
            continue
        total = r["html"] + r["pdf"]
        measured = (
            f"{total:.1f} s (HTML {r['html']:.1f} s + PDF {r['pdf']:.1f} s, {r['pages']} pages)"
        )
        if "decide_seconds" in result:
            measured += (
                f"; the flows' disclosure decisions made first, as `rp-impact serve` makes them "
                f"at its start ({result['decide_seconds']:.1f} s)"
            )
        out.append(Target(what, measured, f"≤ {limit} s", verdict(total <= limit)))
    return out


def read_suite(path: Path = SUITE_FILE) -> dict | None:
    """The last full `make test`'s record, or None when absent or unreadable."""
    try:
        data = json.loads(path.read_text())
        float(data["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


def suite_row(data: dict | None) -> Target:
    if data is None:
        return Target(
            SUITE,
            "not measured (no test-artifacts/suite_seconds.json: a full `make test` writes it)",
            "≤ 6 min",
            verdict(None),
        )
    seconds = float(data["seconds"])
    measured = (
        f"{seconds_text(seconds)} of pytest, {data.get('tests', '?')} tests on "
        f"{data.get('workers', '?')} worker(s), from the last full `make test` at "
        f"{data.get('finished', '?')} (the install is not included)"
    )
    return Target(SUITE, measured, "≤ 6 min", verdict(seconds <= 360))


def xlsx_row(result: dict) -> Target:
    """Met when the read takes ≤ 1 s and adds ≤ 200 MB to the process (its peak less what the
    interpreter, DuckDB and the reader's imports held before it); the peak itself is shown."""
    seconds, mb = result["seconds"], result["max_rss_mb"]
    grown = mb - result.get("rss_before_mb", 0)
    measured = (
        f"{result['outcome']} in {seconds:.2f} s, adding {grown:.0f} MB (process peak "
        f"{mb:.0f} MB, of which "
        f"{result.get('rss_before_mb', 0):.0f} MB before the read (interpreter, DuckDB, the "
        f"reader's imports); {result['bytes'] / 1000:.0f} KB file, {result['rows_read']} "
        f"row(s) read). The reader's first use in a process also imports openpyxl: "
        f"{result.get('warmup_seconds', 0):.1f} s for a one-row workbook before it"
    )
    return Target(
        XLSX, measured, "refused or read in ≤ 1 s, ≤ 200 MB", verdict(seconds <= 1 and grown <= 200)
    )


# -- the XLSX ----------------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
XLSX_HEADER = ("period_end", "area_code", "unit", "age_band", "cla_starts", "cpp_starts")
XLSX_ROW = ("2023-04-30", "E06999901", "All", "All", 10, 6)


def _cell(ref: str, value) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _row(number: int, values) -> str:
    cells = "".join(_cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def write_empty_rows_xlsx(path: Path, empty_rows: int = 6_000_000) -> int:
    """An outcomes workbook written by hand (openpyxl would take minutes): a header row, one
    data row, then `empty_rows` empty `<row/>` elements, with the dimension claiming them all.
    The rows carry no `r` attribute, as in tests/test_xlsx.py: that is what deflates to about
    55 KB (numbered rows would not compress below megabytes). Returns the file's size."""
    last = 2 + empty_rows
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:F{last}"/><sheetData>' + _row(1, XLSX_HEADER) + _row(2, XLSX_ROW)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            chunk = b"<row/>" * 100_000
            for _ in range(empty_rows // 100_000):
                sheet.write(chunk)
            sheet.write(b"<row/>" * (empty_rows % 100_000))
            sheet.write(b"</sheetData></worksheet>")
    return path.stat().st_size


# -- `make run` on a fresh clone ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uv_cache_warm() -> bool:
    """Whether uv's download cache (UV_CACHE_DIR, else ~/.cache/uv) holds anything."""
    root = os.environ.get("UV_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "uv"
    )
    folder = Path(root)
    return folder.is_dir() and any(folder.iterdir())


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


#: `make run`'s progress lines and the step each starts (when it is first seen in the log).
MAKE_STEPS = (
    ("creating the virtualenv", "venv"),
    ("installing rp-impact", "install"),
    ("building the sample warehouse", "warehouse"),
    ("serving the dashboard", "serve"),
)


def fresh_make_run(timeout: float = 600, log=print) -> dict:
    """`git clone` of this repository's HEAD into a temporary folder, then `make run` there on a
    free port, timed from the command to `/_stcore/health` and then `/` answering 200. The
    clone has only committed work. The server's process group is stopped afterwards."""
    warm = uv_cache_warm()
    with tempfile.TemporaryDirectory(prefix="rp-fresh-") as folder:
        clone = Path(folder) / "rp-impact"
        subprocess.run(
            ["git", "clone", "--quiet", str(REPO), str(clone)], check=True, capture_output=True
        )
        port = free_port()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("RP_IMPACT_", "VIRTUAL_ENV"))
        }
        env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
        log_path = Path(folder) / "make-run.log"
        steps: dict[str, float] = {}
        with log_path.open("w") as out:
            started = time.monotonic()
            process = subprocess.Popen(
                ["make", "run", f"PORT={port}"],
                cwd=clone,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                while True:
                    elapsed = time.monotonic() - started
                    if elapsed > timeout:
                        raise TimeoutError(f"`make run` served nothing within {timeout:.0f} s")
                    if process.poll() is not None:
                        tail = log_path.read_text()[-600:]
                        raise RuntimeError(f"`make run` exited with {process.returncode}: {tail}")
                    for line in log_path.read_text().splitlines():
                        for words, label in MAKE_STEPS:
                            if line.startswith("rp-impact: " + words) and label not in steps:
                                steps[label] = elapsed
                    if _answers(f"{base}/_stcore/health"):
                        healthy = time.monotonic() - started
                        break
                    time.sleep(0.25)  # polling a socket
                while not _answers(f"{base}/"):
                    if time.monotonic() - started > timeout:
                        raise TimeoutError("the health check answered but the page did not")
                    time.sleep(0.1)
                served = time.monotonic() - started
            finally:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
        text = log_path.read_text()
    installer = "uv" if "installing with uv" in text else "pip"
    log(f"  make run on a fresh clone: health {healthy:.1f} s, page {served:.1f} s ({installer})")
    return {
        "seconds": served,
        "health": healthy,
        "installer": installer,
        "uv_cache_warm": warm,
        "steps": steps,
        "measured_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
