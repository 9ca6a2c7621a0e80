"""The Python package gives the CLI's results (same numbers, same files), raises the CLI's
messages as ValueError, and shapes its DataFrames as documented (docs/python.md)."""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

import tariffsim
from conftest import ROOT, run_cli


# pandas < 3 parses floats to the nearest double only when asked; pandas 3 always does.
EXACT = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _without_elapsed(summary: dict) -> dict:
    summary = json.loads(json.dumps(summary))
    summary["run"].pop("elapsed_s")
    summary["run"].pop("threads")
    return summary


def test_run_equals_the_cli_bit_for_bit(cli, tmp_path):
    args = ["--draws", "6000", "--seed", "4", "--sampler", "lhs", "--antithetic",
            "--set", "sectors.autos.sigma=4.5", "--save-draws"]
    done = run_cli(cli, tmp_path / "cli", *args)
    assert done.returncode == 0, done.stderr
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())

    m = tariffsim.Model.default().with_overrides({"sectors.autos.sigma": 4.5})
    r = m.run(draws=6000, seed=4, sampler="lhs", antithetic=True, save_draws=True)
    # json.loads is exact for floats, so == is bit equality.
    assert _without_elapsed(r.summary) == _without_elapsed(cli_summary)

    # The same files, byte for byte (summary.json but its wall time and thread count).
    r.write(tmp_path / "py")
    for name in ("quantiles.csv", "draws.csv"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    py_summary = json.loads((tmp_path / "py" / "summary.json").read_text())
    assert _without_elapsed(py_summary) == _without_elapsed(cli_summary)

    # The draws DataFrame is draws.csv's table.
    csv = pd.read_csv(tmp_path / "cli" / "draws.csv", **EXACT)
    assert list(r.draws.columns) == list(csv.columns)
    assert r.draws.shape == (6000, len(m.parameters) + len(m.outputs) + 2)
    assert (r.draws["scenario"].astype(str).to_numpy() == csv["scenario"].to_numpy()).all()
    np.testing.assert_array_equal(r.draws["export_loss"].to_numpy(), csv["export_loss"].to_numpy())
    np.testing.assert_array_equal(r.draws["draw"].to_numpy(), np.arange(6000))


def test_quantiles_frame_is_quantiles_csv(cli, tmp_path):
    r = tariffsim.Model.default().run(draws=3000, seed=2, threads=1)
    assert r.draws is None
    q = r.quantiles
    assert q.index.name == "output"
    assert list(q.columns) == tariffsim.QUANTILE_COLUMNS
    assert list(q.index) == tariffsim.Model.default().outputs
    r.write(tmp_path)
    csv = pd.read_csv(tmp_path / "quantiles.csv", index_col="output", **EXACT)
    pd.testing.assert_frame_equal(q, csv, check_exact=True)
    assert q.loc["export_loss", "p95"] == r.summary["outputs"]["export_loss"]["quantiles"]["0.95"]


def test_write_refuses_a_folder_another_writer_holds(tmp_path):
    import fcntl

    r = tariffsim.Model.default().run(draws=1024, seed=0)
    # Hold the folder's lock as a running `tariffsim run --out` does (flock on the folder).
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OSError, match="another tariffsim process is writing into this folder"):
            r.write(tmp_path)
        assert not (tmp_path / "summary.json").exists()
    finally:
        os.close(fd)
    r.write(tmp_path)
    assert (tmp_path / "summary.json").exists()


def test_report_is_written(tmp_path):
    tariffsim.Model.default().run(draws=2048, seed=0).write(tmp_path, report=True)
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_model_errors_raise_value_error_with_the_cli_message(cli, tmp_path):
    text = (ROOT / "models" / "korea_us_2025.toml").read_text()
    bad = text.replace("share = ", "share = 1.6 # ", 1)
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(ValueError) as e:
        tariffsim.Model.from_path(path)
    done = subprocess_validate(cli, path)
    message = str(e.value)
    assert message.startswith(f"{path}:") and "got 1.6" in message
    # The CLI prints the same file:line:col line (after `error: `, wrapped in a box).
    squash = lambda t: "".join(t.replace("│", " ").split())
    assert squash(f"error: {message.splitlines()[0]}") in squash(done)

    with pytest.raises(ValueError, match=r"bad\.toml:\d+:\d+: .*share"):
        tariffsim.Model.from_str(bad, name="bad.toml")
    m = tariffsim.Model.default()
    with pytest.raises(ValueError, match=r"override `sectors\.autos\.sigma=-4`: .*accepted: > 0"):
        m.with_overrides({"sectors.autos.sigma": -4})
    with pytest.raises(ValueError, match="unknown parameter path"):
        m.with_overrides({"sectors.nope.sigma": 3})
    with pytest.raises(ValueError, match="unknown sampler"):
        m.run(draws=10, sampler="halton")
    with pytest.raises(ValueError, match="draws: 0; accepted: at least 1"):
        m.run(draws=0)
    # A missing file is Python's FileNotFoundError (an OSError), naming the file.
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        tariffsim.Model.from_path(tmp_path / "missing.toml")


