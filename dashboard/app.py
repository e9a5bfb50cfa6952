"""rp-impact dashboard: the entry point and router (`streamlit run dashboard/app.py`).

It opens the warehouse named by `RP_IMPACT_WAREHOUSE` (see `pipelines.config`), draws the
global filters in the sidebar (kept in the URL so a view can be shared), and routes to the
pages with `st.navigation`:

- Board: Board summary, Annual report
- Explore: Trends, Cohorts, Training, Benchmarks
- Data: Upload, Data quality & methods

Sign-in and roles come from `dashboard.auth` (OIDC, local accounts, or an explicit demo mode
for the synthetic sample). Only the pages the user's role may open run; every other page's
address is registered, hidden from the menu, as a page that says "You do not have access to
the Upload page; ask an analyst or administrator.", so a typed or shared link is answered
rather than silently sent to the Board. The pipeline functions check the role again
(`ingest_file(role=...)`). Before sign-in every page's address shows the sign-in form, so a
deep link (`/trends?unit=...`) keeps its page and query parameters through sign-in.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import auth, data, state  # noqa: E402
from dashboard.state import Filters, PageSpec, period_label  # noqa: E402
from dashboard.views.common import select_area  # noqa: E402
from pipelines.measures import GRAIN_LABELS, GRAINS, MEASURES  # noqa: E402

HERE = Path(__file__).resolve().parent


@st.cache_resource(show_spinner=False)
def _warm_up(path: str) -> threading.Thread | None:
    """Once per process and warehouse: compute the default area's Board reads in the
    background (`data.warm`), so that they are ready, or under way, when the Board asks.

    It starts on the process's first run of this script, before sign-in, so a viewer signing
    in or a page drawing its verdicts does not wait for the slow reads behind the tiles and
    findings. Not under AppTest (`global.appTest`: each test has its own warehouse) or with
    `RP_IMPACT_WARM=0`.
    """
    if not data.warming_wanted():
        return None
    thread = threading.Thread(target=data.warm, name=f"rp-impact-warm-up:{path}", daemon=True)
    thread.start()
    return thread


def _refusal_page(spec: PageSpec):
    """A page outside the role: registered under its own address, hidden from the menu, and
    saying so, so that a typed or shared link is answered instead of landing on the Board."""

    def refuse() -> None:
        st.error(auth.page_refusal(spec.title, spec.key), icon=":material/lock:")

    refuse.__name__ = f"no_access_{spec.key}"
    return st.Page(refuse, title=spec.title, url_path=spec.key, visibility="hidden")


def _navigation(identity) -> tuple[object, PageSpec | None]:
    """Route to the requested page: the role's own pages in the menu, and every other page as
    a refusal. Returns the page and its spec (None for a refusal)."""
    sections: dict[str, list] = {}
    routes = []
    allowed = [spec for spec in state.PAGES if auth.can_open(identity, spec.key)]
    for spec in state.PAGES:
        if spec in allowed:
            page = st.Page(
                str(HERE / spec.file),
                title=spec.title,
                icon=spec.icon,
                url_path=spec.key,
                default=spec is allowed[0],
            )
            sections.setdefault(spec.section, []).append(page)
        else:
            # filed under the first visible section: a section of hidden pages only would
            # still draw its heading in the menu
            page = _refusal_page(spec)
            sections.setdefault(allowed[0].section, []).append(page)
            spec = None
        routes.append((page, spec))
    chosen = st.navigation(sections)
    return chosen, next(spec for page, spec in routes if page is chosen)


def _signed_out_navigation() -> None:
    """Before sign-in, every page's address answers with the sign-in form drawn above, so the
    link's page and query parameters are still in place when sign-in reruns the app."""

    def waiting_for_sign_in() -> None:
        return None

    pages = [
        st.Page(
            waiting_for_sign_in,
            title=spec.title,
            url_path=spec.key,
            default=number == 0,
        )
        for number, spec in enumerate(state.PAGES)
    ]
    st.navigation(pages, position="hidden").run()


def _no_warehouse_page() -> None:
    st.title("rp-impact")
    st.header("No warehouse yet")
    st.info(
        f"There is no data warehouse at `{data.warehouse_path()}`, so there is nothing to show "
        "yet.\n\n**What to do:** run `make run` in the project folder (it builds the warehouse "
        "from the synthetic sample and starts the dashboard), or `rp-impact build` to load the "
        "sample, or `rp-impact ingest FILE...` to load your own extracts. Set "
        "`RP_IMPACT_WAREHOUSE` if your warehouse lives somewhere else. You can also start by "
        "uploading your extracts on the **Upload** page (areas and population first)."
    )


# -- sidebar filters ---------------------------------------------------------------------------

_STORE = "_rp_filters"  # plain (non-widget) key: survives pages that hide the filters
_AT_LATEST = "_rp_range_at_latest"


