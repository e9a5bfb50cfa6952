"""Upload: templates, validation report, preview of changes, commit, upload history."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state
from dashboard.views.common import empty_state, headed_table, header, safe_table
from dashboard.views.upload_returns import demo_notice, render_returns_tab
from pipelines.contracts import CONTRACTS, LOAD_ORDER, template_csv
from pipelines.load.dfe import recognised_tables_text
from pipelines.load.ingest import not_ready_message
from pipelines.present.data_tables import upload_history_table, validation_report_table

STATUS = {
    "valid": (":material/check_circle:", "Ready to load"),
    "no-op": (
        ":material/sync:",
        "Already loaded: identical to an earlier upload, nothing would change",
    ),
    "refused": (":material/cancel:", "Refused: fix the errors below and upload it again"),
    "loaded": (":material/check_circle:", "Loaded"),
}

#: The validation report's columns: the long texts wide, the short ones narrow, so "How to
#: fix" is not cut off at 1366 px (the full text is also in each cell's tooltip).
ISSUE_COLUMNS = {
    "severity": st.column_config.TextColumn("Severity", width=64),
    "row": st.column_config.NumberColumn("Row", width=40),
    "column": st.column_config.TextColumn("Column", width=96),
    "value": st.column_config.TextColumn("Value", width=46),
    "unit": st.column_config.TextColumn("Unit", width=72),
    "age_band": st.column_config.TextColumn("Age band", width=64),
    "period": st.column_config.TextColumn("Period", width=170),
    "problem": st.column_config.TextColumn("Problem", width=190),
    "how to fix": st.column_config.TextColumn("How to fix", width=156),
}
#: The upload history: widths in pixels that add up to the 900 px the main column has at
#: 1366 px, so every column (to "Revised" and beyond) shows without scrolling.
#: The history's columns at widths that fit the page at 1366 px without scrolling sideways. The
#: upload's number and where it came from (the sample, a DfE import) are hidden here; they
#: are in `rp-impact uploads` with the fingerprint.
HISTORY_COLUMNS = {
    "upload_id": None,
    "source": None,
    "uploaded_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm", width=122),
    "file_name": st.column_config.TextColumn("File", width=176),
    "dataset": st.column_config.TextColumn("Dataset", width=160),
    "outcome": st.column_config.TextColumn("Result", width=66),
    **{
        name: st.column_config.NumberColumn(label, format="localized", width=width)
        for name, label, width in (
            ("n_rows", "Rows", 52),
            ("n_added", "Added", 56),
            ("n_revised", "Revised", 62),
            ("n_warnings", "Warnings", 70),
            ("n_errors", "Errors", 52),
        )
    },
    "user_name": st.column_config.TextColumn("By", width=84),
}

header(
    "Upload extracts",
    None,
    "Load a quarter's extracts into the warehouse. Each file is **checked first** against its "
    "data contract; nothing is written until you press **Commit**. A file is loaded whole or "
    "not at all. Re-uploading a period revises it and keeps the old figures in the history.",
)

extracts_tab, returns_tab, dfe_tab = st.tabs(
    ["Extracts", "Statutory returns (SSDA903, CIN census)", "DfE published statistics"]
)

with extracts_tab:
    # -- 1. templates ------------------------------------------------------------------------------
    st.header("1. Start from a template")
    st.markdown(
        "Each template has the columns the contract expects and one example row. Load reference "
        "data first: " + ", ".join(f"**{d}**" for d in LOAD_ORDER) + "."
    )
    columns = st.columns(len(LOAD_ORDER))
    for column, dataset in zip(columns, LOAD_ORDER, strict=True):
        column.download_button(
            f"{dataset}.csv",
            template_csv(dataset),
            file_name=f"{dataset}_template.csv",
            mime="text/csv",
            key=f"template-{dataset}",
            icon=":material/download:",
            help=CONTRACTS[dataset].description,
            width="stretch",
        )
    st.caption("The full rules for each dataset are on the **Data quality & methods** page.")

    # -- 2. choose and check files -----------------------------------------------------------------
    st.header("2. Choose files and check them")
    generation = st.session_state.setdefault("upload_generation", 0)
    files = st.file_uploader(
        "CSV or Excel (XLSX) extracts: one or more files",
        type=["csv", "xlsx"],
        accept_multiple_files=True,
        key=f"upload-files-{generation}",
        help="Outcomes, training, rollout, population or areas. The dataset is recognised from "
        "the column headings.",
    )

    last = st.session_state.get("upload_last_commit")
    if last:
        st.success("**Committed.** " + " ".join(last["summaries"]), icon=":material/check_circle:")
        for problem in last.get("problems", []):
            st.error(problem)

    checks = []
    if files:
        wh = data.warehouse(create=True)
        for upload in files:
            content = upload.getvalue()
            with st.spinner(f"Checking {upload.name}…"):
                check = data.check_upload(wh, upload.name, content)
            checks.append((check, content))
            result = check.result
            symbol, status = STATUS.get(result.outcome, ("•", result.outcome))
            with st.container(border=True):
                st.markdown(f"#### {symbol} {upload.name}")
                st.markdown(f"**{status}.** {result.summary()}")
                for note in result.notes:
                    st.caption(note)
                if result.outcome == "valid":
                    a, b, c = st.columns(3)
                    a.metric("Rows to add", f"{result.n_added:,}")
                    b.metric("Rows to revise", f"{result.n_revised:,}")
                    c.metric("Rows unchanged", f"{result.n_unchanged:,}")
                if not check.issues.empty:
                    n_err, n_warn = len(result.errors), len(result.warnings)
                    st.markdown(
                        f"**Validation report:** {n_err} error(s) (the file cannot be loaded until "
                        f"they are fixed) and {n_warn} warning(s) (the file can be loaded; check "
                        "them). Rows are numbered as in Excel, with the header as row 1."
                    )
                    safe_table(
                        validation_report_table(check.issues),
                        hide_index=True,
                        width="stretch",
                        key=f"issues-{generation}-{upload.name}",
                        column_config=ISSUE_COLUMNS,
                    )
                if check.preview is not None and not check.preview.empty:
                    with st.expander(
                        f"Preview: the {len(check.preview):,} row(s) that would be added or revised"
                    ):
                        # The analyst's own rows, kept as they are so they can be checked
                        # before loading; escaped, so the toolbar's CSV runs no formula.
                        safe_table(check.preview, hide_index=True, width="stretch")
    else:
        st.caption("No files chosen yet.")

    # -- 3. commit ---------------------------------------------------------------------------------
    st.header("3. Commit")
    ready = [(c, content) for c, content in checks if c.result.outcome == "valid"]
    if files and not ready:
        # An identical re-upload is "already loaded", not an error to fix.
        st.warning(not_ready_message([c.result for c, _ in checks]))
    commit = st.button(
        f"Commit {len(ready)} file(s) to the warehouse" if ready else "Commit",
        type="primary",
        disabled=not ready,
        key="commit",
        icon=":material/save:",
    )
    if commit and ready:
        wh = data.warehouse(create=True)
        progress = st.progress(0.0, text="Loading…")
        summaries, problems = [], []
        for number, (check, content) in enumerate(ready, start=1):
            progress.progress((number - 1) / len(ready), text=f"Loading {check.name}…")
            try:
                result = data.commit_upload(wh, check.name, content)
            except data.WarehouseError as exc:
                problems.append(f"{check.name}: {exc.viewer_message}")
                continue
            summaries.append(result.summary())
            if result.refused:
                problems.append(result.summary())
        progress.progress(1.0, text="Done")
        data.data_changed(state.viewed_area())
        st.session_state["upload_last_commit"] = {"summaries": summaries, "problems": problems}
        st.session_state["upload_generation"] = generation + 1  # empty the file chooser
        st.rerun()

with returns_tab:
    render_returns_tab()

with dfe_tab:
    # -- DfE published statistics ------------------------------------------------------------------
    st.header("DfE published statistics (for benchmarking)")
    st.markdown(
        "The **Benchmarks** page compares councils on DfE's published local-authority tables "
        "(from explore-education-statistics), with the ONS population estimates and DfE's "
        "statistical-neighbour file. Import the CSVs as you downloaded them: each file's table is "
        "recognised from its columns, suppressed cells are kept as suppressed, and every release is "
        "kept side by side. This is the same as `rp-impact import-dfe FILE...`."
    )
    with st.expander("Which DfE files are recognised"):
        st.text(recognised_tables_text())
    dfe_demo = demo_notice(
        "the sample already includes synthetic DfE-format files, and importing other DfE files "
        "is switched off so a demo warehouse holds only the sample.",
        "`rp-impact import-dfe FILE...`",
    )
    dfe_generation = st.session_state.setdefault("dfe_generation", 0)
    dfe_files = st.file_uploader(
        "DfE CSV files: one or more",
        type=["csv"],
        accept_multiple_files=True,
        key=f"dfe-files-{dfe_generation}",
        disabled=dfe_demo,
        help="Keep the file names DfE gives them: the statistical-neighbour model year is read from "
        "the name (for example sn_model_2025_wide.csv).",
    )
    dfe_last = st.session_state.get("dfe_last_import")
    if dfe_last:
        for outcome, summary in dfe_last:
            if outcome == "refused":
                st.error(summary, icon=":material/cancel:")
            else:
                st.success(summary, icon=":material/check_circle:")
    if st.button(
        f"Import {len(dfe_files)} DfE file(s)" if dfe_files else "Import DfE files",
        disabled=dfe_demo or not dfe_files,
        key="dfe-import",
        icon=":material/download_for_offline:",
    ):
        wh = data.warehouse(create=True)
        try:
            with st.spinner("Importing DfE files…"):
                results = data.import_dfe_uploads(wh, [(f.name, f.getvalue()) for f in dfe_files])
            outcome = [(r.outcome, r.summary()) for r in results]
        except data.WarehouseError as exc:
            outcome = [("refused", exc.viewer_message)]
        data.data_changed(state.viewed_area())
        st.session_state["dfe_last_import"] = outcome
        st.session_state["dfe_generation"] = dfe_generation + 1  # empty the file chooser
        st.rerun()

# -- 4. history --------------------------------------------------------------------------------
st.header("Upload history")
if not data.warehouse_exists():
    empty_state(
        "No uploads yet",
        "There is no warehouse yet, so nothing has been uploaded.",
        "Choose files above and commit them, or run `rp-impact build` to load the sample.",
    )
else:
    history = data.uploads()
    if history.empty:
        empty_state(
            "No uploads yet",
            "Nothing has been loaded into this warehouse.",
            "Choose files above and commit them.",
        )
    else:
        # Everything the audit log holds, less what is long or internal: the unchanged-row count
        # (in each upload's summary), the SHA-256 fingerprint and the message (`rp-impact uploads`).
        headed_table(upload_history_table(history), key="upload-history", **HISTORY_COLUMNS)
        st.caption(
            f"{len(history):,} upload(s), newest first. Each is recorded with the file's "
            "SHA-256 fingerprint (see `rp-impact uploads`)."
        )