def subprocess_validate(cli, path):
    import subprocess

    done = subprocess.run([cli, "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    return done.stderr


def test_overrides_take_distributions_and_scenarios():
    m = tariffsim.Model.default()
    u = m.with_overrides({"sectors.autos.sigma": {"dist": "uniform", "low": 2, "high": 4}})
    one = m.with_overrides(
        {f"scenarios.{s}.probability": float(s == "no_deal") for s in m.scenarios}
    )
    r = one.run(draws=2048, seed=0)
    assert r.summary["scenarios"]["no_deal"]["frequency"] == 1.0
    def sigma(summary):
        # By path, not position: the model's parameter order changes as it gains parameters.
        return next(p for p in summary["parameters"] if p["path"] == "sectors.autos.sigma")

    assert sigma(u.run(draws=2048).summary)["distribution"].startswith("uniform")
    assert sigma(r.summary)["distribution"] != sigma(u.run(draws=2048).summary)["distribution"]
    assert m.validate()["ok"] and m.validate()["scenarios"] == 5


def test_sweep_is_long():
    m = tariffsim.Model.default()
    sw = m.sweep(vary={"sectors.autos.sigma": [2, 4, 6]}, draws=2048, seed=3)
    assert list(sw.columns) == ["sectors.autos.sigma", "output", "mean", "sd", "p5", "p50",
                                "p95", "es95", "p_stress"]
    headline = list(dict.fromkeys(sw.output))
    assert headline[0] == "export_loss" and set(headline) <= set(m.outputs)
    assert len(sw) == 3 * len(headline)
    loss = sw[sw.output == "export_loss"].set_index("sectors.autos.sigma")["mean"]
    assert list(loss.index) == [2.0, 4.0, 6.0]
    assert loss[2.0] != loss[6.0]  # the override reached the runs
    # A fixed sigma drops its correlation with auto_parts: the CLI's warning, kept on the frame.
    assert any("correlation" in w for w in sw.attrs["warnings"])
    # The sigma = 4 point is a plain run with that override.
    r = m.with_overrides({"sectors.autos.sigma": 4}).run(draws=2048, seed=3)
    assert loss[4.0] == r.summary["outputs"]["export_loss"]["mean"]


def test_sensitivity_frame():
    s = tariffsim.Model.default().sensitivity(samples=64, seed=0, bootstrap=20)
    assert {"output", "input", "kind", "first_order", "first_order_lo", "first_order_hi",
            "total", "total_lo", "total_hi"} <= set(s.columns)
    loss = s[s.output == "export_loss"]
    assert "scenario" in set(loss.input)
    assert set(s.kind) == {"parameter", "group"}
    assert s.attrs["sensitivity"]["samples"] == 64
    assert (loss.total_lo <= loss.total_hi).all()


def test_sensitivity_refuses_zero_bootstrap():
    # Issue 15 item 7's sibling: the CLI refuses --bootstrap 0; so does Python, before any work.
    with pytest.raises(ValueError, match="bootstrap = 0"):
        tariffsim.Model.default().sensitivity(samples=64, bootstrap=0)


def test_nan_statistics_are_nan():
    r = tariffsim.Model.default().run(draws=1, seed=0)
    assert r.summary["outputs"]["export_loss"]["sd"] is None
    assert math.isnan(r.quantiles.loc["export_loss", "sd"])


@pytest.mark.parametrize(
    "call",
    ["m.run(draws=200_000_000, seed=0)",
     "m.sweep(vary={'sectors.autos.sigma': [2, 4]}, draws=200_000_000, seed=0)"],
)
def test_ctrl_c_stops_a_run_and_a_sweep(call):
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import time, tariffsim\n"
        "m = tariffsim.Model.default()\n"
        "print('ready', flush=True)\n"
        "t = time.time()\n"
        "try:\n"
        f"    {call}\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted after %.1f s' % (time.time() - t), flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    sent = time.time()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert "interrupted" in out, out
    # 200 million draws take minutes; the run stopped within a few seconds of Ctrl-C.
    assert time.time() - sent < 10


def test_a_run_releases_the_gil():
    import threading
    import time

    m = tariffsim.Model.default()
    done = threading.Event()
    ticks = 0

    def work():
        m.run(draws=400_000, seed=0, threads=1)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    start = time.time()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    # With the GIL held for the whole run this loop could not tick while it lasts.
    assert time.time() - start > 0.2 and ticks > 50


OBSERVED = ROOT / "models" / "examples" / "observed" / "korea_us_2025_apr_may_vs_2024_mean.csv"


def test_backtest_equals_the_cli(cli, tmp_path):
    import subprocess

    out = tmp_path / "cli"
    done = subprocess.run(
        [cli, "backtest", "--quiet", "--observed", str(OBSERVED), "--draws", "20000",
         "--seed", "1", "--out", str(out)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    cli_backtest = json.loads((out / "backtest.json").read_text())
    cli_updated = json.loads((out / "updated" / "summary.json").read_text())

    m = tariffsim.Model.default()
    b = m.backtest(OBSERVED, draws=20_000, seed=1)
    assert b.backtest == cli_backtest
    assert b.updated is not None
    assert _without_elapsed(b.updated) == _without_elapsed(cli_updated)

    obs = b.observations
    assert list(obs.columns) == ["output", "label", "value", "sd", "pit", "crps", "mean",
                                 "q0.05", "q0.25", "q0.5", "q0.75", "q0.95"]
    assert len(obs) == len(cli_backtest["observations"]) == 2
    for (_, row), o in zip(obs.iterrows(), cli_backtest["observations"]):
        assert row["output"] == o["output"]
        assert row["pit"] == o["pit"] and row["crps"] == o["crps"]
        assert row["q0.5"] == o["quantiles"]["0.5"]

    # The same observations as a DataFrame give the same numbers.
    frame = pd.read_csv(OBSERVED, **EXACT)
    assert m.backtest(frame, draws=20_000, seed=1).backtest == cli_backtest

    # Without sd there is no update.
    none = m.backtest(frame.drop(columns=["sd"]), draws=2000, seed=1)
    assert none.updated is None
    assert len(none.observations) == 2


def test_backtest_bad_observations_raise_value_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("output,value\nexport_losss,1.0\n")
    m = tariffsim.Model.default()
    with pytest.raises(ValueError, match=r"bad\.csv:2:1: unknown output `export_losss`"):
        m.backtest(bad, draws=1000)
    frame = pd.DataFrame({"output": ["export_loss"], "value": ["x"]})
    with pytest.raises(ValueError, match=r"<DataFrame>:2:"):
        m.backtest(frame, draws=1000)
    far = pd.DataFrame({"output": ["export_loss"], "value": [1e9], "sd": [1e-6]})
    with pytest.raises(ValueError, match="underflows"):
        m.backtest(far, draws=1000)


def test_a_competitor_model_equals_the_cli_bit_for_bit(cli, tmp_path):
    """Named competitors and redirection (MODEL.md §10, §11) through the package: the same
    summary and draws as the CLI, with the competitor and net outputs among the columns."""
    path = ROOT / "tests" / "fixtures" / "competitors.toml"
    done = run_cli(cli, tmp_path / "cli", str(path), "--draws", "3000", "--seed", "6", "--save-draws")
    assert done.returncode == 0, done.stderr
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    m = tariffsim.Model.from_path(path)
    for name in ("net_export_loss", "net_export_loss_pct", "competitors.japan.export_loss",
                 "competitors.mexico.export_loss", "competitors.china.export_loss"):
        assert name in m.outputs, name
    r = m.run(draws=3000, seed=6, save_draws=True)
    assert _without_elapsed(r.summary) == _without_elapsed(cli_summary)
    csv = pd.read_csv(tmp_path / "cli" / "draws.csv", **EXACT)
    np.testing.assert_array_equal(
        r.draws["competitors.mexico.export_loss"].to_numpy(),
        csv["competitors.mexico.export_loss"].to_numpy(),
    )
    # Redirection: on average the net loss is below the loss in the importer's market.
    out = r.summary["outputs"]
    assert 0 < out["net_export_loss"]["mean"] < out["export_loss"]["mean"]
