"""Loading logs: layout, dense ids, validation with file/line/reason, duplicates, cache."""
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings

from livereplay.availability import Spans
from livereplay.cache import load_log
from livereplay.data import LoadReport, Log, default_data_path, read_csv
from livereplay.errors import LogFormatError
from tests.conftest import small_logs


def write(tmp_path, text, name="log.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sample_matches_the_seed_notebook_layout(sample_log):
    assert (sample_log.n_rows, sample_log.n_steps) == (52141, 6148)
    assert np.all(np.diff(sample_log.start) >= 0)
    assert np.all(sample_log.stop > sample_log.start)
    assert sample_log.report.duplicates == 0


def test_ids_are_dense_in_order_of_first_appearance_in_time(tmp_path):
    path = write(tmp_path, "zed,1,late,5,6\nann,2,early,1,3\nbob,3,late,1,2\nann,4,mid,3,4\n")
    log = read_csv(path)
    assert log.user_names.to_pylist() == ["ann", "bob", "zed"]  # start 1, 1 (file order), 5
    assert log.streamer_names.to_pylist() == ["early", "late", "mid"]
    assert log.stream_names.to_pylist() == ["2", "3", "4", "1"]
    assert log.user.tolist() == [0, 1, 0, 2]
    assert log.stream.tolist() == [0, 1, 2, 3]
    assert log.start.tolist() == [1, 1, 3, 5]


def test_header_line_and_string_ids_are_accepted(tmp_path):
    with_header = read_csv(write(tmp_path, "user,stream,streamer,start,stop\na,1,x,0,2\n", "h.csv"))
    without = read_csv(write(tmp_path, "a,1,x,0,2\n", "n.csv"))
    assert with_header.n_rows == without.n_rows == 1
    assert with_header.user_names.to_pylist() == ["a"]


@pytest.mark.parametrize("text,line,reason", [
    ("1,1,a,0,2\n1,2,b,x,4\n", 2, "non-integer time: start 'x'"),
    ("1,1,a,0,2\n1,2,b,3,4\n1,3,c,-1,4\n", 3, "negative time: start -1"),
    ("1,1,a,5,5\n", 1, "stop <= start: 5 <= 5"),
    ("1,1,a,0,2\n1,2,b,3,4,9\n", 2, "wrong number of fields: 6, expected 5"),
    ("1,1,a,0,2\n1,2,b,3\n", 2, "wrong number of fields: 4, expected 5"),
    ("1,1,a,0,2.5\n", 1, "non-integer time: stop '2.5'"),
    ("1,1,,0,2\n", 1, "empty streamer"),
])
def test_a_bad_row_names_file_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(LogFormatError) as error:
        read_csv(path)
    assert str(error.value) == f"{path}: line {line}: {reason}"


def test_line_numbers_count_the_header_and_blank_lines(tmp_path):
    path = write(tmp_path, "user,stream,streamer,start,stop\n1,1,a,0,2\n\n1,2,b,4,3\n")
    with pytest.raises(LogFormatError, match=r":4: stop <= start|line 4: stop <= start"):
        read_csv(path)


def test_skip_bad_rows_reports_counts_by_reason_and_keeps_the_rest(tmp_path):
    path = write(tmp_path, "1,1,a,0,2\n1,2,b,x,4\n1,3,c,5,4\n2,4,a,1,3\n1,5,d,y,9\n")
    log = read_csv(path, skip_bad_rows=True)
    assert log.n_rows == 2
    assert log.report.skipped == {"non-integer time": 2, "stop <= start": 1}


def test_exact_duplicates_are_dropped_and_counted_but_near_duplicates_kept(tmp_path):
    path = write(tmp_path, "1,7,a,0,2\n1,7,a,0,2\n1,8,a,0,2\n1,7,a,0,3\n2,7,a,0,2\n1,7,a,0,2\n")
    log = read_csv(path)
    assert log.report.duplicates == 2
    assert log.n_rows == 4


@pytest.mark.parametrize("text,message", [("", "empty file"), ("\n\n", "empty file")])
def test_empty_file_is_an_error(tmp_path, text, message):
    with pytest.raises(LogFormatError, match=message):
        read_csv(write(tmp_path, text))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(LogFormatError, match="no such file"):
        read_csv(tmp_path / "absent.csv")


def test_cached_log_is_identical_and_invalidated_when_the_file_changes(tmp_path, sample_log):
    path = write(tmp_path, "1,1,a,0,2\n2,2,b,1,3\n")
    cache = tmp_path / "cache"
    first = load_log(path, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1
    again = load_log(path, cache_dir=cache)
    for name in ("user", "stream", "streamer", "start", "stop"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    for name in ("user_names", "stream_names", "streamer_names"):
        assert getattr(again, name).to_pylist() == getattr(first, name).to_pylist()
    np.testing.assert_array_equal(again.live.streamers, first.live.streamers)
    assert "spans" in again.__dict__  # read from the entry, not rebuilt
    for field in fields(Spans):
        np.testing.assert_array_equal(getattr(again.spans, field.name),
                                      getattr(first.spans, field.name))
    write(tmp_path, "1,1,a,0,2\n2,2,b,1,3\n3,3,c,2,4\n")
    assert load_log(path, cache_dir=cache).n_rows == 3
    assert len(list(cache.iterdir())) == 2


def test_a_warm_open_maps_the_arrays_and_a_damaged_entry_is_parsed_again(tmp_path, sample_log):
    cache = tmp_path / "cache"
    load_log(default_data_path(), cache_dir=cache)
    warm = load_log(default_data_path(), cache_dir=cache)
    assert isinstance(warm.user, np.memmap) and isinstance(warm.live.offsets, np.memmap)
    entry, = cache.iterdir()
    with open(entry / "stop.npy", "r+b") as f:  # truncated by a crash or a full disk
        f.truncate(1000)
    with pytest.warns(UserWarning, match=r"ignoring unreadable cache entry .*stop.npy has 1000 "
                                         r"bytes, expected"):
        again = load_log(default_data_path(), cache_dir=cache)
    np.testing.assert_array_equal(again.stop, sample_log.stop)
    rewritten = load_log(default_data_path(), cache_dir=cache)  # the entry was written anew
    np.testing.assert_array_equal(rewritten.stop, sample_log.stop)


def test_two_processes_parsing_the_same_new_file_both_succeed_with_one_entry(tmp_path):
    path = write(tmp_path, "".join(f"{u},{u},s{u % 7},{u},{u + 3}\n" for u in range(2000)))
    script = ("import sys; from livereplay.cache import load_log; "
              "print(load_log(sys.argv[1], cache_dir=sys.argv[2]).n_rows)")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(tmp_path / "cache")],
                             stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert [run.communicate()[0].strip() for run in runs] == ["2000", "2000"]
    assert all(run.returncode == 0 for run in runs)
    entries = [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and not list((tmp_path / "cache").glob(".writing-*"))


@settings(max_examples=40, deadline=None)
@given(log=small_logs())
def test_from_columns_round_trips_through_csv(tmp_path_factory, log):
    path = tmp_path_factory.mktemp("rt") / "log.csv"
    rows = log.frame()
    names = {name: np.array(getattr(log, f"{name}_names").to_pylist())[rows[name]]
             for name in ("user", "stream", "streamer")}
    path.write_text("".join(f"{u},{i},{s},{a},{b}\n" for u, i, s, a, b in
                            zip(*names.values(), rows.start, rows.stop)))
    again = read_csv(path)
    for name in ("user", "stream", "streamer", "start", "stop"):
        np.testing.assert_array_equal(getattr(again, name), getattr(log, name))


def test_in_memory_columns_are_validated_by_row():
    with pytest.raises(LogFormatError, match="row 2: stop <= start: 1 <= 3"):
        Log.from_columns(["a", "b"], [1, 2], ["x", "y"], [0, 3], [2, 1])


def test_cut_and_subset_keep_the_streams(sample_log):
    cut = sample_log.cut(700)
    np.testing.assert_array_equal(cut.stream, sample_log.stream[: cut.n_rows])
    assert cut.n_streams == int(cut.stream.max()) + 1 < sample_log.n_streams
    assert cut.stream_names.to_pylist() == sample_log.stream_names[: cut.n_streams].to_pylist()
    keep = sample_log.user % 2 == 0
    np.testing.assert_array_equal(sample_log.subset(keep).stream, sample_log.stream[keep])


def same_log(a: Log, b: Log) -> None:
    for name in ("user", "stream", "streamer", "start", "stop"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("user_names", "stream_names", "streamer_names"):
        assert getattr(a, name).to_pylist() == getattr(b, name).to_pylist()
    assert a.report == b.report


def test_reading_in_small_chunks_gives_the_same_log(sample_log):
    """Chunk boundaries everywhere (ids first seen in a later chunk, the file out of time
    order) give exactly the one-chunk log."""
    same_log(read_csv(default_data_path(), chunk_bytes=4096), sample_log)


@pytest.mark.parametrize("chunk_bytes", [16, 40, 1 << 20])
def test_the_careful_reader_in_small_chunks_gives_the_same_log(tmp_path, chunk_bytes):
    text = ("user,stream,streamer,start,stop\n" "b,1,x,5,7\n" "a,2,y,1,3\n" "a,2,y,1,3\n"
            "bad row\n" "c,3,x,0,9\n" "b,1,x,5,6\n" "a,4,z,3,2\n" "d,5,y,4,8\n")
    log = read_csv(write(tmp_path, text), skip_bad_rows=True, chunk_bytes=chunk_bytes)
    same_log(log, read_csv(write(tmp_path, text), skip_bad_rows=True, chunk_bytes=1 << 30))
    assert log.user_names.to_pylist() == ["c", "a", "d", "b"]
    assert log.report == LoadReport(duplicates=1, skipped={"stop <= start": 1,
                                                           "wrong number of fields": 1})


@settings(max_examples=60, deadline=None)
@given(log=small_logs())
def test_seen_before_says_whether_the_pair_has_a_row_at_an_earlier_step(log):
    earlier = [bool(((log.user == u) & (log.streamer == s) & (log.start < t)).any())
               for u, s, t in zip(log.user, log.streamer, log.start)]
    assert log.seen_before.tolist() == earlier
