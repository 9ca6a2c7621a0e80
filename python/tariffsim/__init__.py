"""tariffsim: a Monte Carlo engine for the macro impact of trade policy.

The numbers come from the Rust engine (the same code, and the same bits, as the
``tariffsim`` command line); this module turns them into Python and pandas objects.

>>> import tariffsim
>>> m = tariffsim.Model.default()
>>> r = m.run(draws=20_000, seed=1)
>>> r.summary["outputs"]["export_loss"]["mean"]       # doctest: +SKIP
>>> r.quantiles.loc["export_loss", ["p5", "p50", "p95"]]  # doctest: +SKIP

See docs/python.md for a walk-through.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _tariffsim

__version__: str = _tariffsim.__version__
__all__ = ["Model", "Result", "Backtest", "QUANTILE_COLUMNS"]

# quantiles.csv's columns after `output`, and where each comes from in summary.json.
_QUANTILE_LEVELS = [
    ("p1", "0.01"),
    ("p5", "0.05"),
    ("p10", "0.1"),
    ("p25", "0.25"),
    ("p50", "0.5"),
    ("p75", "0.75"),
    ("p90", "0.9"),
    ("p95", "0.95"),
    ("p99", "0.99"),
]
#: The columns of ``Result.quantiles`` (those of quantiles.csv, without ``output``): the
#: output's unit, then its statistics.
QUANTILE_COLUMNS: List[str] = (
    ["unit", "mean", "sd", "se_mean", "min"] + [c for c, _ in _QUANTILE_LEVELS] + ["max", "es95", "es99"]
)

PathLike = Union[str, "os.PathLike[str]"]


def _toml_value(value: Any, nested: bool = False) -> str:
    """The TOML text of an override value: numbers as numbers, dicts as inline tables
    (a distribution such as ``{"dist": "uniform", "low": 2, "high": 4}``), lists as arrays.
    A top-level string is passed as written, as the CLI's ``--set PATH=VALUE`` takes it
    (e.g. ``'{ dist = "pert", low = 1, mode = 2, high = 4 }'``); strings inside a dict or a
    list are quoted. ``math.inf`` is the string ``"inf"`` a model file uses for an infinite
    ``eta``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value) and value > 0:
            return '"inf"'
        if math.isnan(value) or math.isinf(value):
            return "nan" if math.isnan(value) else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value) if nested else value
    if isinstance(value, Mapping):
        items = ", ".join(f"{k} = {_toml_value(v, True)}" for k, v in value.items())
        return "{ " + items + " }"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(v, True) for v in value) + "]"
    raise TypeError(
        f"override value {value!r}: accepted: a number, a dict (a distribution), a list, "
        "or a string of TOML"
    )


def _number(x: Optional[float]) -> float:
    """summary.json writes undefined statistics as null; pandas wants NaN."""
    return math.nan if x is None else x


