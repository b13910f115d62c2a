import numpy as np
import pytest
from hypothesis import strategies as st

from livereplay.data import Log, read_csv, default_data_path


@pytest.fixture(scope="session")
def sample_log() -> Log:
    """The embedded real Twitch sample."""
    return read_csv(default_data_path())


@st.composite
def small_logs(draw, max_rows: int = 40, max_users: int = 6, max_streamers: int = 7,
               max_step: int = 14, max_streams: int = 3) -> Log:
    """Small random logs in the data model: overlapping intervals, repeats, shared channels,
    broadcasts of several rows (a few stream ids, the same ids on every streamer)."""
    n = draw(st.integers(1, max_rows))
    users = draw(st.lists(st.integers(0, max_users - 1), min_size=n, max_size=n))
    streams = draw(st.lists(st.integers(0, max_streams - 1), min_size=n, max_size=n))
    streamers = draw(st.lists(st.integers(0, max_streamers - 1), min_size=n, max_size=n))
    starts = draw(st.lists(st.integers(0, max_step - 1), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    return Log.from_columns([f"u{u}" for u in users], np.array(streams),
                            [f"s{s}" for s in streamers],
                            np.array(starts), np.array(starts) + np.array(lengths))
