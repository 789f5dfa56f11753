"""scripts/bench_env.py runs (tiny settings) and reports one timing per horizon."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_env.py"


def test_bench_env_main(capsys):
    spec = importlib.util.spec_from_file_location("bench_env", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args(
        ["--horizons", "5", "60", "--history-window", "4", "--steps", "5", "--repeats", "2"]
    )
    results = bench.main(args)
    assert set(results) == {5, 60} and all(0 < s < 0.1 for s in results.values())
    assert "per-step time ratio horizon 60 / horizon 5" in capsys.readouterr().out