class Result:
    """The result of :meth:`Model.run`.

    ``summary``: summary.json as a dict (the same keys and numbers as the CLI's file).
    ``quantiles``: a DataFrame indexed by output name with the columns of quantiles.csv.
    ``draws``: every draw as a DataFrame (``draw``, ``scenario``, every parameter path, every
    output) when the run was made with ``save_draws=True``, else None.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.summary: Dict[str, Any] = json.loads(inner.summary_json())
        self.quantiles: pd.DataFrame = self._quantiles()
        self.draws: Optional[pd.DataFrame] = self._draws()

    def _quantiles(self) -> pd.DataFrame:
        rows = []
        names = []
        for name, s in self.summary["outputs"].items():
            names.append(name)
            rows.append(
                [s.get("unit")]
                + [_number(s[k]) for k in ("mean", "sd", "se_mean", "min")]
                + [_number(s["quantiles"][level]) for _, level in _QUANTILE_LEVELS]
                + [_number(s["max"]), _number(s["es"]["0.95"]), _number(s["es"]["0.99"])]
            )
        frame = pd.DataFrame(rows, index=pd.Index(names, name="output"), columns=QUANTILE_COLUMNS)
        numeric = QUANTILE_COLUMNS[1:]
        frame[numeric] = frame[numeric].astype("float64")
        return frame

    def _draws(self) -> Optional[pd.DataFrame]:
        columns = self._inner.draw_columns()
        if columns is None:
            return None
        scenario_ids, scenario_codes, values = columns
        codes = np.frombuffer(scenario_codes, dtype="<u4")
        data: Dict[str, Any] = {
            "draw": np.arange(len(codes), dtype=np.int64),
            "scenario": pd.Categorical.from_codes(codes.astype(np.int32), categories=scenario_ids),
        }
        for name, raw in values:
            data[name] = np.frombuffer(raw, dtype="<f8")
        return pd.DataFrame(data, copy=False)

    def write(self, dir: PathLike, report: bool = False) -> None:
        """Writes the CLI's result files into ``dir`` (created if needed): summary.json,
        quantiles.csv, draws.csv when the draws were saved, and report.html with
        ``report=True``; the same bytes as ``tariffsim run`` (but the wall time)."""
        self._inner.write(os.fspath(dir), report)

    def __repr__(self) -> str:
        run = self.summary["run"]
        mean = self.summary["outputs"]["export_loss"]["mean"]
        return (
            f"<tariffsim.Result {self.summary['model']['name']!r}: {run['draws']} draws, "
            f"seed {run['seed']}, sampler {run['sampler']}; export_loss mean {mean:.4g}>"
        )


#: The quantiles of each observation's forecast in backtest.json, and their columns in
#: ``Backtest.observations``.
_BACKTEST_LEVELS = ["0.05", "0.25", "0.5", "0.75", "0.95"]


class Backtest:
    """The result of :meth:`Model.backtest` (MODEL.md §13).

    ``backtest``: backtest.json as a dict (the same keys and numbers as the CLI's file).
    ``observations``: a DataFrame, one row per observation in file order: ``output``,
    ``label``, ``value``, ``sd``, ``pit``, ``crps``, ``mean`` and the forecast's quantiles
    ``q0.05``, ``q0.25``, ``q0.5``, ``q0.75``, ``q0.95``.
    ``updated``: updated/summary.json as a dict (the forecast re-weighted on the observations
    that have an ``sd``), or None when no observation has one.
    """

    def __init__(self, backtest_json: str, updated_json: Optional[str]) -> None:
        self.backtest: Dict[str, Any] = json.loads(backtest_json)
        self.updated: Optional[Dict[str, Any]] = (
            None if updated_json is None else json.loads(updated_json)
        )
        rows = []
        for o in self.backtest["observations"]:
            rows.append(
                [o["output"], o["label"]]
                + [_number(o[k]) for k in ("value", "sd", "pit", "crps", "mean")]
                + [_number(o["quantiles"][level]) for level in _BACKTEST_LEVELS]
            )
        columns = ["output", "label", "value", "sd", "pit", "crps", "mean"] + [
            f"q{level}" for level in _BACKTEST_LEVELS
        ]
        self.observations: pd.DataFrame = pd.DataFrame(rows, columns=columns)

    def __repr__(self) -> str:
        coverage = self.backtest["coverage"]
        ess = "" if self.updated is None else f"; update ESS {self.updated['update']['ess']:.0f}"
        return (
            f"<tariffsim.Backtest {len(self.backtest['observations'])} observations: "
            f"mean CRPS {_number(self.backtest['mean_crps']):.4g}, coverage 50% "
            f"{_number(coverage['0.5']):.2f}, 90% {_number(coverage['0.9']):.2f}{ess}>"
        )


class Model:
    """A validated tariffsim model. Make one with :meth:`default`, :meth:`from_path` or
    :meth:`from_str`; a model file that breaks a rule raises ``ValueError`` with the CLI's
    message (``file:line:col: key: rule; accepted: ...``)."""

    def __init__(self, inner: Any) -> None:
        self._m = inner
        (
            self.name,
            self.file,
            self.sha256,
            self.units,
            self.parameters,
            self.uncertain_parameters,
            self.outputs,
            self.scenarios,
            self.warnings,
        ) = inner.describe()

    @classmethod
    def default(cls) -> "Model":
        """The embedded default model, models/korea_us_2025.toml."""
        return cls(_tariffsim.Model.default())

    @classmethod
    def from_path(cls, path: PathLike) -> "Model":
        """Reads and validates a model file."""
        return cls(_tariffsim.Model.from_path(os.fspath(path)))

    @classmethod
    def from_str(cls, text: str, name: str = "model") -> "Model":
        """Validates model text; ``name`` stands for the file in messages."""
        return cls(_tariffsim.Model.from_str(text, name))

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Model":
        """A copy with ``{path: value}`` overrides, as the CLI's ``--set PATH=VALUE``: a
        parameter path and a number or a distribution (a dict such as
        ``{"dist": "uniform", "low": 2, "high": 4}``), ``path.key`` for one key of a
        distribution, or ``scenarios.<id>.probability``. Raises ``ValueError`` naming the
        override and the rule it breaks."""
        pairs = [(str(k), _toml_value(v)) for k, v in overrides.items()]
        return Model(self._m.with_overrides(pairs))

    def validate(self) -> Dict[str, Any]:
        """What ``tariffsim validate`` reports: a Model is validated when it is made (an
        invalid file raises ``ValueError`` there), so this returns its shape and warnings."""
        return {
            "ok": True,
            "file": self.file,
            "parameters": len(self.parameters),
            "uncertain_parameters": len(self.uncertain_parameters),
            "scenarios": len(self.scenarios),
            "outputs": len(self.outputs),
            "warnings": list(self.warnings),
        }

    def run(
        self,
        draws: int = 100_000,
        seed: int = 0,
        threads: int = 0,
        sampler: str = "mc",
        antithetic: bool = False,
        save_draws: bool = False,
    ) -> Result:
        """Runs the model: bit-identical to ``tariffsim run --draws D --seed S --sampler X``
        (``threads=0`` uses every core; results do not depend on it). Releases the GIL;
        Ctrl-C stops the run and raises ``KeyboardInterrupt``."""
        return Result(
            self._m.run(draws, seed, threads, sampler, antithetic, save_draws)
        )

    def backtest(
        self,
        observed: Union[PathLike, pd.DataFrame],
        draws: int = 100_000,
        seed: int = 0,
        threads: int = 0,
        sampler: str = "mc",
        antithetic: bool = False,
    ) -> Backtest:
        """Scores a run against observations and, where they have an ``sd``, updates the
        forecast on them: bit-identical to ``tariffsim backtest --observed FILE --draws D
        --seed S`` (monthly outputs are switched on when the horizon allows). ``observed`` is
        an observation CSV (MODEL.md §13: ``value`` and ``output`` or ``period``, optional
        ``sd`` and ``label``) or a DataFrame with those columns (named ``<DataFrame>`` in
        messages). A bad observation file, or observations no draw comes near (every weight
        underflows), raise ``ValueError`` with the CLI's message. Releases the GIL; Ctrl-C
        stops the run and raises ``KeyboardInterrupt``."""
        if isinstance(observed, pd.DataFrame):
            text = observed.to_csv(index=False)
            inner = self._m.backtest(
                None, text, "<DataFrame>", draws, seed, threads, sampler, antithetic
            )
        else:
            inner = self._m.backtest(
                os.fspath(observed), None, "", draws, seed, threads, sampler, antithetic
            )
        return Backtest(*inner)

    def sweep(
        self,
        vary: Mapping[str, Iterable[Any]],
        draws: int = 100_000,
        seed: int = 0,
        threads: int = 0,
        sampler: str = "mc",
        antithetic: bool = False,
    ) -> pd.DataFrame:
        """Runs every combination of the values in ``vary`` (``{path: [values]}``, the last
        path varying fastest) with the same seed and draws, as ``tariffsim sweep``. Returns a
        long DataFrame: one row per grid point and headline output, with the varied values,
        ``output``, ``mean``, ``sd``, ``p5``, ``p50``, ``p95``, ``es95`` and the point's
        ``p_stress``. Warnings about the grid's models (e.g. a correlation dropped because a
        value made a parameter fixed) are in the frame's ``attrs["warnings"]``."""
        axes = [(str(p), [_toml_value(v) for v in values]) for p, values in vary.items()]
        doc = json.loads(self._m.sweep(axes, draws, seed, threads, sampler, antithetic))
        paths = [a["path"] for a in doc["axes"]]
        rows = []
        for point in doc["points"]:
            values = [_maybe_number(point["values"][p]) for p in paths]
            for output, stats in point["outputs"].items():
                rows.append(
                    values
                    + [output]
                    + [_number(stats[k]) for k in ("mean", "sd", "p5", "p50", "p95", "es95")]
                    + [_number(point["p_stress"])]
                )
        columns = paths + ["output", "mean", "sd", "p5", "p50", "p95", "es95", "p_stress"]
        frame = pd.DataFrame(rows, columns=columns)
        frame.attrs["warnings"] = doc.get("warnings", [])
        return frame

    def sensitivity(
        self,
        samples: int = 4096,
        seed: int = 0,
        threads: int = 0,
        groups: Optional[Mapping[str, Sequence[str]]] = None,
        bootstrap: int = 200,
    ) -> pd.DataFrame:
        """Sobol indices of every headline output, as ``tariffsim sensitivity``: one row per
        output and input (a parameter, a cluster of correlated parameters or a group), with
        first-order and total indices and their bootstrap intervals. The whole of
        sensitivity.json is in the frame's ``attrs["sensitivity"]``."""
        # The same ranges as the CLI's flags (issue 15, item 7): with no resamples there would
        # be no intervals to report, and fewer than 2 samples give no variance.
        if not 1 <= bootstrap <= 100_000:
            raise ValueError(f"bootstrap = {bootstrap}: accepted 1 to 100000 resamples")
        if not 2 <= samples <= 1_000_000_000:
            raise ValueError(f"samples = {samples}: accepted 2 to 1000000000")
        group_list = [(str(k), [str(p) for p in v]) for k, v in (groups or {}).items()]
        doc = json.loads(self._m.sensitivity(samples, seed, threads, group_list, bootstrap))
        rows = []
        for output, o in doc["outputs"].items():
            for kind, table in (("parameter", o["parameters"]), ("group", o["groups"])):
                for name, e in table.items():
                    rows.append(
                        {
                            "output": output,
                            "input": name,
                            "kind": kind,
                            "first_order": _number(e["first_order"]),
                            "first_order_lo": _number(e["first_order_ci"][0]),
                            "first_order_hi": _number(e["first_order_ci"][1]),
                            "total": _number(e["total"]),
                            "total_lo": _number(e["total_ci"][0]),
                            "total_hi": _number(e["total_ci"][1]),
                        }
                    )
        frame = pd.DataFrame(rows)
        frame.attrs["sensitivity"] = doc
        return frame

    def __repr__(self) -> str:
        return (
            f"<tariffsim.Model {self.name!r} from {self.file}: {len(self.parameters)} parameters "
            f"({len(self.uncertain_parameters)} uncertain), {len(self.scenarios)} scenarios>"
        )


def _maybe_number(text: str) -> Any:
    """A sweep value as a number when it is one (sweep.json keeps the TOML text)."""
    try:
        return float(text)
    except ValueError:
        return text
