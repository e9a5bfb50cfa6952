"""`rp-impact serve`: the dashboard's server, with the Board summary's reads made before it
accepts its first browser (issue 17: the first Board view after a start within 3 s).

`python dashboard/serve.py [streamlit run options]` imports what the Board summary's run needs
and computes the default area's Board reads (`dashboard.data.warm`) in this process, then
starts `streamlit run dashboard/app.py` in the same process. Streamlit's data caches belong to
the process, so the first page finds the reads already made instead of making them while a
board member waits; the server only listens (and `/_stcore/health` only answers) once they
are made. Then `rp-impact decide` starts at the lowest priority, keeping the default area's
flow disclosure decisions on disk for the Trends page and the report. `RP_IMPACT_WARM=0`
skips both. A fault or an empty warehouse warms nothing:
the page that asks shows it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import background  # noqa: E402 - after the path above, for `python serve.py`

#: Streamlit warns once per cached function made outside a running server; these are expected.
_QUIET = (
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.caching.cache_resource_api",
)


def warm_before_serving() -> float | None:
    """Import the Board summary's modules and make its reads; the seconds taken, or None when
    `RP_IMPACT_WARM=0`."""
    if os.environ.get("RP_IMPACT_WARM") == "0":
        return None
    started = time.monotonic()
    import streamlit.runtime.caching  # noqa: F401 - its loggers, made on import, to quiet

    loggers = [logging.getLogger(name) for name in _QUIET]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        # What the first run of the Board summary imports (the page scripts themselves run
        # under Streamlit, so only their modules are imported here).
        import dashboard.views.common  # noqa: F401
        import dashboard.views.verdict_block  # noqa: F401
        import pipelines.present.charts  # noqa: F401
        from dashboard import data

        data.warm()
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    return time.monotonic() - started


def decide_in_background() -> subprocess.Popen | None:
    """Start `rp-impact decide` at the lowest priority (`dashboard.background`), so the
    default area's flow decisions (a few seconds each) are kept on disk before a viewer opens
    a flow's Trends or the report, without slowing the pages served meanwhile. It reads the
    warehouse read-only for a moment and decides with it closed. None when warming is off or
    decisions are not kept (`RP_IMPACT_DECISIONS` empty)."""
    return background.decide_in_background()


def main(argv: list[str] | None = None) -> int:
    options = list(sys.argv[1:] if argv is None else argv)
    seconds = warm_before_serving()
    if seconds is not None:
        print(f"rp-impact: the Board's reads are made ({seconds:.1f} s).", flush=True)
    decide_in_background()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(HERE / "app.py"), *options]
    return streamlit_cli.main()  # click exits the process when the server stops


if __name__ == "__main__":
    sys.exit(main())
