"""The plain way to get a log's statistics: pandas parses the CSV, numpy builds every step's
available set with one vectorised sort. The baseline `livereplay stats` is measured against.

    python benchmarks/plain_stats.py LOG.csv
"""
import sys

import numpy as np
import pandas as pd

data = pd.read_csv(sys.argv[1], names=["user", "stream", "streamer", "start", "stop"])
user = pd.factorize(data.user)[0]
streamer = pd.factorize(data.streamer)[0]
start, stop = data.start.to_numpy(), data.stop.to_numpy()
n_steps, n_streamers = int(stop.max()), int(streamer.max()) + 1
lengths = stop - start
rows = np.repeat(np.arange(len(data)), lengths)
steps = start[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
pairs = np.unique(steps * n_streamers + streamer[rows])
sizes = np.bincount(pairs // n_streamers, minlength=n_steps)
print("Num time periods:", n_steps)
print("Num users:", user.max() + 1)
print("Num streamers:", n_streamers)
print("Num interactions:", len(data))
print("Estimated watch time (hrs):", lengths.sum() * 10 / 60)
print("Available per step (mean, max):", sizes.mean(), sizes.max())
