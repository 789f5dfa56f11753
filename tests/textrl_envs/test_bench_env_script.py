"""scripts/bench_env.py runs (tiny settings) and reports one timing per horizon."""

from __future__ import annotations


def test_bench_env_main(capsys, load_script):
    bench = load_script("bench_env")
    args = bench.parse_args(
        ["--horizons", "5", "60", "--history-window", "4", "--steps", "5", "--repeats", "2"]
    )
    results = bench.main(args)
    assert set(results) == {5, 60} and all(0 < s < 0.1 for s in results.values())
    assert "per-step time ratio horizon 60 / horizon 5" in capsys.readouterr().out
