"""Upload page, "Statutory returns" tab: SSDA903 and CIN census files in, aggregates out.

Thin: `dashboard.returns_door` reads, checks, aggregates and commits; this module only lays
out the choosers, the validation report, the (suppressed) preview and the commit button.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, returns_door, state
from dashboard.views.common import safe_table

KINDS = {
    "ssda903": ("SSDA903 (children looked after): header and episodes CSVs", ["csv"]),
    "cin": ("CIN census (children in need, child protection plans): XML", ["xml"]),
}


def demo_notice(why: str, command: str) -> bool:
    """Whether this is a demo session; if so, say ``why`` importing is off and which ``command``
    does it on the user's own warehouse (the Upload page's tabs all say it alike)."""
    demo = returns_door.demo_mode()
    if demo:
        st.info(f"Demo mode: {why} Use {command} on your own warehouse.", icon=":material/science:")
    return demo


def render_returns_tab() -> None:
    """The statutory returns tab of the Upload page."""
    st.markdown(
        "Load the **SSDA903** or the **CIN census** you send to DfE. The counts are made with "
        "DfE's definitions, in memory; **only the monthly aggregates are kept**, never a child's "
        "record or identifier. Several years may be given at once: name each file with its "
        "year (e.g. `episodes_2023-24.csv`). See *docs/returns.md* for every definition."
    )
    generation = st.session_state.setdefault("returns_generation", 0)
    demo = demo_notice(
        "this server holds only the synthetic sample, so importing statutory returns is "
        "switched off.",
        "`rp-impact import-903` or `import-cin`",
    )
    collection = st.radio(
        "Which return?", list(KINDS), format_func=lambda k: KINDS[k][0], key="returns-kind"
    )
    area = st.text_input(
        "Area code (ONS, e.g. E06000021)",
        key="returns-area",
        help="The return does not name the council; the CIN census gives its LEA code.",
    )
    files = st.file_uploader(
        KINDS[collection][0],
        type=KINDS[collection][1],
        accept_multiple_files=True,
        key=f"returns-files-{collection}-{generation}",
        disabled=demo,
    )
    mapping = st.file_uploader(
        "Optional unit map (CSV): postcode_sector,unit or child,unit",
        type=["csv"],
        key=f"returns-map-{generation}",
        disabled=demo,
    )
    last = st.session_state.get("returns_last_commit")
    if last:
        st.success("**Committed.** " + last, icon=":material/check_circle:")
    if not files:
        st.caption("No returns chosen yet.")
        return
    try:
        with st.spinner("Reading and counting the returns…"):
            check = returns_door.check_returns(
                collection,
                [(f.name, f.getvalue()) for f in files],
                area_code=area.strip() or None,
                unit_map=(mapping.name, mapping.getvalue()) if mapping else None,
            )
    except returns_door.UnitMapError as exc:
        st.error(str(exc))
        return
    preview = check.preview
    (st.info if check.ok else st.error)(preview.summary())
    for note in preview.notes:
        st.caption(note)
    safe_table(
        pd.DataFrame(
            [
                {
                    "file": f.name,
                    "table": f.table,
                    "year ending March": f.year,
                    "SHA-256": f.sha256[:16] + "…",
                }
                for f in preview.files
            ]
        ),
        hide_index=True,
        key=f"returns-files-table-{generation}",
    )
    if not check.issues.empty:
        st.markdown("**Validation report** (rows as a spreadsheet numbers them):")
        safe_table(check.issues, hide_index=True, width="stretch", key="returns-issues")
    if not check.shown.empty:
        with st.expander(f"Preview: {len(check.shown):,} aggregate rows (small numbers as c)"):
            safe_table(check.shown, hide_index=True, width="stretch")
    if st.button(
        "Commit the aggregates",
        type="primary",
        disabled=not check.ok,
        key="returns-commit",
        icon=":material/save:",
    ):
        wh = data.warehouse(create=True)
        try:
            result = returns_door.commit_returns(wh, check)
        except returns_door.WarehouseError as exc:
            st.error(exc.viewer_message)
            return
        data.data_changed(state.viewed_area())
        st.session_state["returns_last_commit"] = result.summary()
        st.session_state["returns_generation"] = generation + 1
        st.rerun()
