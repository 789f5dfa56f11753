"""MovieLens-shaped data for the contextual bandit: a synthetic generator and an ml-100k loader.

Both paths produce a zero-filled user x movie rating matrix plus user demographics, and
:func:`build_bandit` turns it into the bandit the way BanditBench does: the ``n_arms`` most-rated
movies are the arms, the matrix is reduced by SVD to rank ``d``, a user's context is their row of
``U_d`` (the "true implicit preference" vector, entries ~ 1/sqrt(n_users), e.g. ``[-0.04, 0.02, ...]``)
and the expected reward of a movie is the reconstructed rating ``U_d[u] @ (S_d V_d^T)[:, movie]``.

The real MovieLens-100K cannot be downloaded here; pass ``data_dir`` pointing at a folder that holds
``u.data``, ``u.item`` and ``u.user`` (the GroupLens ml-100k files) to use it instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: ml-100k's occupations.
OCCUPATIONS: tuple[str, ...] = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
    "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip

#: Locations for synthetic users (US counties, as BanditBench phrases them).
LOCATIONS: tuple[str, ...] = (
    "Santa Clara county, CA", "Los Angeles county, CA", "King county, WA", "Cook county, IL",
    "Harris county, TX", "Maricopa county, AZ", "Kings county, NY", "Suffolk county, MA",
    "Travis county, TX", "Hennepin county, MN", "Fulton county, GA", "Denver county, CO",
    "Multnomah county, OR", "Orange county, FL", "Wayne county, MI", "Allegheny county, PA",
    "Dane county, WI", "Franklin county, OH", "Salt Lake county, UT", "Durham county, NC",
)  # fmt: skip

#: Titles for synthetic movies (well-known ml-100k era films), most popular first.
SYNTHETIC_TITLES: tuple[str, ...] = (
    "Star Wars (1977)", "Contact (1997)", "Fargo (1996)", "Return of the Jedi (1983)",
    "Liar Liar (1997)", "English Patient, The (1996)", "Scream (1996)", "Toy Story (1995)",
    "Air Force One (1997)", "Independence Day (ID4) (1996)", "Raiders of the Lost Ark (1981)",
    "Godfather, The (1972)", "Pulp Fiction (1994)", "Twelve Monkeys (1995)",
    "Silence of the Lambs, The (1991)", "Jerry Maguire (1996)", "Chasing Amy (1997)",
    "Rock, The (1996)", "Empire Strikes Back, The (1980)", "Star Trek: First Contact (1996)",
    "Back to the Future (1985)", "Titanic (1997)", "Mission: Impossible (1996)", "Fugitive, The (1993)",
    "Indiana Jones and the Last Crusade (1989)", "Willy Wonka and the Chocolate Factory (1971)",
    "Princess Bride, The (1987)", "Forrest Gump (1994)", "Saint, The (1997)",
    "Monty Python and the Holy Grail (1974)",
    "Full Monty, The (1997)", "Men in Black (1997)", "Terminator, The (1984)", "Dead Man Walking (1995)",
    "Leaving Las Vegas (1995)", "Schindler's List (1993)", "Braveheart (1995)", "Alien (1979)",
    "Terminator 2: Judgment Day (1991)", "E.T. the Extra-Terrestrial (1982)",
)  # fmt: skip


@dataclass(frozen=True)
class UserTable:
    """Demographics of the users, one entry per user row of the rating matrix."""

    age: np.ndarray  # (n_users,) int
    gender: tuple[str, ...]  # "M" / "F"
    occupation: tuple[str, ...]
    location: tuple[str, ...]  # "Santa Clara county, CA" or "zip code 94043"


@dataclass(frozen=True)
class MovieLensBandit:
    """The contextual bandit's fixed world: arms, their features, users and their contexts."""

    movie_names: tuple[str, ...]  # (k,) normalised titles, e.g. "star_wars_(1977)"
    arm_features: np.ndarray  # (k, d) rows of (S_d V_d^T)^T for the arm movies
    user_vectors: np.ndarray  # (n_users, d) rows of U_d: each user's preference vector
    users: UserTable
    expected_rewards: np.ndarray  # (n_users, k) = user_vectors @ arm_features.T

    def describe_user(self, u: int) -> str:
        """The BanditBench-style sentence for user ``u`` (context vector excluded)."""
        gender = "man" if self.users.gender[u] == "M" else "woman"
        return (
            f"This person is a {int(self.users.age[u])}-year-old {gender}, working as a "
            f"{self.users.occupation[u]} and live in {self.users.location[u]}."
        )


def normalise_title(title: str) -> str:
    """``"Star Wars (1977)"`` -> ``"star_wars_(1977)"``: lower case, other characters to ``_``."""
    name = re.sub(r"[^a-z0-9()]+", "_", title.strip().lower()).strip("_")
    if not name:
        raise ValueError(f"movie title {title!r} has no letters or digits")
    return name


