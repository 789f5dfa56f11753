"""scripts/bench_generation.py runs end to end on a tiny model and reports consistent numbers."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("bench_generation")


def test_prompts_are_bandit_observations(bench):
    prompts = bench.bandit_prompts(num_envs=2, n_arms=3, history=2, seed=0)
    assert len(prompts) == 2 and prompts[0] != prompts[1]
    assert all("Step=1 Action=" in p and "ACTION=X" in p for p in prompts)


def test_main_reports_throughput(bench, tiny_llama, tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--model", str(tiny_llama), "--num-envs", "3", "--max-new-tokens", "3", "--history", "1"]
    results = bench.main([*argv, "--n-arms", "3", "--threads", "2", "--out", str(out)])
    assert json.loads(out.read_text()) == results
    # Greedy decoding of the same model: every way of running it produces the same tokens.
    assert results["greedy_agreement_vs_hf_loop"] == 1.0
    assert results["batched"]["tokens"] == results["hf_loop"]["tokens"] == results["policy_loop"]["tokens"]
    for key in ("batched", "hf_loop", "policy_loop"):
        assert results[key]["tokens_per_s"] == pytest.approx(results[key]["tokens"] / results[key]["seconds"])
    assert results["speedup_vs_hf_loop"] == pytest.approx(
        results["batched"]["tokens_per_s"] / results["hf_loop"]["tokens_per_s"]
    )
    assert "speed-up batched / per-env model.generate" in capsys.readouterr().out


def test_bad_arguments(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--num-envs", "0"])
    assert "--num-envs must be >= 1" in capsys.readouterr().err
