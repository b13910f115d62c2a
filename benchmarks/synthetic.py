"""A synthetic Twitch-sized log, for measuring speed where the real 100k file is not at hand.

Heavy-tailed streamer popularity, heavy-tailed user activity, half of each user's rows on a
personal favourite, intervals of about 3 steps: the shape of the 100k file, not its
behaviour. Use the simulator (`livereplay simulate`) for realistic synthetic data.

    python benchmarks/synthetic.py OUT.csv [--rows 3051733] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def synthetic_log(n_rows: int = 3_051_733, n_users: int = 100_000, n_streamers: int = 162_625,
                  n_steps: int = 6148, seed: int = 0) -> pd.DataFrame:
    """Rows ``user, stream, streamer, start, stop`` (streamer names as strings)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(n_streamers) + 10.0) ** 1.1
    popularity /= popularity.sum()
    activity = rng.lognormal(0.0, 1.2, n_users)
    user = rng.choice(n_users, size=n_rows, p=activity / activity.sum())
    favourite = rng.choice(n_streamers, size=n_users, p=popularity)
    streamer = np.where(rng.random(n_rows) < 0.5, favourite[user],
                        rng.choice(n_streamers, size=n_rows, p=popularity))
    start = rng.integers(0, n_steps - 1, n_rows)
    stop = np.minimum(start + rng.geometric(1 / 3.14, n_rows), n_steps)
    order = np.lexsort((start, user))
    return pd.DataFrame({
        "user": user[order] + 1,
        "stream": 30_000_000_000 + np.arange(n_rows),
        "streamer": pd.Series(streamer[order]).map("streamer{}".format),
        "start": start[order],
        "stop": stop[order],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=3_051_733)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    synthetic_log(args.rows, seed=args.seed).to_csv(args.out, header=False, index=False)


if __name__ == "__main__":
    main()
