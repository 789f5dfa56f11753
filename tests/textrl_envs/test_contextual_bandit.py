"""TextContextualBandit-v0 and the MovieLens data: loader fixture, SVD rewards, regret, prompt."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import textrl_envs  # noqa: F401
from textrl_envs.contextual_bandit import TextContextualBanditEnv
from textrl_envs.contextual_text import format_vector, render_contextual_prompt
from textrl_envs.movielens import build_bandit, load_movielens_100k, normalise_title, synthetic_ratings

# A tiny ml-100k: 6 users x 5 movies; 0 = unrated. Column rating counts: 5, 3, 4, 2, 1.
RATINGS = np.array(
    [
        [5, 3, 4, 0, 0],
        [4, 0, 4, 1, 0],
        [1, 5, 0, 0, 2],
        [2, 4, 5, 0, 0],
        [5, 0, 1, 3, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=float,
)
TITLES = [
    "Toy Story (1995)",
    "GoldenEye (1995)",
    "Four Rooms (1995)",
    "Café au lait (1993)",
    "Copycat (1995)",
]
USERS = [
    (24, "M", "technician", "85711"),
    (53, "F", "other", "94043"),
    (23, "M", "writer", "32067"),
    (24, "M", "technician", "43537"),
    (33, "F", "other", "15213"),
    (42, "M", "executive", "98101"),
]


@pytest.fixture
def ml100k(tmp_path):
    """Write the fixture in the ml-100k formats (latin-1, '|' and tab separated)."""
    (tmp_path / "u.user").write_text(
        "".join(f"{i}|{a}|{g}|{o}|{z}\n" for i, (a, g, o, z) in enumerate(USERS, start=1)), encoding="latin-1"
    )
    (tmp_path / "u.item").write_text(
        "".join(
            f"{i}|{t}|01-Jan-1995||http://example.org/{i}|0|0|1\n" for i, t in enumerate(TITLES, start=1)
        ),
        encoding="latin-1",
    )
    rows = [
        f"{u + 1}\t{m + 1}\t{int(RATINGS[u, m])}\t88125{u}{m}\n"
        for u, m in zip(*np.nonzero(RATINGS), strict=True)
    ]
    (tmp_path / "u.data").write_text("".join(rows[::-1]), encoding="latin-1")  # order must not matter
    return tmp_path


def test_loader_reads_fixture(ml100k):
    ratings, titles, users = load_movielens_100k(ml100k)
    np.testing.assert_array_equal(ratings, RATINGS)
    assert titles == TITLES
    assert users.age.tolist() == [u[0] for u in USERS]
    assert (
        users.location[1] == "zip code 94043"
        and users.gender[1] == "F"
        and users.occupation[5] == "executive"
    )


def test_bandit_from_fixture_matches_hand_svd(ml100k):
    ratings, titles, users = load_movielens_100k(ml100k)
    bandit = build_bandit(ratings, titles, users, n_arms=3, rank=2)
    # Most rated first: Toy Story (5 ratings), Four Rooms (4), GoldenEye (3).
    assert bandit.movie_names == ("toy_story_(1995)", "four_rooms_(1995)", "goldeneye_(1995)")
    u, s, vt = np.linalg.svd(RATINGS, full_matrices=False)
    low_rank = (u[:, :2] * s[:2]) @ vt[:2]  # (6, 5), sign-free reconstruction
    np.testing.assert_allclose(bandit.expected_rewards, low_rank[:, [0, 2, 1]], atol=1e-10)
    np.testing.assert_allclose(bandit.user_vectors.T @ bandit.user_vectors, np.eye(2), atol=1e-10)
    full = build_bandit(ratings, titles, users, n_arms=5, rank=5)  # full rank: exact ratings back
    np.testing.assert_allclose(full.expected_rewards, RATINGS[:, [0, 2, 1, 3, 4]], atol=1e-10)
    assert full.movie_names[3] == "caf_au_lait_(1993)"  # non-ASCII folded into "_"


def test_env_on_fixture_regret_and_context(ml100k):
    env = TextContextualBanditEnv(data_dir=str(ml100k), n_arms=3, rank=2, horizon=30)
    obs, info = env.reset(seed=0)
    u, s, vt = np.linalg.svd(RATINGS, full_matrices=False)
    low_rank = ((u[:, :2] * s[:2]) @ vt[:2])[:, [0, 2, 1]]
    total = 0.0
    for t in range(30):
        user = info["user_index"]
        age, gender, occupation, zipcode = USERS[user]
        person = "man" if gender == "M" else "woman"
        sentence = f"This person is a {age}-year-old {person}, working as a {occupation} and live in"
        assert f"{sentence} zip code {zipcode}." in obs
        assert obs.endswith("ACTION=X") and format_vector(info["context"]) in obs
        np.testing.assert_allclose(info["expected_rewards"], low_rank[user])
        expected = info["expected_rewards"]
        text = ["ACTION=toy_story_(1995)", "ACTION=Four_Rooms_(1995).", "pass"][t % 3]
        obs, reward, terminated, _, info = env.step(text)
        arm = info["action_index"]
        if t % 3 < 2:
            assert arm == t % 3 and info["valid_action"]
        assert info["env_reward"] == pytest.approx(expected[arm])
        assert info["regret"] == pytest.approx(expected.max() - expected[arm])
        assert info["optimal_action"] == int(np.argmax(expected))
        assert reward == pytest.approx(expected[arm] + (0.0 if t % 3 < 2 else -5.0))
        total += expected.max() - expected[arm]
        assert terminated is (t == 29)
    assert total >= 0


def test_synthetic_world_shape_and_determinism():
    env = TextContextualBanditEnv(n_arms=20)
    names = env.action_names
    assert names[0] == "star_wars_(1977)" and len(set(names)) == 20
    assert all(re.fullmatch(r"[a-z0-9_()]+", n) for n in names)
    _, info = env.reset(seed=1)
    assert info["context"].shape == (5,) and info["arm_features"].shape == (20, 5)
    np.testing.assert_allclose(info["expected_rewards"], info["arm_features"] @ info["context"])  # linear
    assert np.abs(info["context"]).max() < 0.5  # U rows: entries ~ 1/sqrt(943)
    r1, _, _ = synthetic_ratings(50, seed=3)
    r2, _, _ = synthetic_ratings(50, seed=3)
    np.testing.assert_array_equal(r1, r2)
    assert set(np.unique(r1)) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    counts = (r1 > 0).sum(axis=0)
    assert counts[:5].mean() > counts[-5:].mean()  # early titles are the most rated


def test_reward_noise_is_gaussian():
    env = TextContextualBanditEnv(n_arms=5, horizon=3000, history_window=1, reward_noise=0.5)
    _, info = env.reset(seed=2)
    residuals = []
    for _ in range(3000):
        expected = info["expected_rewards"]
        _, _, _, _, info = env.step("ACTION=star_wars_(1977)")
        residuals.append(info["env_reward"] - expected[0])
    residuals = np.array(residuals)
    assert abs(residuals.mean()) < 5 * 0.5 / np.sqrt(3000)
    assert abs(residuals.std(ddof=1) / 0.5 - 1) < 5 / np.sqrt(6000)


@pytest.mark.parametrize("options", [{}, {"history_window": 2, "cot": False}])
def test_incremental_rendering_equals_pure_renderer(options):
    env = TextContextualBanditEnv(n_arms=5, horizon=8, **options)
    obs, info = env.reset(seed=5)
    data = env.data
    history = []

    def expected_obs(info):
        user = info["user_index"]
        return render_contextual_prompt(
            env.action_names, history, data.describe_user(user), data.user_vectors[user], horizon=8, **options
        )

    assert obs == expected_obs(info)
    for t in range(8):
        vector = info["context"]
        obs, _, _, _, info = env.step(f"ACTION={env.action_names[t % 5]}" if t != 3 else "??")
        history.append((vector, info["action_index"], info["env_reward"]))
        assert obs == expected_obs(info)
    assert "Step=0 User=[" in render_contextual_prompt(["a", "b"], [([0.1], 1, 2.5)], "Someone.", [0.0])


def test_format_vector_matches_spec_style():
    assert format_vector([-0.04, 0.02, -0.021, -0.001, 0.018]) == "[-0.04, 0.02, -0.02, -0.0, 0.02]"


def _write(folder, name, text):
    (folder / name).write_text(text, encoding="latin-1")


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("u.data", "1\t1\t5\t0\nnot a line\n", "u.data line 2 is not 'user item rating timestamp'"),
        ("u.data", "1\t1\t7\t0\n", "u.data line 1 has an unknown user/item id or a rating outside 1-5"),
        ("u.data", "99\t1\t3\t0\n", "u.data line 1 has an unknown user/item id"),
        ("u.user", "1|24|M|technician|85711\n3|20|F|artist|1\n", "u.user line 2 is not"),
        ("u.item", "x|Toy Story (1995)\n", "u.item line 1 is not 'id|title"),
    ],
)
def test_loader_parse_errors(ml100k, name, text, match):
    _write(ml100k, name, text)
    with pytest.raises(ValueError, match=re.escape(match)):
        load_movielens_100k(ml100k)


def test_loader_missing_files(tmp_path):
    _write(tmp_path, "u.item", "1|A (1990)\n")
    with pytest.raises(FileNotFoundError, match="lacks u.data, u.user"):
        load_movielens_100k(tmp_path)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: build_bandit(RATINGS, TITLES, None, n_arms=6, rank=2),
            ValueError,
            "n_arms=6 exceeds the 5 movies",
        ),
        (lambda: build_bandit(RATINGS, TITLES, None, n_arms=3, rank=6), ValueError, "rank=6 exceeds"),
        (lambda: normalise_title("!!!"), ValueError, "has no letters or digits"),
        (
            lambda: gym.make("TextContextualBandit-v0", n_arms=41),
            ValueError,
            "n_arms=41 exceeds the 40 movies",
        ),
        (
            lambda: gym.make("TextContextualBandit-v0", reward_noise=-1.0),
            ValueError,
            "reward_noise must be >= 0",
        ),
        (lambda: gym.make("TextContextualBandit-v0", rank=0), ValueError, "rank must be an integer >= 1"),
        (lambda: gym.make("TextContextualBandit-v0", n_users="many"), TypeError, "n_users must be an int"),
        (
            lambda: gym.make("TextContextualBandit-v0", data_dir="/nonexistent/ml-100k"),
            FileNotFoundError,
            "lacks u.data, u.item, u.user",
        ),
        (
            lambda: render_contextual_prompt(["a"], [([0.0], 1, 1.0)], "x", [0.0]),
            ValueError,
            r"history\[0\] has action index 1, allowed 0..0",
        ),
        (
            lambda: render_contextual_prompt(["a"], [], "x", [0.0], history_window=-1),
            ValueError,
            "history_window must be None",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
