"""One PPO update on a tiny model: direction of change, frozen reference, non-finite skipping."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from accelerate import Accelerator
from transformers import AutoModelForCausalLM, AutoTokenizer

from agents.rlft.config import RLFTConfig
from agents.rlft.optim import lr_factor, make_optimizer, make_scheduler
from agents.rlft.packing import collate, pack_turns
from agents.rlft.rollout import Episode, exploration_bonus, rollout_metrics
from agents.rlft.update import ppo_update
from agents.rlft.value_head import PolicyWithValue, forward_any, packed_forward


def one_turn_episode(prompt, completion, reward):
    ep = Episode(
        seed=0,
        prompt_ids=[prompt],
        completion_ids=[completion],
        texts=["x"],
        rewards=[reward],
        bonuses=[0.0],
        env_rewards=[reward],
        regrets=[0.0],
        actions=[0],
        valid=[True],
        n_actions=2,
    )
    return ep


def answer_logprob(lm, prompt, completion):
    batch = collate(pack_turns([prompt], [completion]))
    with torch.no_grad():
        return float(packed_forward(lm, batch)[0].sum())


def setup(folder, **overrides):
    lm = AutoModelForCausalLM.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    cfg = RLFTConfig(learning_rate=1e-2, warmup_steps=0, total_updates=1, **overrides)
    module = PolicyWithValue(lm, with_value_head=cfg.resolved_advantage == "gae")
    opt = make_optimizer(module, cfg)
    sched = make_scheduler(opt, cfg, steps_per_update=cfg.epochs * cfg.num_minibatches)
    acc = Accelerator(cpu=True)
    model, opt = acc.prepare(module, opt)
    return lm, tok, cfg, model, opt, sched, acc


@pytest.mark.parametrize(("advantage", "packing"), [("mc", "tree"), ("gae", "tree"), ("grpo", "mask")])
def test_update_moves_good_answer_up_bad_down_and_keeps_reference(tiny_llama, advantage, packing):
    lm, tok, cfg, model, opt, sched, acc = setup(tiny_llama, advantage=advantage, epochs=2, packing=packing)
    reference = copy.deepcopy(lm).requires_grad_(False)
    before_ref = {k: v.clone() for k, v in reference.state_dict().items()}
    prompt = tok("Which button? ")["input_ids"]
    good, bad = (
        tok("ACTION=red", add_special_tokens=False)["input_ids"],
        tok("ACTION=blue", add_special_tokens=False)["input_ids"],
    )
    episodes = [one_turn_episode(prompt, good, 1.0), one_turn_episode(prompt, bad, -1.0)] * 2
    p_good, p_bad = answer_logprob(lm, prompt, good), answer_logprob(lm, prompt, bad)
    metrics = ppo_update(
        model,
        lambda b: forward_any(reference, b)[0],
        episodes,
        cfg,
        opt,
        sched,
        acc,
        pad_id=tok.pad_token_id,
        generator=torch.Generator().manual_seed(0),
    )
    assert answer_logprob(lm, prompt, good) > p_good + 0.1
    assert answer_logprob(lm, prompt, bad) < p_bad - 0.1
    for k, v in reference.state_dict().items():
        assert torch.equal(v, before_ref[k]), f"reference parameter {k} changed"
    assert metrics["train/optimizer_steps"] == 2 and metrics["train/skipped_steps"] == 0
    assert metrics["objective/kl"] >= 0 and metrics["policy/clipfrac_avg"] >= 0
    if advantage == "gae":
        assert metrics["loss/value_avg"] > 0


def test_nonfinite_loss_skips_the_step(tiny_llama):
    lm, tok, cfg, model, opt, sched, acc = setup(tiny_llama, normalize_advantages=False)
    before = {k: v.clone() for k, v in lm.state_dict().items()}
    prompt, answer = tok("hi")["input_ids"], tok("ACTION=red", add_special_tokens=False)["input_ids"]
    episodes = [one_turn_episode(prompt, answer, math.nan), one_turn_episode(prompt, answer, 1.0)]
    metrics = ppo_update(model, None, episodes, cfg, opt, sched, acc, pad_id=0, generator=torch.Generator())
    assert metrics["train/skipped_steps"] == 1 and metrics["train/optimizer_steps"] == 0
    for k, v in lm.state_dict().items():
        assert torch.equal(v, before[k])


def _lrs(make, steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs, sched


def test_lr_schedule_warmup_then_cosine():
    """Warm-up 4 of 12 optimizer steps, lr 1.0, floor 0.01: values computed by hand."""
    cfg = RLFTConfig(learning_rate=1.0, min_learning_rate=0.01, warmup_steps=4, total_updates=6)
    lrs, sched = _lrs(lambda opt: make_scheduler(opt, cfg, steps_per_update=2), 12)
    cosine = [0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * k / 8)) for k in range(8)]
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, *cosine])
    assert lrs[8] == pytest.approx(0.01 + 0.99 * 0.5)  # half way through the decay
    assert lr_factor(12, 4, 12, 0.01) == pytest.approx(0.01)  # the floor, one step after the last
    # the state survives a checkpoint: a new scheduler loaded from it continues at the same place
    fresh = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    again = make_scheduler(fresh, cfg, steps_per_update=2)
    again.load_state_dict(sched.state_dict())
    assert again.get_last_lr() == sched.get_last_lr()


def test_transformers_schedules_would_lose_steps():
    """Issue 15 asked to use transformers' cosine-with-floor schedule where nothing is lost. Both of
    its variants lose something here, so the hand-written schedule stays (agents/rlft/optim.py)."""
    transformers_optimization = pytest.importorskip("transformers.optimization")
    one_warmup = RLFTConfig(learning_rate=1.0, min_learning_rate=0.01, warmup_steps=1, total_updates=4)
    ours, _ = _lrs(lambda opt: make_scheduler(opt, one_warmup, steps_per_update=1), 4)
    plain, _ = _lrs(lambda opt: transformers_optimization.get_cosine_with_min_lr_schedule_with_warmup(
        opt, 1, 4, min_lr_rate=0.01), 4)
    assert ours[0] == 1.0 and plain[0] == 0.0  # its warm-up starts at 0: the first step does nothing
    lr_rate = getattr(transformers_optimization, "get_cosine_with_min_lr_schedule_with_warmup_lr_rate", None)
    if lr_rate is None:  # transformers < 4.54
        return
    no_warmup = RLFTConfig(learning_rate=1.0, min_learning_rate=0.01, warmup_steps=0, total_updates=1)
    ours, _ = _lrs(lambda opt: make_scheduler(opt, no_warmup, steps_per_update=1), 1)
    shifted, _ = _lrs(lambda opt: lr_rate(opt, 0, 1, min_lr_rate=0.01), 1)
    assert ours == [1.0] and shifted == pytest.approx([0.01])  # a one-step run would train at the floor


def test_exploration_bonus_and_rollout_metrics():
    ep = Episode(seed=0)
    info = {
        "action_index": 1,
        "valid_action": True,
        "env_reward": 0.5,
        "regret": 0.2,
        "action_names": ["a", "b", "c"],
    }
    assert exploration_bonus(ep, info, 1.0) == 1.0
    ep.add_turn([1], [2], "ACTION=b", 0.5, info, 1.0)
    assert exploration_bonus(ep, info, 1.0) == 0.0  # tried before
    assert exploration_bonus(ep, {**info, "action_index": 2, "valid_action": False}, 1.0) == 0.0
    # bonus_steps 2: turn 1 (one action played so far) still pays, turn 2 no longer
    untried = {**info, "action_index": 2}
    assert exploration_bonus(ep, untried, 1.0, 2) == 1.0 and exploration_bonus(ep, untried, 1.0, 1) == 0.0
    ep.add_turn(
        [1], [2], "zzz", -4.5, {**info, "valid_action": False, "action_index": 0, "env_reward": 0.0}, 0.0
    )
    m = rollout_metrics([ep])
    assert m["env/return"] == pytest.approx(-4.0) and m["env/cumulative_regret"] == pytest.approx(0.4)
    assert m["env/coverage"] == pytest.approx(2 / 3) and m["env/invalid_action_rate"] == 0.5
    assert m["env/greedy_fraction"] == 0.0  # step 1 chose an untried arm (exploration, not greedy)
    with pytest.raises(ValueError, match="at least one episode"):
        rollout_metrics([])


def test_old_logprobs_from_the_rollout_replace_the_old_pass(tiny_llama):
    """With two epochs the old log-probs are needed; the rollout recorded them (fp32, T = 1), so the
    update takes them instead of a forward pass and ends with the same weights as with the pass."""
    import gymnasium as gym

    import textrl_envs  # noqa: F401
    from agents.llm import LLMPolicy
    from agents.rlft.rollout import collect_rollout

    finals, flags = [], []
    for keep_rollout_logprobs in (True, False):
        lm, tok, cfg, model, opt, sched, acc = setup(tiny_llama, epochs=2, kl_coef=0.0)
        policy = LLMPolicy(lm, tok, max_new_tokens=6)
        envs = [gym.make("TextBandit-v0", n_arms=3, horizon=3, cot=False) for _ in range(2)]
        episodes = collect_rollout(policy, envs, [[5], [6]], sample_seed=0, temperature=1.0)
        if not keep_rollout_logprobs:
            for e in episodes:
                e.logprobs = []
        metrics = ppo_update(
            model, None, episodes, cfg, opt, sched, acc, pad_id=0, generator=torch.Generator().manual_seed(0)
        )
        flags.append(metrics["train/old_logprobs_from_rollout"])
        finals.append({k: v.clone() for k, v in lm.state_dict().items()})
    assert flags == [1.0, 0.0]
    for k, v in finals[0].items():
        torch.testing.assert_close(v, finals[1][k], atol=1e-4, rtol=1e-3)  # float noise through Adam


def test_training_reward_regret_signal_by_hand():
    from agents.rlft.rollout import training_reward

    info = {"regret": 0.3, "env_reward": 1.7, "valid_action": True}
    assert training_reward(0.85, info, "env") == 0.85  # the env's reward as returned
    assert training_reward(0.85, info, "regret", reward_scale=2.0) == pytest.approx(-0.15)  # -0.3 / 2
    # invalid: the env returned 1.7 / 2 - 5 = -4.15; the penalty stays, the noisy reward goes
    invalid = {**info, "valid_action": False}
    assert training_reward(-4.15, invalid, "regret", reward_scale=2.0) == pytest.approx(-0.15 - 5.0)
    with pytest.raises(ValueError, match="finite 'regret'"):
        training_reward(1.0, {"env_reward": 1.0}, "regret")
    with pytest.raises(ValueError, match="'env' or 'regret'"):
        training_reward(1.0, info, "return")


def test_regret_signal_rollout_trains_on_minus_regret(tiny_llama):
    """A rollout with reward_signal='regret' keeps the env's rewards for the metrics and stores
    -regret (+ the -5 penalty on an invalid turn) as what the update trains on."""
    import gymnasium as gym

    import textrl_envs  # noqa: F401
    from agents.llm import LLMPolicy
    from agents.rlft.rollout import collect_rollout

    lm, tok, *_ = setup(tiny_llama)
    policy = LLMPolicy(lm, tok, max_new_tokens=6)
    envs = [gym.make("TextBandit-v0", n_arms=3, horizon=4, cot=False, noise="high") for _ in range(2)]
    scale = envs[0].unwrapped.reward_scale
    assert scale > 1  # high noise: a scale that the signal must divide by too
    episodes = collect_rollout(policy, envs, [[5], [6]], sample_seed=0, reward_signal="regret")
    for e in episodes:
        penalty = [0.0 if v else -5.0 for v in e.valid]
        env_signal = [r / scale + p for r, p in zip(e.env_rewards, penalty, strict=True)]
        regret_signal = [-g / scale + p for g, p in zip(e.regrets, penalty, strict=True)]
        assert e.rewards == pytest.approx(env_signal) and e.train_rewards == pytest.approx(regret_signal)
    ttt = [gym.make("TextTicTacToe-v0") for _ in range(1)]
    (game,) = collect_rollout(policy, ttt, [[0]], sample_seed=0, reward_signal="regret")
    assert all(t <= 0.0 for t in game.train_rewards)  # minimax regret is never negative
    with pytest.raises(ValueError, match="'env' or 'regret'"):
        collect_rollout(policy, envs, [[5], [6]], sample_seed=0, reward_signal="bogus")


def test_config_rejects_an_unknown_reward_signal():
    from agents.rlft import RLFTConfig

    assert RLFTConfig(reward_signal="regret").reward_signal == "regret"
    with pytest.raises(ValueError, match="reward_signal"):
        RLFTConfig(reward_signal="regrets")


def test_group_size_replays_seeds_and_baselines_within_each_group():
    from agents.rlft import RLFTConfig
    from agents.rlft.trainer import _train_seeds
    from agents.rlft.update import compute_advantages

    cfg = RLFTConfig(num_envs=4, group_size=2, episodes_per_env=2, normalize_advantages=False, advantage="mc")
    seeds = _train_seeds(cfg, update=3, rank=0, world=1)
    assert seeds[0] == seeds[1] and seeds[2] == seeds[3] and set(seeds[0]).isdisjoint(seeds[2])
    later = _train_seeds(cfg, update=4, rank=0, world=1)
    assert {s for slot in seeds for s in slot}.isdisjoint(s for slot in later for s in slot)
    first = seeds[0][0] - 3 * 8  # update 3 starts 3 blocks of 4 slots x 2 episodes in
    assert _train_seeds(RLFTConfig(num_envs=4), 0, 0, 1) == [[first + i] for i in range(4)]  # no groups

    # two groups of two one-turn episodes: returns (1, 3) on seed 7 and (10, 20) on seed 8
    episodes = [Episode(seed=s, rewards=[r]) for s, r in ((7, 1.0), (7, 3.0), (8, 10.0), (8, 20.0))]
    rewards = torch.tensor([1.0, 3.0, 10.0, 20.0])
    adv, _ = compute_advantages(episodes, rewards, None, cfg)
    assert adv.tolist() == [-1.0, 1.0, -5.0, 5.0]  # each minus its own group's mean (2 and 15)
    flat = RLFTConfig(num_envs=4, normalize_advantages=False, advantage="mc")
    assert compute_advantages(episodes, rewards, None, flat)[0].tolist() == [-7.5, -5.5, 1.5, 11.5]
    with pytest.raises(ValueError, match="must divide num_envs"):
        RLFTConfig(num_envs=6, group_size=4)
    with pytest.raises(ValueError, match="advantage mc, loo or grpo"):
        RLFTConfig(num_envs=4, group_size=2, advantage="gae")
