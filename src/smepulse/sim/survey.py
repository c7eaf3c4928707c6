"""A seeded synthetic SME survey panel: latent monthly conditions -> ordered-choice answers -> wide responses.

The model (documented in docs/simulator.md):
  * Six latent monthly conditions: persistent AR(1) cycles for manufacturing, services, credit, external
    demand and real-estate stress, plus a Chinese New Year effect that is a fixed function of the lunar
    calendar (`cny_effect`; its shape, window and profile set by `CnyEffect`).
  * A panel of firms in sector x region x size strata, with exporter status, a firm effect per question
    block and a firm response propensity; firms leave (attrition) and are replaced in the same stratum.
  * Each answer is an ordered choice: propensity = the question's mix of conditions for the firm's cell +
    firm effect + logistic noise, cut at +-`cut` into better / same / worse.
Everything is vectorised over firms; loops run only over months and questions, so the same generator feeds
the small pandas sample (`simulate_survey`) and the chunked Parquet writer (`write_parquet`).
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smepulse.errors import SeasonalError, SmepulseError
from smepulse.methodology import Methodology, Question, load_methodology
from smepulse.seasonal.holidays import cny_shares

FACTORS = ("manufacturing_cycle", "services_cycle", "credit", "external_demand", "real_estate_stress",
           "cny_effect")
DIMENSIONS = ("sector", "region", "size", "exporter")
LEAD = 2  # expectations see conditions up to two months ahead: they lead performance
CNY_WINDOW = 20  # days before CNY (CNY-20 .. CNY-1) when activity slows, as in the genhol convention
CNY_AMPLITUDE = 1.0  # propensity units per full window in a month, scaled by the sector's sensitivity

# Panel design. Sampling shares by size over-represent larger firms; the population is mostly micro firms,
# so the design weight is population share / sampling share (an assumption, not an official figure).
SIZE_SAMPLE = {"micro": 0.45, "small": 0.38, "medium": 0.17}
SIZE_POPULATION = {"micro": 0.70, "small": 0.24, "medium": 0.06}
EXPORTER_SHARE = {"manufacturing": 0.45, "wholesale_retail": 0.40, "transport_logistics": 0.25,
                  "it_finance": 0.10}
EXPORTER_OTHER = 0.08
ATTRITION = 0.02  # per month


@dataclass(frozen=True)
class Volatility:
    """How far and how fast the latent conditions move. `amplitude` scales the cycles and the CNY effect
    around their means; `shock` adds a month-specific common shock (sd, before scaling) to the business
    cycles, which lowers persistence (real indices' month-on-month changes are large relative to their SD)."""
    amplitude: float = 1.0
    shock: float = 0.0


# "calibrated": the production index of the whole population (seasonal effects removed) has SD about 4 and
# month-on-month SD about 2.8, as the NBS manufacturing PMI production index 2005-2019 (tests/sim,
# docs/simulator.md). "stress": the earlier, much wider swings (SD about 12-15, month-on-month SD about 7),
# kept for robustness tests.
VOLATILITY = {"calibrated": Volatility(amplitude=0.3, shock=0.3), "stress": Volatility()}
ITEM_NONRESPONSE = 0.03
RESPONSE_CONCENTRATION = 10.0  # firm response propensity ~ Beta: regular and occasional respondents

# Exposure of each sector to (manufacturing cycle, services cycle, real-estate stress), and to the CNY.
SECTOR_LOADING = {
    "manufacturing": (1.0, 0.15, 0.0), "construction": (0.3, 0.3, -0.6), "real_estate": (0.0, 0.3, -1.0),
    "wholesale_retail": (0.3, 0.7, 0.0), "transport_logistics": (0.5, 0.5, 0.0),
    "accommodation_catering": (0.0, 1.0, 0.0), "it_finance": (0.0, 0.8, -0.1),
    "other_services": (0.1, 0.9, 0.0)}
SECTOR_DEFAULT = (0.5, 0.5, 0.0)
CNY_SENSITIVITY = {"manufacturing": 1.0, "construction": 0.9, "real_estate": 0.5, "wholesale_retail": 0.6,
                   "transport_logistics": 0.8, "accommodation_catering": 0.3, "it_finance": 0.4,
                   "other_services": 0.5}
CNY_DEFAULT = 0.6
EXPORT_LOADING = 0.4  # exporters' business also follows external demand
REGION_BIAS = {"east": 0.05, "northeast": -0.2}
SIZE_BIAS = {"performance": {"micro": -0.1, "medium": 0.1}, "expectation": {"micro": -0.05, "medium": 0.05},
             "credit": {"micro": -0.35, "medium": 0.25}}
# Level of each block (propensity units, added to every firm): calibrates the population performance indices to
# the NBS PMI components' level (about 50-52; tests/sim). Without it real-estate stress, the micro-firm and
# north-east biases pull them to 45-47.
BLOCK_LEVEL = {"performance": 0.3}
FIRM_SD = {"performance": 0.5, "expectation": 0.5, "credit": 0.6, "external": 0.3}
FIRM_SD_DEFAULT = 0.5


@dataclass(frozen=True)
class Item:
    """How one question answers: loading on its block's driver, bias (optimism), half-width of 'same'."""
    loading: float = 1.0
    bias: float = 0.0
    cut: float = 1.1
    credit_weight: float = 0.0  # credit block: share of the driver that is credit conditions
    export: bool = False  # asked of exporters only, driven by external demand


BLOCK_ITEM = {"performance": Item(1.0, 0.0, 1.15), "expectation": Item(0.8, 0.45, 1.15), "credit": Item(1.0, 0.0, 1.2, 0.9),
              "external": Item(0.3, 0.0, 3.1)}
ITEMS = {
    "sales": Item(1.0, 0.0, 1.15), "production": Item(1.0, 0.0, 1.2), "new_orders": Item(1.0, -0.05, 1.15),
    "new_export_orders": Item(1.0, -0.1, 1.15, export=True), "employment": Item(0.5, -0.1, 1.5),
    "output_prices": Item(0.5, -0.2, 1.3), "investment": Item(0.7, -0.1, 1.25), "profit": Item(0.9, -0.15, 1.2),
    "exp_employment": Item(0.4, 0.3, 1.5), "exp_investment": Item(0.6, 0.3, 1.3),
    "credit_access": Item(1.0, -0.05, 1.2, 0.9), "funding_cost": Item(1.0, 0.0, 1.2, 0.9),
    "liquidity": Item(1.0, -0.05, 1.1, 0.5), "receivables": Item(1.0, -0.1, 1.15, 0.4),
    "bank_willingness": Item(1.0, 0.05, 1.2, 0.9),
}


@dataclass
class SurveySample:
    """A simulated survey: responses (wide), panel, latent conditions and the population truth."""
    responses: pd.DataFrame
    latent: pd.DataFrame  # period, factor, value
    truth: pd.DataFrame  # period, series, group, measure, true_value (0-100)
    firms: pd.DataFrame  # firm_id, sector, region, size, exporter, entry_period, exit_period
    methodology: str
    params: dict = field(default_factory=dict)

    def summary(self) -> str:
        r = self.responses
        qs = [c for c in r.columns if c not in ("period", "firm_id", "weight", *DIMENSIONS)]
        blank = float(r[qs].isna().to_numpy().mean()) if len(r) else 0.0
        n_months = r["period"].nunique()
        return (f"Synthetic survey ({self.methodology}, seed {self.params.get('seed')}): {len(r):,} responses "
                f"from {len(self.firms):,} firms over {n_months} months; "
                f"{len(r) / max(1, n_months * self.params.get('n_firms', 1)):.1%} unit response, "
                f"{blank:.1%} blank answers (incl. export orders of non-exporters).")


# -- the calendar --------------------------------------------------------------------------------------------
def periods_from(start: str, n_months: int) -> list[str]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
        raise SmepulseError(f"start must be a period 'YYYY-MM', got {start!r}")
    months = np.datetime64(start, "M") + np.arange(n_months)
    return [str(p) for p in np.datetime_as_string(months, unit="M")]


@dataclass(frozen=True)
class CnyEffect:
    """The Chinese New Year effect on this month's activity (performance questions), in propensity units per
    full window in a month, scaled by the sector's sensitivity. `shape` places the window as the seasonal
    module's regressors do (before, around, after, dip_rebound); `window` and `profile` (flat or ramp: the
    days nearest the holiday weigh most) may differ from the regressor's 20 flat days, to test it on shapes
    it does not assume."""
    shape: str = "before"
    window: int = CNY_WINDOW
    profile: str = "flat"
    amplitude: float = CNY_AMPLITUDE


def cny_effect(periods: list[str], window: int = CNY_WINDOW, shape: str = "before",
               profile: str = "flat") -> np.ndarray:
    """Minus the share of the CNY window (placed by `shape`, spread by `profile`) falling in each month.

    Default (before, 20 flat days: CNY-20 .. CNY-1): in [-1, 0], -1 when the whole window is in the month
    (CNY late January), about -0.5 in both January and February when CNY is early February. dip_rebound is
    in [-1, 1]: a dip in the holiday month, a rebound the month after. Uncentred; the seasonal module's
    centred regressor of the same shape and window differs from it only by a fixed per-calendar-month constant.
    """
    if not periods:
        return np.zeros(0)
    try:
        shares = cny_shares(min(periods), max(periods), window=window, shape=shape, profile=profile)
    except SeasonalError as exc:
        raise SmepulseError(f"simulated CNY effect: {exc}") from None
    return -shares.reindex(periods).to_numpy(float)


# -- latent conditions ---------------------------------------------------------------------------------------
def _ar1(rng: np.random.Generator, n: int, phi: float, burn: int = 60) -> np.ndarray:
    """Stationary AR(1) with unit variance (a burn-in forgets the start)."""
    e = rng.standard_normal(n + burn) * np.sqrt(1 - phi ** 2)
    x = np.empty(n + burn)
    x[0] = rng.standard_normal()
    for t in range(1, n + burn):
        x[t] = phi * x[t - 1] + e[t]
    return x[burn:]


def simulate_conditions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Latent business conditions (mean 0, sd about 1; real-estate stress has mean 0.5 and sd 0.8)."""
    common = _ar1(rng, n, 0.9)  # a shared business cycle makes the sector cycles co-move
    return {
        "manufacturing_cycle": 0.7 * common + 0.714 * _ar1(rng, n, 0.85),
        "services_cycle": 0.7 * common + 0.714 * _ar1(rng, n, 0.85),
        "credit": _ar1(rng, n, 0.92),
        "external_demand": 0.5 * common + 0.866 * _ar1(rng, n, 0.9),
        "real_estate_stress": 0.5 + 0.8 * _ar1(rng, n, 0.95),
    }


# -- cells: every sector x region x size x exporter combination ----------------------------------------------
@dataclass(frozen=True)
class _Cells:
    values: dict[str, list[str]]  # dimension -> values
    index: dict[str, np.ndarray]  # dimension -> value index per cell

    @property
    def k(self) -> int:
        return len(self.index["sector"])

    def code(self, sector: np.ndarray, region: np.ndarray, size: np.ndarray, exporter: np.ndarray) -> np.ndarray:
        n = {d: len(v) for d, v in self.values.items()}
        return ((sector * n["region"] + region) * n["size"] + size) * n["exporter"] + exporter


def _cells(m: Methodology) -> _Cells:
    missing = [d for d in DIMENSIONS if d not in m.classifications]
    if missing:
        raise SmepulseError(f"methodology '{m.name}' has no classification {missing}; the simulator needs "
                            f"{', '.join(DIMENSIONS)} (see smei.yaml)")
    values = {d: list(m.classifications[d].values) for d in DIMENSIONS}
    if values["exporter"] != ["yes", "no"]:
        raise SmepulseError(f"exporter values must be ['yes', 'no'], got {values['exporter']}")
    grids = np.meshgrid(*(np.arange(len(values[d])) for d in DIMENSIONS), indexing="ij")
    return _Cells(values, {d: g.ravel() for d, g in zip(DIMENSIONS, grids, strict=False)})


def _shares(values: list[str], given: dict[str, float] | None) -> np.ndarray:
    p = np.array([(given or {}).get(v, 0.0 if given else 1.0) for v in values], dtype=float)
    if p.sum() <= 0:
        p = np.ones(len(values))
    return p / p.sum()


def _exporter_p(cells: _Cells) -> np.ndarray:
    """P(exporter) for each sector value."""
    return np.array([EXPORTER_SHARE.get(s, EXPORTER_OTHER) for s in cells.values["sector"]])


# -- propensities ----------------------------------------------------------------------------------------------
def _item(q: Question) -> Item:
    return ITEMS.get(q.id, BLOCK_ITEM.get(q.block, Item()))


def _propensities(questions: list[Question], cells: _Cells, cond: dict[str, np.ndarray],
                  cny: np.ndarray) -> np.ndarray:
    """Mean propensity (before firm effect and noise) by question, month and cell: (Q, T, K) float32."""
    t = len(cny)
    sectors = [cells.values["sector"][i] for i in cells.index["sector"]]
    load = np.array([SECTOR_LOADING.get(s, SECTOR_DEFAULT) for s in sectors])  # (K, 3)
    cny_s = np.array([CNY_SENSITIVITY.get(s, CNY_DEFAULT) for s in sectors])
    exporter = (cells.index["exporter"] == 0).astype(float)  # value 0 is "yes"
    region = np.array([REGION_BIAS.get(cells.values["region"][i], 0.0) for i in cells.index["region"]])
    size_v = [cells.values["size"][i] for i in cells.index["size"]]
    drivers = np.stack([cond["manufacturing_cycle"], cond["services_cycle"], cond["real_estate_stress"]], 1)
    # business condition of each cell, months 0 .. T+LEAD-1
    business = drivers @ load.T + np.outer(cond["external_demand"], EXPORT_LOADING * exporter)
    out = np.empty((len(questions), t, cells.k), dtype=np.float32)
    for j, q in enumerate(questions):
        it = _item(q)
        size = np.array([SIZE_BIAS.get(q.block, {}).get(s, 0.0) for s in size_v])
        base = BLOCK_LEVEL.get(q.block, 0.0) + it.bias + region + size
        if q.block == "expectation":  # partly the next two months' conditions: expectations lead a bit
            x = it.loading * (0.4 * business[:t] + 0.3 * business[1:t + 1] + 0.3 * business[2:t + 2])
        elif q.block == "credit":
            stress = np.outer(cond["real_estate_stress"][:t], 0.5 * load[:, 2])  # property exposure hurts
            x = it.loading * (it.credit_weight * cond["credit"][:t, None]
                              + (1 - it.credit_weight) * business[:t]) + stress
        elif q.block == "external":
            x = it.loading * np.repeat(cond["external_demand"][:t, None], cells.k, 1)
        elif it.export:
            x = it.loading * cond["external_demand"][:t, None] + 0.3 * business[:t]
        else:
            x = it.loading * business[:t]
        if q.block == "performance":  # the holiday slows this month's activity
            x = x + np.outer(cny, cny_s)
        out[j] = x + base
    return out


# -- the panel ------------------------------------------------------------------------------------------------
@dataclass
class _Panel:
    cell: np.ndarray  # per firm
    slot_strata: dict[str, np.ndarray]  # per slot: sector, region, size value index
    exporter: np.ndarray  # per firm, 0 = yes, 1 = no
    effect: np.ndarray  # per firm x block
    respond_p: np.ndarray  # per firm
    occupant: np.ndarray  # (T, n_slots) firm index
    entry: np.ndarray  # per firm, month index
    exit: np.ndarray  # per firm, month index of the last month in the panel (-1 = still in)


def _panel(rng: np.random.Generator, m: Methodology, cells: _Cells, n_firms: int, n_months: int,
           start: str, response_rate: float, blocks: list[str]) -> _Panel:
    targets = m.targets_for(start)
    strata = {d: rng.choice(len(cells.values[d]), n_firms,
                            p=_shares(cells.values[d], SIZE_SAMPLE if d == "size" else targets.get(d)))
              for d in ("sector", "region", "size")}
    # Attrition: exits[t, s] = the firm in slot s left after month t-1; a new firm of the slot's stratum enters.
    exits = rng.random((n_months, n_firms)) < ATTRITION
    exits[0] = False
    t_new, s_new = np.nonzero(exits)  # row-major: new firms numbered by month, then slot
    n_total = n_firms + len(t_new)
    slot = np.concatenate([np.arange(n_firms), s_new])
    entry = np.concatenate([np.zeros(n_firms, dtype=np.int64), t_new])
    occupant = np.empty((n_months, n_firms), dtype=np.int64)
    occ = np.arange(n_firms)
    exit_ = np.full(n_total, -1, dtype=np.int64)
    first = n_firms
    for t in range(n_months):
        k = int(exits[t].sum())
        if k:
            leaving = occ[exits[t]]
            exit_[leaving] = t - 1
            occ = occ.copy()
            occ[exits[t]] = np.arange(first, first + k)
            first += k
        occupant[t] = occ
    sector = strata["sector"][slot]
    exporter = (rng.random(n_total) >= _exporter_p(cells)[sector]).astype(np.int64)  # 0 = yes
    cell = cells.code(sector, strata["region"][slot], strata["size"][slot], exporter)
    sd = np.array([FIRM_SD.get(b, FIRM_SD_DEFAULT) for b in blocks])
    effect = (rng.standard_normal((n_total, len(blocks))) * sd).astype(np.float32)
    if response_rate >= 1:
        respond_p = np.ones(n_total)
    else:
        a = RESPONSE_CONCENTRATION
        respond_p = rng.beta(a * response_rate, a * (1 - response_rate), n_total)
    return _Panel(cell, strata, exporter, effect, respond_p, occupant, entry, exit_)


# -- the generator shared by the pandas and Parquet paths ------------------------------------------------------
@dataclass
class _Model:
    methodology: Methodology
    periods: list[str]
    questions: list[Question]
    blocks: list[str]
    cells: _Cells
    conditions: dict[str, np.ndarray]  # T + LEAD months
    cny: np.ndarray
    mean_x: np.ndarray  # (Q, T, K)
    panel: _Panel
    answer_seeds: list[np.random.SeedSequence]
    weight_by_size: np.ndarray


def _calm(cond: dict[str, np.ndarray], cny: np.ndarray, vol: Volatility,
          rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Conditions and CNY effect under `vol` (the stress setting returns them unchanged)."""
    if vol.amplitude == 1.0 and vol.shock == 0.0:
        return cond, cny
    n = len(next(iter(cond.values())))
    shock = vol.shock * rng.standard_normal(n)
    out = {}
    for k, x in cond.items():
        mean = 0.5 if k == "real_estate_stress" else 0.0
        common = shock if k in ("manufacturing_cycle", "services_cycle", "external_demand") else 0.0
        out[k] = mean + vol.amplitude * (x - mean + common)
    return out, vol.amplitude * cny


def _build(n_firms: int, n_months: int, start: str, seed: int, response_rate: float,
           methodology: str | Methodology, volatility: str = "calibrated", holiday: bool = True,
           cny: CnyEffect | None = None) -> _Model:
    if n_firms < 1 or n_months < 1:
        raise SmepulseError(f"need at least one firm and one month, got n_firms={n_firms}, n_months={n_months}")
    if not 0 < response_rate <= 1:
        raise SmepulseError(f"response_rate must be in (0, 1], got {response_rate}")
    m = methodology if isinstance(methodology, Methodology) else load_methodology(methodology)
    periods = periods_from(start, n_months)
    # Separate streams: conditions do not change when the panel size or response rate changes.
    if volatility not in VOLATILITY:
        raise SmepulseError(f"volatility must be one of {', '.join(VOLATILITY)}, got {volatility!r}")
    s_cond, s_panel, s_answers, s_shock = np.random.SeedSequence(seed).spawn(4)
    cny = cny or CnyEffect()
    effect = cny.amplitude * cny_effect(periods, cny.window, cny.shape, cny.profile) if holiday \
        else np.zeros(n_months)
    cond, effect = _calm(simulate_conditions(np.random.default_rng(s_cond), n_months + LEAD), effect,
                         VOLATILITY[volatility], np.random.default_rng(s_shock))
    cells = _cells(m)
    questions = list(m.questions)
    blocks = list(dict.fromkeys(q.block for q in questions))
    panel = _panel(np.random.default_rng(s_panel), m, cells, n_firms, n_months, start, response_rate, blocks)
    sample = _shares(cells.values["size"], SIZE_SAMPLE)
    weight = _shares(cells.values["size"], SIZE_POPULATION) / sample
    return _Model(m, periods, questions, blocks, cells, cond, effect, _propensities(questions, cells, cond, effect),
                  panel, s_answers.spawn(n_months), weight)


def _months(model: _Model) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per month: (month index, responding firm indices, answers (Q, n) int8: code index, -1 = blank)."""
    p = model.panel
    block_of = [model.blocks.index(q.block) for q in model.questions]
    for t in range(len(model.periods)):
        rng = np.random.default_rng(model.answer_seeds[t])
        active = p.occupant[t]
        firms = active[rng.random(len(active)) < p.respond_p[active]]  # unit non-response
        cell = p.cell[firms]
        answers = np.empty((len(model.questions), len(firms)), dtype=np.int8)
        for j, q in enumerate(model.questions):
            it = _item(q)
            y = model.mean_x[j, t, cell] + p.effect[firms, block_of[j]] + rng.logistic(size=len(firms))
            good = (y <= it.cut).astype(np.int8) + (y < -it.cut)  # 0 better, 1 same, 2 worse
            code = 2 - good if q.inverted else good  # codes are listed better, same, worse
            blank = rng.random(len(firms)) < ITEM_NONRESPONSE
            if it.export:
                blank |= p.exporter[firms] == 1
            code[blank] = -1
            answers[j] = code
        yield t, firms, answers


# -- the population truth ------------------------------------------------------------------------------------
def _population(model: _Model) -> np.ndarray:
    """Population share of each cell in each month: sector and region at the methodology's targets,
    size at SIZE_POPULATION, exporters by sector. (T, K)"""
    c = model.cells
    size = _shares(c.values["size"], SIZE_POPULATION)[c.index["size"]]
    p_exp = _exporter_p(c)[c.index["sector"]]
    exp = np.where(c.index["exporter"] == 0, p_exp, 1 - p_exp)
    out = np.empty((len(model.periods), c.k))
    for t, period in enumerate(model.periods):
        targets = model.methodology.targets_for(period)
        sec = _shares(c.values["sector"], targets.get("sector"))[c.index["sector"]]
        reg = _shares(c.values["region"], targets.get("region"))[c.index["region"]]
        out[t] = sec * reg * size * exp
    return out


def _groups(cells: _Cells) -> list[tuple[str, np.ndarray]]:
    out = [("all", np.ones(cells.k, dtype=bool))]
    for d in DIMENSIONS:
        out += [(f"{d}={v}", cells.index[d] == i) for i, v in enumerate(cells.values[d])]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def population_truth(model: _Model, nodes: int = 15) -> pd.DataFrame:
    """Expected diffusion indices and answer shares of the whole population (no sampling, no non-response).

    The firm effect is integrated out with Gauss-Hermite quadrature, so this is exact up to quadrature
    error: what a census answering every question would give on average.
    """
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    pop = _population(model)
    groups = _groups(model.cells)
    is_exporter = model.cells.index["exporter"] == 0
    di: dict[str, np.ndarray] = {}  # series -> (T, G)
    frames = []

    def emit(series: str, measure: str, values: np.ndarray) -> None:
        frames.append((series, measure, values))  # (T, G); assembled once at the end (fast)

    for j, q in enumerate(model.questions):
        it = _item(q)
        sd = FIRM_SD.get(q.block, FIRM_SD_DEFAULT)
        x = model.mean_x[j].astype(float)[..., None] + sd * z  # (T, K, nodes)
        better = (_sigmoid(x - it.cut) * w).sum(-1)
        worse = (_sigmoid(-it.cut - x) * w).sum(-1)
        weights = pop * is_exporter if it.export else pop
        masks = np.stack([mk for _, mk in groups], 1).astype(float)  # (K, G)
        den = weights @ masks
        with np.errstate(invalid="ignore", divide="ignore"):
            pb, pw = (better * weights) @ masks / den, (worse * weights) @ masks / den
        shares = {"better": pb, "same": 1 - pb - pw, "worse": pw}
        order = ("worse", "same", "better") if q.inverted else ("better", "same", "worse")
        for code, key in zip(q.codes, order, strict=False):
            emit(q.id, f"pct:{code}", 100 * shares[key])
        if not q.shares_only:
            di[q.id] = 100 * (pb + 0.5 * shares["same"])
            emit(q.id, "diffusion", di[q.id])
    for comp in model.methodology.composites:
        num = np.zeros((len(model.periods), len(groups)))
        den = np.zeros_like(num)
        missing = np.zeros_like(num, dtype=bool)
        for term in comp.terms:
            v = di.get(term.series)
            if v is None:
                continue
            v = 100 - v if term.inverted else v
            ok = ~np.isnan(v)
            num += np.where(ok, term.weight * v, 0)
            den += np.where(ok, term.weight, 0)
            missing |= ~ok
        with np.errstate(invalid="ignore", divide="ignore"):
            value = num / den
        if comp.require_all:
            value[missing] = np.nan
        di[comp.id] = value
        emit(comp.id, "diffusion", value)
    t, g = len(model.periods), len(groups)
    out = pd.DataFrame({
        "period": np.tile(np.repeat(model.periods, g), len(frames)),
        "series": np.repeat([f[0] for f in frames], t * g),
        "group": np.tile([name for name, _ in groups], t * len(frames)),
        "measure": np.repeat([f[1] for f in frames], t * g),
        "true_value": np.concatenate([f[2].ravel() for f in frames])})
    return out.dropna(subset=["true_value"]).reset_index(drop=True)


# -- public API ----------------------------------------------------------------------------------------------
def simulate_truth(n_months: int = 180, start: str = "2005-01", seed: int = 0, volatility: str = "calibrated",
                   holiday: bool = True, methodology: str | Methodology = "smei",
                   cny: CnyEffect | None = None) -> pd.DataFrame:
    """The population truth alone (`period, series, group, measure, true_value`), as `simulate_survey` with
    the same seed, volatility and CNY effect gives it; `holiday=False` leaves out the CNY effect (the seasonally
    adjusted truth). Cheap: no panel answers are drawn. Used to check the calibration against real indices and
    the holiday regressors against effects of known shape."""
    return population_truth(_build(1, n_months, start, seed, 1.0, methodology, volatility, holiday, cny))


def _firm_ids(n: int) -> np.ndarray:
    width = max(6, len(str(n - 1)))
    return np.strings.add("F", np.strings.zfill(np.arange(n).astype(str), width))


def simulate_survey(n_firms: int = 600, n_months: int = 36, start: str = "2023-01", seed: int = 0,
                    response_rate: float = 0.8, methodology: str | Methodology = "smei",
                    volatility: str = "calibrated", cny: CnyEffect | None = None) -> SurveySample:
    """Simulate a monthly SME survey panel and its answers (see docs/simulator.md).

    `cny`: the Chinese New Year effect's shape, window, profile and amplitude (default: 20 flat days before).
    Example: `s = simulate_survey(2000, 36, seed=1, cny=CnyEffect("after", 12)); s.responses.head()`.
    """
    model = _build(n_firms, n_months, start, seed, response_rate, methodology, volatility, cny=cny)
    c, p = model.cells, model.panel
    parts = list(_months(model))
    firms = np.concatenate([f for _, f, _ in parts])
    month = np.concatenate([np.full(len(f), t) for t, f, _ in parts])
    answers = np.concatenate([a for _, _, a in parts], axis=1)
    ids = _firm_ids(len(p.cell))
    cell = p.cell[firms]
    cols: dict[str, object] = {"period": np.array(model.periods)[month], "firm_id": ids[firms]}
    for d in DIMENSIONS:
        cols[d] = np.array(c.values[d])[c.index[d][cell]]
    cols["weight"] = model.weight_by_size[c.index["size"][cell]]
    for j, q in enumerate(model.questions):
        lookup = np.array([*q.codes, None], dtype=object)  # index -1 -> None (blank)
        cols[q.id] = pd.Series(lookup[answers[j]], dtype=object)
    responses = pd.DataFrame(cols)
    n = len(model.periods)
    latent = pd.DataFrame({"period": np.tile(model.periods, len(FACTORS)), "factor": np.repeat(FACTORS, n),
                           "value": np.concatenate([model.conditions[f][:n] for f in FACTORS[:-1]]
                                                   + [model.cny])})
    periods = np.array(model.periods, dtype=object)
    firm_table = pd.DataFrame({"firm_id": ids, **{d: np.array(c.values[d])[c.index[d][p.cell]] for d in DIMENSIONS},
                               "entry_period": periods[p.entry],
                               "exit_period": pd.Series(np.where(p.exit >= 0, periods[p.exit], None), dtype=object)})
    params = dict(n_firms=n_firms, n_months=n_months, start=start, seed=seed, response_rate=response_rate,
                  volatility=volatility, cny=cny or CnyEffect())
    return SurveySample(responses, latent, population_truth(model), firm_table,
                        f"{model.methodology.name} {model.methodology.version}", params)


def write_parquet(path: str | Path, n_answers: int = 10_000_000, seed: int = 0, n_months: int = 36, *,
                  start: str = "2023-01", response_rate: float = 0.8, methodology: str | Methodology = "smei",
                  n_firms: int | None = None, compression: str = "zstd", volatility: str = "calibrated") -> dict:
    """Write about `n_answers` answers (rows x questions) in the wide responses format to Parquet.

    One row group per month, so memory stays flat however many answers are asked for. Answers and
    classifications are dictionary-encoded strings, blanks are nulls. Returns rows, answers, seconds, ...
    The data are exactly `simulate_survey(n_firms=stats["n_firms"], ...)`.responses.
    """
    t0 = time.perf_counter()
    m = methodology if isinstance(methodology, Methodology) else load_methodology(methodology)
    if n_firms is None:  # rows ~ firms x months x response rate
        n_firms = max(1, round(n_answers / (n_months * response_rate * len(m.questions))))
    model = _build(n_firms, n_months, start, seed, response_rate, m, volatility)
    c, p = model.cells, model.panel
    ids = pa.array(_firm_ids(len(p.cell)))
    dict_of = {d: pa.array(c.values[d]) for d in DIMENSIONS}
    period_dict = pa.array(model.periods)
    code_dicts = [pa.array(list(q.codes)) for q in model.questions]
    str8 = pa.dictionary(pa.int8(), pa.string())
    schema = pa.schema([("period", pa.dictionary(pa.int16(), pa.string())), ("firm_id", pa.string()),
                        *((d, str8) for d in DIMENSIONS), ("weight", pa.float64()),
                        *((q.id, str8) for q in model.questions)])
    rows = non_blank = 0
    with pq.ParquetWriter(str(path), schema, compression=compression) as writer:
        for t, firms, answers in _months(model):
            n = len(firms)
            cell = p.cell[firms]
            arrays = [pa.DictionaryArray.from_arrays(pa.array(np.full(n, t, np.int16)), period_dict),
                      ids.take(pa.array(firms))]
            arrays += [pa.DictionaryArray.from_arrays(pa.array(c.index[d][cell].astype(np.int8)), dict_of[d])
                       for d in DIMENSIONS]
            arrays.append(pa.array(model.weight_by_size[c.index["size"][cell]]))
            for j in range(len(model.questions)):
                a = answers[j]
                arrays.append(pa.DictionaryArray.from_arrays(pa.array(a, mask=a < 0), code_dicts[j]))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += n
            non_blank += int((answers >= 0).sum())
    seconds = time.perf_counter() - t0
    return {"path": str(path), "rows": rows, "answers": rows * len(model.questions), "non_blank": non_blank,
            "n_firms": n_firms, "n_months": n_months, "seconds": round(seconds, 3),
            "bytes": Path(path).stat().st_size}