def _periods(area: str, measure: str, unit: str, grain: str) -> list:
    frame = data.outcome_series(area, measure, unit=unit, grain=grain)
    return [d.date() for d in frame["period_end"]]


def _units(area: str) -> list[str]:
    return data.units(area)["unit"].tolist()


def _filters(areas, show: bool) -> tuple[Filters, list[str]]:
    codes = areas["area_code"].tolist()
    names = dict(zip(areas["area_code"], areas["area_name"], strict=False))
    notices: list[str] = []
    stored: Filters | None = st.session_state.get(_STORE)
    if stored is None:  # first run of this session: read the link
        stored, notices = state.resolve_filters(
            dict(st.query_params.to_dict()), areas=codes, units=_units, periods=_periods
        )
    if not show:
        return stored, notices

    bar = st.sidebar
    bar.header("Filters")
    area = stored.area if stored.area in codes else codes[0]
    area = select_area(
        bar, codes, names, area, help="The council (local authority) whose data you are looking at."
    )
    unit_options = _units(area)
    unit = stored.unit if stored.unit in unit_options else unit_options[0]
    unit = bar.selectbox(
        "Unit or locality",
        unit_options,
        index=unit_options.index(unit),
        format_func=lambda u: "Whole area (all units)" if u == state.UNIT_ALL else u,
    )
    measure_names = list(MEASURES)
    measure = bar.selectbox(
        "Measure",
        measure_names,
        index=measure_names.index(stored.measure),
        format_func=lambda m: MEASURES[m].label,
    )
    grain = bar.radio(
        "Time grain",
        list(GRAINS),
        index=list(GRAINS).index(stored.grain),
        format_func=GRAIN_LABELS.get,
        horizontal=True,
        help="Financial years run from April to March.",
    )
    periods = _periods(area, measure, unit, grain)
    filters = Filters(area, unit, measure, grain)
    start, end = stored.start, stored.end
    if periods and st.session_state.get(_AT_LATEST, True):
        end = periods[-1]  # a range that ended at the latest period follows new uploads
    filters, _ = state.clamp_period(filters, periods, start, end, [])
    if len(periods) >= 2:
        start, end = bar.select_slider(
            "Period range",
            options=periods,
            value=(filters.start, filters.end),
            format_func=lambda d: period_label(d, grain),
            help="The periods shown on charts and in tables. The statistics always use every "
            "period, so zooming in does not change the estimates.",
        )
        filters = Filters(area, unit, measure, grain, start, end)
    st.session_state[_AT_LATEST] = bool(periods) and filters.end == periods[-1]
    bar.caption("The filters are part of the page address: copy the link to share this view.")
    return filters, notices


def _sync_query_params(filters: Filters) -> None:
    wanted = filters.to_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def main() -> None:
    st.set_page_config(
        page_title="rp-impact: Restorative Practice impact",
        page_icon=":material/insights:",
        layout="wide",
        menu_items={"About": "rp-impact: open-source impact analytics for Restorative Practice."},
    )
    warehouse = data.warehouse() if data.warehouse_exists() else None
    if warehouse is not None:
        _warm_up(str(data.warehouse_path()))
    identity = auth.sign_in(warehouse)
    if identity is None:
        _signed_out_navigation()
        return
    auth.sidebar(identity, warehouse)
    if warehouse is None:
        state.set_context(None)
        getting_started = st.Page(
            _no_warehouse_page, title="Get started", icon=":material/info:", default=True
        )
        pages = {"Start": [getting_started]}
        upload = next(spec for spec in state.PAGES if spec.key == "upload")
        if auth.can_open(identity, upload.key):
            pages["Data"] = [st.Page(str(HERE / upload.file), title="Upload", url_path="upload")]
        else:
            pages["Start"].append(_refusal_page(upload))  # hidden: no empty "Data" heading
        st.navigation(pages).run()
        return

    page, spec = _navigation(identity)
    if spec is None:
        state.set_context(None)
        page.run()
        return
    wh = data.warehouse()
    areas = data.areas()
    if areas.empty:
        state.set_context(None)
        page.run()
        return
    filters, notices = _filters(areas, show=spec.uses_filters)
    st.session_state[_STORE] = filters
    _sync_query_params(filters)
    measure = MEASURES[filters.measure]
    state.set_context(
        state.Context(
            path=str(data.warehouse_path()),
            version=wh.data_version(),
            filters=filters,
            area_name=data.area_name(filters.area),
            unit_label="the whole area" if filters.unit == state.UNIT_ALL else filters.unit,
            measure_label=measure.label,
            rollout_date=data.unit_rollout_date(filters.area, filters.unit),
            last_upload=data.last_upload_time(),
            periods=_periods(filters.area, filters.measure, filters.unit, filters.grain),
            notices=notices,
        )
    )
    for notice in notices:
        st.warning(notice, icon=":material/link_off:")
    page.run()


main()
