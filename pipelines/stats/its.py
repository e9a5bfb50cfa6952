"""Interrupted time series: a segmented regression with a counterfactual.

Source: Lopez Bernal J, Cummins S, Gasparrini A. "Interrupted time series regression for
the evaluation of public health interventions: a tutorial". Int J Epidemiol 2017;46(1):348-355,
doi:10.1093/ije/dyw098, and the authors' R code (github.com/gasparrini/2017_lopezbernal_IJE_codedata).

The model is a Poisson (or quasi-Poisson) GLM on counts with a log(population) offset::

    log E[count] = log(pop) + b0 + b1*t + b2*post + b3*(t - t0)*post [+ harmonics]

where ``t`` is the period number (1, 2, ...), ``post`` is 1 from the intervention date on and
``t0`` is the last period before the intervention (as ``I(time-36):smokban`` in the authors'
code), so the level change ``exp(b2)`` is the step at the intervention and the slope change
``exp(b3)`` is the extra change per period after it. Seasonality uses ``k`` sine/cosine pairs of
the month (or quarter) as in ``tsModel::harmonic``. The Gaussian option models the rate per
10,000 (or the raw value when no population is given) by ordinary least squares.

The counterfactual sets ``post`` and the slope term to 0. Two bands go with it:

- the interval for the expected counterfactual (the *mean*): the delta method on the linear
  predictor, ``eta +/- z sqrt(x' V x)``, transformed back with ``exp`` for count models;
- the prediction interval: the range one period's count would fall in without the change.
  It adds the period's own variation to the mean's uncertainty. For a (quasi-)Poisson model,
  ``Var(y0 - mu0_hat) ~= phi mu0 + mu0^2 x0' V x0`` (Farrington, Andrews, Beale & Catchpole
  1996, "A statistical algorithm for the early detection of outbreaks of infectious disease",
  JRSS A 159:547-563, s. 3.3); divided by ``mu0^2`` it is the variance on the log (link)
  scale, so the interval is ``mu0 exp(+/- z sqrt(x0' V x0 + phi / mu0))``, which always
  contains the mean's interval and stays positive. ``phi`` is the Pearson dispersion for
  quasi-Poisson and 1 for Poisson. For the Gaussian model it is
  ``eta +/- t sqrt(x' V x + sigma^2)`` (the ordinary least-squares prediction interval).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson

# The one COVID-19 window; COVID_START and COVID_END stay importable from here.
from pipelines.stats.covid import COVID_END, COVID_START, covid_label
from pipelines.stats.errors import StatsInputError, check_confidence, require_columns

Family = Literal["poisson", "quasipoisson", "gaussian"]

METHOD_SOURCE = (
    "Lopez Bernal, Cummins & Gasparrini (2017), Int J Epidemiol 46:348-355, "
    "'Interrupted time series regression for the evaluation of public health interventions'"
)
RATE_MULTIPLIER = 10_000
MIN_POINTS_EACH_SIDE = 8
OVERDISPERSION_THRESHOLD = 1.5
#: exp() of anything above this overflows a float; sparse series can push the linear
#: predictor or its interval there, so every exponential in this module is clipped.
_EXP_LIMIT = 700.0


def _exp(x: Any) -> Any:
    """``exp`` clipped so that it cannot overflow (``math.exp`` raised on sparse series)."""
    clipped = np.clip(np.asarray(x, dtype=float), -_EXP_LIMIT, _EXP_LIMIT)
    out = np.exp(clipped)
    return float(out) if out.ndim == 0 else out


def mean_interval_label(confidence: float = 0.95) -> str:
    """Honest label of the band around the counterfactual line: it is about the mean."""
    return f"interval for the expected counterfactual ({confidence:.0%})"


def prediction_interval_label(confidence: float = 0.95) -> str:
    """Honest label of the wider band: where one period would fall without the change."""
    return (
        "range a single period would fall in without the change "
        f"({confidence:.0%} prediction interval)"
    )


def newey_west_lags(n: int) -> int:
    """Newey-West lag rule of thumb, floor(4 (n/100)^(2/9)) and at least 1.

    Source: Newey WK, West KD (1994), "Automatic lag selection in covariance matrix
    estimation", Rev Econ Stud 61:631-653 (the common default in econometrics software).
    """
    return max(1, int(math.floor(4 * (max(n, 1) / 100) ** (2 / 9))))


@dataclass(frozen=True)
class ITSEffect:
    """One model term, on the scale the board reads.

    ``scale`` is ``"rate ratio"`` for count models (estimate = exp(beta)) and ``"absolute"``
    for the Gaussian model (estimate = beta, in the outcome's units per period).
    """

    name: str
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float
    scale: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ITSResult:
    """Result of :func:`interrupted_time_series`.

    ``fitted`` has one row per analysed period: ``date, t, post, observed, fitted,
    counterfactual, counterfactual_lower, counterfactual_upper`` (the interval for the
    expected counterfactual), ``prediction_lower, prediction_upper`` (the prediction interval:
    where a single period would fall without the change; see the module docstring) in count
    units (or the modelled
    outcome for a Gaussian model without population), and the same on the rate-per-10,000
    scale (``*_rate`` columns) when a population is given.
    ``post_totals`` sums the post-intervention periods: observed, fitted and counterfactual
    totals with the counterfactual total's interval (delta method on the sum).
    """

    method: str
    n: int
    warnings: tuple[str, ...]
    family: str
    n_pre: int
    n_post: int
    intervention_date: pd.Timestamp
    confidence: float
    level_change: ITSEffect
    slope_change: ITSEffect | None
    pre_trend: ITSEffect
    dispersion: float
    ljung_box_lag: int
    ljung_box_p: float
    durbin_watson: float
    hac_lags: int | None
    seasonality_harmonics: int
    coefficients: pd.DataFrame
    fitted: pd.DataFrame
    post_totals: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        fitted = self.fitted.copy()
        fitted["date"] = fitted["date"].dt.strftime("%Y-%m-%d")
        return {
            "method": self.method,
            "n": self.n,
            "warnings": list(self.warnings),
            "family": self.family,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "intervention_date": self.intervention_date.strftime("%Y-%m-%d"),
            "confidence": self.confidence,
            "level_change": self.level_change.to_dict(),
            "slope_change": None if self.slope_change is None else self.slope_change.to_dict(),
            "pre_trend": self.pre_trend.to_dict(),
            "dispersion": self.dispersion,
            "ljung_box_lag": self.ljung_box_lag,
            "ljung_box_p": self.ljung_box_p,
            "durbin_watson": self.durbin_watson,
            "hac_lags": self.hac_lags,
            "seasonality_harmonics": self.seasonality_harmonics,
            "coefficients": self.coefficients.reset_index().to_dict(orient="records"),
            "fitted": fitted.to_dict(orient="records"),
            "post_totals": dict(self.post_totals),
        }


def harmonic_terms(season_position: np.ndarray, harmonics: int, season_length: int) -> np.ndarray:
    """Sine/cosine pairs as ``tsModel::harmonic(x, nfreq, period)``: columns sin_1..k, cos_1..k."""
    k = np.arange(1, harmonics + 1) * 2 * np.pi / season_length
    m = np.outer(np.asarray(season_position, dtype=float), k)
    return np.column_stack([np.sin(m), np.cos(m)])


def _season_position(dates: pd.Series, t: np.ndarray, season_length: int) -> np.ndarray:
    if season_length == 12:
        return dates.dt.month.to_numpy()
    if season_length == 4:
        return dates.dt.quarter.to_numpy()
    return ((t - 1) % season_length) + 1


def interrupted_time_series(
    df: pd.DataFrame,
    date_col: str,
    count_col: str,
    population_col: str | None = None,
    *,
    intervention_date: Any,
    family: Family = "poisson",
    seasonality_harmonics: int = 0,
    season_length: int = 12,
    slope_change: bool = True,
    hac_lags: int | None = None,
    confidence: float = 0.95,
) -> ITSResult:
    """Segmented regression ITS (Lopez Bernal, Cummins & Gasparrini 2017).

    Parameters
    ----------
    df : one row per period (month or quarter), in any order.
    date_col : period date (e.g. ``period_end``); rows are sorted by it and numbered 1..n.
    count_col : the count (e.g. children looked after) or, for ``gaussian`` without population,
        the value to model. Missing (suppressed) values are dropped with a warning; the period
        numbering keeps the gap.
    population_col : population at risk; used as a log offset for count models and to form
        the rate per 10,000 for ``gaussian``.
    intervention_date : first date in the post period (periods on or after it are ``post``).
    family : ``"poisson"``, ``"quasipoisson"`` (Pearson chi2/df dispersion, as R's
        ``quasipoisson``) or ``"gaussian"``.
    seasonality_harmonics : number of sine/cosine pairs (0 = none).
    season_length : 12 for months, 4 for quarters.
    slope_change : include the ``(t - t0)*post`` term.
    hac_lags : if set, Newey-West (HAC) standard errors with this many lags.
    confidence : level of every interval.
    """
    if family not in ("poisson", "quasipoisson", "gaussian"):
        raise StatsInputError(
            f"Unknown model family '{family}'. Choose 'poisson', 'quasipoisson' or 'gaussian'."
        )
    check_confidence(confidence)
    if seasonality_harmonics < 0 or season_length < 2:
        raise StatsInputError(
            "Seasonality needs a whole number of harmonics (0 or more) and a season length "
            "of at least 2 (12 for months, 4 for quarters)."
        )
    if seasonality_harmonics * 2 >= season_length:
        raise StatsInputError(
            f"{seasonality_harmonics} harmonic pairs is too many for a season of "
            f"{season_length} periods; use at most {(season_length - 1) // 2}."
        )
    if hac_lags is not None and hac_lags < 0:
        raise StatsInputError("The number of Newey-West lags must be 0 or more.")
    needed = [date_col, count_col] + ([population_col] if population_col else [])
    require_columns(df, needed)
    try:
        t_int = pd.Timestamp(intervention_date)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(
            f"The intervention date '{intervention_date}' is not a date. Give it as YYYY-MM-DD."
        ) from exc

    data = df[needed].copy()
    try:
        data[date_col] = pd.to_datetime(data[date_col])
    except (TypeError, ValueError) as exc:
        raise StatsInputError(
            f"Column '{date_col}' holds values that are not dates. Use YYYY-MM-DD."
        ) from exc
    if data[date_col].isna().any():
        raise StatsInputError(f"Column '{date_col}' has empty dates. Every period needs a date.")
    if data[date_col].duplicated().any():
        raise StatsInputError(
            f"Column '{date_col}' repeats a date. ITS needs one row per period: "
            "aggregate the series first."
        )
    data = data.sort_values(date_col).reset_index(drop=True)
    data["t"] = np.arange(1, len(data) + 1, dtype=float)

    warnings: list[str] = []
    value_cols = [count_col] + ([population_col] if population_col else [])
    for c in value_cols:
        data[c] = pd.to_numeric(data[c], errors="coerce")
    dropped = data[value_cols].isna().any(axis=1)
    if dropped.any():
        dates = ", ".join(data.loc[dropped, date_col].dt.strftime("%Y-%m-%d").tolist()[:6])
        more = "" if dropped.sum() <= 6 else " and others"
        warnings.append(
            f"{int(dropped.sum())} period(s) with missing or suppressed values were left out "
            f"({dates}{more}). The trend is fitted through the gap."
        )
        data = data.loc[~dropped].reset_index(drop=True)
    if data.empty:
        raise StatsInputError("No periods have a value to analyse. Check the data for this series.")

    data["post"] = (data[date_col] >= t_int).astype(float)
    n_pre = int((data["post"] == 0).sum())
    n_post = int((data["post"] == 1).sum())
    if n_pre == 0 or n_post == 0:
        side = "before" if n_pre == 0 else "on or after"
        raise StatsInputError(
            f"No periods fall {side} the intervention date {t_int:%Y-%m-%d} "
            f"(data run {data[date_col].min():%Y-%m-%d} to {data[date_col].max():%Y-%m-%d}). "
            "Choose an intervention date inside the series."
        )

    y = data[count_col].to_numpy(dtype=float)
    pop = data[population_col].to_numpy(dtype=float) if population_col else None
    is_count = family in ("poisson", "quasipoisson")
    if pop is not None and (pop <= 0).any():
        raise StatsInputError(
            f"Column '{population_col}' has zero or negative populations. Rates need a "
            "positive population for every period."
        )
    if is_count:
        if (y < 0).any():
            raise StatsInputError(
                f"Column '{count_col}' has negative values; a count model needs counts of 0 or "
                "more. Use family='gaussian' for values that can be negative."
            )
        if (y == 0).all():
            raise StatsInputError(
                f"Every value of '{count_col}' is zero, so there is no rate to model. "
                "Check that the right measure was chosen."
            )

    t0 = float(data.loc[data["post"] == 0, "t"].max())
    cols: dict[str, np.ndarray] = {
        "const": np.ones(len(data)),
        "t": data["t"].to_numpy(),
        "post": data["post"].to_numpy(),
    }
    if slope_change:
        cols["t_since"] = (data["t"].to_numpy() - t0) * data["post"].to_numpy()
    if seasonality_harmonics:
        pos = _season_position(data[date_col], data["t"].to_numpy(), season_length)
        h = harmonic_terms(pos, seasonality_harmonics, season_length)
        for j in range(seasonality_harmonics):
            cols[f"sin{j + 1}"] = h[:, j]
            cols[f"cos{j + 1}"] = h[:, seasonality_harmonics + j]
    X = pd.DataFrame(cols)
    n = len(data)
    if n <= X.shape[1]:
        raise StatsInputError(
            f"Only {n} periods for a model with {X.shape[1]} terms. Use a longer series, "
            "fewer seasonal harmonics, or drop the slope change."
        )

    offset = np.log(pop) if (is_count and pop is not None) else None
    if is_count:
        response = y
    elif pop is not None:
        response = y / pop * RATE_MULTIPLIER
    else:
        response = y
    if not is_count and np.ptp(response) == 0:
        raise StatsInputError(
            "Every value is the same, so a Gaussian model has no variation to estimate. "
            "There is no change to test."
        )

    fit_kwargs: dict[str, Any] = {}
    if hac_lags is not None:
        fit_kwargs = {"cov_type": "HAC", "cov_kwds": {"maxlags": int(hac_lags)}}
    if is_count and np.ptp(response) == 0:
        warnings.append(
            "Every period has the same value, so the model can only show no change; "
            "check that the series is the one intended."
        )
    try:
        with _warnings.catch_warnings():
            # A constant series is a perfect fit; statsmodels flags it, the warning above says so.
            _warnings.simplefilter(
                "ignore", category=sm.tools.sm_exceptions.PerfectSeparationWarning
            )
            if is_count:
                model = sm.GLM(response, X, family=sm.families.Poisson(), offset=offset)
                scale = "X2" if family == "quasipoisson" else None
                res = model.fit(scale=scale, **fit_kwargs)
            else:
                res = sm.OLS(response, X).fit(**fit_kwargs)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise StatsInputError(
            f"The model could not be fitted to this series ({exc}). Check for a very short or "
            "constant series."
        ) from exc

    params = res.params
    cov = np.asarray(res.cov_params())
    bse = res.bse
    z = stats.norm.ppf(0.5 + confidence / 2)
    if is_count:
        crit = z
    else:
        crit = z if hac_lags is not None else stats.t.ppf(0.5 + confidence / 2, res.df_resid)
    lower = params - crit * bse
    upper = params + crit * bse
    pvals = res.pvalues

    # A count model's coefficients are on the log scale: exponentiated, they are rate ratios.
    to_scale, scale_name = (_exp, "rate ratio") if is_count else (float, "absolute")

    def effect(name: str, label: str) -> ITSEffect:
        estimate, low, high = (to_scale(v[name]) for v in (params, lower, upper))
        return ITSEffect(label, estimate, low, high, float(pvals[name]), scale_name)

    coef = pd.DataFrame(
        {
            "estimate": params,
            "std_error": bse,
            "ci_lower": lower,
            "ci_upper": upper,
            "p_value": pvals,
        }
    )
    coef.index.name = "term"

    # Dispersion (Pearson chi2 / residual df), reported for every family.
    if is_count:
        mu = np.asarray(res.fittedvalues)
        pearson = (response - mu) / np.sqrt(np.where(mu > 0, mu, np.nan))
        dispersion = float(np.nansum(pearson**2) / res.df_resid)
        resid = np.nan_to_num(pearson)
    else:
        resid = np.asarray(res.resid)
        dispersion = float(np.sum(resid**2) / res.df_resid)

    lb_lag = int(max(1, min(season_length, n // 4)))
    if np.allclose(resid, 0):
        lb_p = float("nan")
        dw = float("nan")
    else:
        lb = acorr_ljungbox(resid, lags=[lb_lag], return_df=True)
        lb_p = float(lb["lb_pvalue"].iloc[0])
        dw = float(durbin_watson(resid))

    # Fitted values and counterfactual with delta-method interval on the linear predictor.
    Xv = X.to_numpy()
    Xcf = X.copy()
    Xcf["post"] = 0.0
    if slope_change:
        Xcf["t_since"] = 0.0
    Xcfv = Xcf.to_numpy()
    beta = params.to_numpy()
    eta_fit = Xv @ beta
    eta_cf = Xcfv @ beta
    # x'Vx can come out a hair below zero when the fit is degenerate (a sparse series).
    se_cf = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", Xcfv, cov, Xcfv), 0.0))
    out = pd.DataFrame(
        {
            "date": data[date_col].to_numpy(),
            "t": data["t"].astype(int).to_numpy(),
            "post": data["post"].astype(int).to_numpy(),
        }
    )
    if is_count:
        off = offset if offset is not None else np.zeros(n)
        out["observed"] = y
        out["fitted"] = _exp(eta_fit + off)
        out["counterfactual"] = _exp(eta_cf + off)
        out["counterfactual_lower"] = _exp(eta_cf - z * se_cf + off)
        out["counterfactual_upper"] = _exp(eta_cf + z * se_cf + off)
        # Prediction interval (Farrington et al. 1996, s. 3.3, on the log scale): the mean's
        # variance x'Vx plus the period's own quasi-Poisson variance phi*mu over mu^2.
        phi = float(res.scale) if family == "quasipoisson" else 1.0
        mu_cf = out["counterfactual"].to_numpy()
        with np.errstate(divide="ignore"):
            own = np.where(mu_cf > 0, phi / mu_cf, np.inf)
        se_pred = np.sqrt(se_cf**2 + own)
        out["prediction_lower"] = _exp(eta_cf - z * se_pred + off)
        out["prediction_upper"] = _exp(eta_cf + z * se_pred + off)
        if pop is not None:
            for c in (
                "observed",
                "fitted",
                "counterfactual",
                "counterfactual_lower",
                "counterfactual_upper",
                "prediction_lower",
                "prediction_upper",
            ):
                out[f"{c}_rate"] = out[c] / pop * RATE_MULTIPLIER
        # Total over the post period: sum_i exp(x_i b + off_i); gradient sum_i mu_i x_i.
        post_mask = out["post"].to_numpy() == 1
        mu_cf = out["counterfactual"].to_numpy()
        total_cf = float(mu_cf[post_mask].sum())
        grad = (mu_cf[post_mask, None] * Xcfv[post_mask]).sum(axis=0)
        se_total = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
        # Interval on the log of the total keeps it positive.
        log_se = se_total / total_cf if total_cf > 0 else float("nan")
        total_lower = total_cf * _exp(-z * log_se)
        total_upper = total_cf * _exp(z * log_se)
    else:
        scale_back = pop / RATE_MULTIPLIER if pop is not None else np.ones(n)
        out["observed"] = y
        out["fitted"] = eta_fit * scale_back
        out["counterfactual"] = eta_cf * scale_back
        out["counterfactual_lower"] = (eta_cf - crit * se_cf) * scale_back
        out["counterfactual_upper"] = (eta_cf + crit * se_cf) * scale_back
        # OLS prediction interval: the mean's variance plus the residual variance.
        se_pred = np.sqrt(se_cf**2 + float(res.scale))
        out["prediction_lower"] = (eta_cf - crit * se_pred) * scale_back
        out["prediction_upper"] = (eta_cf + crit * se_pred) * scale_back
        if pop is not None:
            out["observed_rate"] = response
            out["fitted_rate"] = eta_fit
            out["counterfactual_rate"] = eta_cf
            out["counterfactual_lower_rate"] = eta_cf - crit * se_cf
            out["counterfactual_upper_rate"] = eta_cf + crit * se_cf
            out["prediction_lower_rate"] = eta_cf - crit * se_pred
            out["prediction_upper_rate"] = eta_cf + crit * se_pred
        post_mask = out["post"].to_numpy() == 1
        w = scale_back[post_mask]
        total_cf = float((eta_cf[post_mask] * w).sum())
        grad = (w[:, None] * Xcfv[post_mask]).sum(axis=0)
        se_total = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
        total_lower = total_cf - crit * se_total
        total_upper = total_cf + crit * se_total
    post_totals = {
        "observed": float(out.loc[post_mask, "observed"].sum()),
        "fitted": float(out.loc[post_mask, "fitted"].sum()),
        "counterfactual": total_cf,
        "counterfactual_lower": float(total_lower),
        "counterfactual_upper": float(total_upper),
    }

    # Plain-English caveats.
    if n_pre < MIN_POINTS_EACH_SIDE or n_post < MIN_POINTS_EACH_SIDE:
        warnings.append(
            f"Only {n_pre} period(s) before and {n_post} after the intervention; at least "
            f"{MIN_POINTS_EACH_SIDE} on each side are advised. Treat the estimates as fragile."
        )
    if family == "poisson" and dispersion > OVERDISPERSION_THRESHOLD:
        warnings.append(
            f"The counts vary more than a Poisson model expects (dispersion {dispersion:.2f}); "
            "its intervals are too narrow. Use family='quasipoisson'."
        )
    if not math.isnan(lb_p) and lb_p < 0.05 and hac_lags is None:
        warnings.append(
            f"The residuals are autocorrelated (Ljung-Box p = {lb_p:.3f} at lag {lb_lag}), so "
            "the intervals may be too narrow. Set hac_lags (Newey-West errors) or add seasonality."
        )
    first, last = data[date_col].min(), data[date_col].max()
    if first <= COVID_END and last >= COVID_START:
        warnings.append(
            f"The window includes the COVID-19 period ({covid_label()}), when services "
            "and referrals changed for reasons unrelated to the intervention."
        )

    fam_label = {"poisson": "Poisson", "quasipoisson": "quasi-Poisson", "gaussian": "Gaussian"}[
        family
    ]
    extras = []
    if seasonality_harmonics:
        extras.append(f"{seasonality_harmonics} harmonic pair(s) for seasonality")
    if hac_lags is not None:
        extras.append(f"Newey-West errors, {hac_lags} lag(s)")
    method = (
        f"Interrupted time series, segmented {fam_label} regression"
        + (" with log-population offset" if is_count and pop is not None else "")
        + (f" ({'; '.join(extras)})" if extras else "")
        + f". {METHOD_SOURCE}."
    )
    return ITSResult(
        method=method,
        n=n,
        warnings=tuple(warnings),
        family=family,
        n_pre=n_pre,
        n_post=n_post,
        intervention_date=t_int,
        confidence=confidence,
        level_change=effect("post", "level change"),
        slope_change=effect("t_since", "slope change") if slope_change else None,
        pre_trend=effect("t", "pre-intervention trend per period"),
        dispersion=dispersion,
        ljung_box_lag=lb_lag,
        ljung_box_p=lb_p,
        durbin_watson=dw,
        hac_lags=hac_lags,
        seasonality_harmonics=seasonality_harmonics,
        coefficients=coef,
        fitted=out,
        post_totals=post_totals,
    )