def synthetic_ratings(n_users: int, seed: int, rank: int = 5) -> tuple[np.ndarray, list[str], UserTable]:
    """A MovieLens-shaped rating matrix (zero = unrated) over :data:`SYNTHETIC_TITLES`.

    Ratings are ``clip(round(3.5 + user bias + movie bias + u . v + noise), 1, 5)`` with rank-``rank``
    factors (N(0, 0.6^2) entries, so ``u . v`` has std ~ 0.8), biases N(0, 0.3^2) / N(0, 0.5^2) and
    noise N(0, 0.5^2). Movie j is rated by each user with probability ``0.9 / (1 + j / 4)``, so
    earlier titles are the most-rated (as in the real data). Demographics are drawn uniformly
    (age 18-70, gender, occupation, location). Deterministic in ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_movies = len(SYNTHETIC_TITLES)
    user_f = rng.normal(0.0, 0.6, size=(n_users, rank))  # (N, r)
    movie_f = rng.normal(0.0, 0.6, size=(n_movies, rank))  # (M, r)
    mean = 3.5 + rng.normal(0, 0.3, size=(n_users, 1)) + rng.normal(0, 0.5, size=(1, n_movies))
    ratings = np.clip(np.rint(mean + user_f @ movie_f.T + rng.normal(0, 0.5, size=(n_users, n_movies))), 1, 5)
    p_rated = 0.9 / (1.0 + np.arange(n_movies) / 4.0)  # (M,)
    ratings *= rng.random((n_users, n_movies)) < p_rated
    users = UserTable(
        age=rng.integers(18, 71, size=n_users),
        gender=tuple(rng.choice(["M", "F"], size=n_users).tolist()),
        occupation=tuple(rng.choice(OCCUPATIONS, size=n_users).tolist()),
        location=tuple(rng.choice(LOCATIONS, size=n_users).tolist()),
    )
    return ratings, list(SYNTHETIC_TITLES), users


def _read_lines(path: Path) -> list[str]:
    # ml-100k is latin-1 encoded (accented titles in u.item).
    return [line for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]


def load_movielens_100k(data_dir: str | Path) -> tuple[np.ndarray, list[str], UserTable]:
    """Read ml-100k's ``u.data`` (user, item, rating, time; tab separated), ``u.item`` and ``u.user``
    (``|`` separated) into a zero-filled rating matrix (users x movies), titles and demographics.

    Raises:
        FileNotFoundError: the folder or one of the three files is missing (names them).
        ValueError: a line cannot be parsed (names the file and line) or ids are out of range.
    """
    folder = Path(data_dir)
    missing = [name for name in ("u.data", "u.item", "u.user") if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"MovieLens-100K folder {str(folder)!r} lacks {', '.join(missing)} "
            "(expected the GroupLens ml-100k files u.data, u.item, u.user)"
        )
    ages, genders, occupations, locations = [], [], [], []
    for n, line in enumerate(_read_lines(folder / "u.user"), start=1):
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].isdigit() or int(parts[0]) != n or not parts[1].isdigit():
            raise ValueError(
                f"u.user line {n} is not 'id|age|gender|occupation|zip' with ids 1, 2, ...: {line!r}"
            )
        ages.append(int(parts[1]))
        genders.append("F" if parts[2].strip().upper() == "F" else "M")
        occupations.append(parts[3].strip())
        locations.append(f"zip code {parts[4].strip()}")
    titles = []
    for n, line in enumerate(_read_lines(folder / "u.item"), start=1):
        parts = line.split("|")
        if len(parts) < 2 or not parts[0].isdigit() or int(parts[0]) != n:
            raise ValueError(f"u.item line {n} is not 'id|title|...' with ids 1, 2, ...: {line!r}")
        titles.append(parts[1])
    ratings = np.zeros((len(ages), len(titles)))
    for n, line in enumerate(_read_lines(folder / "u.data"), start=1):
        parts = line.split()
        try:
            user, item, rating = int(parts[0]), int(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ValueError(f"u.data line {n} is not 'user item rating timestamp': {line!r}") from None
        if not (1 <= user <= len(ages) and 1 <= item <= len(titles) and 1 <= rating <= 5):
            raise ValueError(f"u.data line {n} has an unknown user/item id or a rating outside 1-5: {line!r}")
        ratings[user - 1, item - 1] = rating
    users = UserTable(np.array(ages), tuple(genders), tuple(occupations), tuple(locations))
    return ratings, titles, users


def build_bandit(
    ratings: np.ndarray, titles: list[str], users: UserTable, n_arms: int, rank: int
) -> MovieLensBandit:
    """Arms = the ``n_arms`` most-rated movies; contexts and rewards from a rank-``rank`` SVD."""
    n_users, n_movies = ratings.shape
    if n_arms > n_movies:
        raise ValueError(f"n_arms={n_arms} exceeds the {n_movies} movies in the data")
    if rank > min(n_users, n_movies):
        raise ValueError(f"rank={rank} exceeds min(n_users, n_movies) = {min(n_users, n_movies)}")
    counts = (ratings > 0).sum(axis=0)  # (M,)
    arms = np.argsort(-counts, kind="stable")[:n_arms]  # most rated first, ties by movie id
    u, s, vt = np.linalg.svd(ratings, full_matrices=False)  # (N, r), (r,), (r, M)
    u, s, vt = u[:, :rank], s[:rank], vt[:rank]
    # SVD signs are arbitrary; fix them so every platform shows the same context vectors.
    flip = np.sign(vt[np.arange(rank), np.argmax(np.abs(vt), axis=1)])
    u, vt = u * flip, vt * flip[:, None]
    arm_features = (s[:, None] * vt[:, arms]).T  # (k, d)
    names = tuple(normalise_title(titles[a]) for a in arms)
    if len(set(names)) != len(names):
        raise ValueError(f"the arm movies' normalised names are not distinct: {names}")
    for array in (u, arm_features):
        array.setflags(write=False)
    expected = u @ arm_features.T  # (N, k)
    expected.setflags(write=False)
    return MovieLensBandit(names, arm_features, u, users, expected)
