"""The loaders against generated files: each file loads to exactly the rows the reference
parser of benchmarks/fuzz_loaders.py accepts, or stops with a one-line LogFormatError naming
the file, the line and the reason. ``python benchmarks/fuzz_loaders.py`` runs many more."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_loaders import LOADERS, check, reference_csv
from livereplay.data import read_csv
from livereplay.errors import LogFormatError

#: files that each found a fault of the loader, kept so that it stays fixed
FOUND = [
    b"\xef\xbb\xbfuser,stream,streamer,start,stop\r\na,1,x,0,2\r\n",  # a header after a BOM
    b"\xef\xbb\xbf",                                    # a BOM alone: an empty file
    b"a,1,x,0,2\nb,1,y,0,0x10\n",                       # Arrow reads 0x10 as 16
    b"a,1,x,0,5_0\n",                                   # Python's int() reads 5_0 as 50
    b"a,1,x,0,\xd9\xa5\n",                              # ... and an Arabic-Indic 5 as 5
    b"a,1,x,0,3\x1c\n",                                 # ... and strips a separator
    b"  \nuser,stream,streamer,start,stop\na,1,x,0,2\n",  # a blank-looking first row
    b'a,1,x,0,2\n"b\nc",1,x,4,3\n',                     # a bad row over two lines: line 2
    b"a,1,x,0,2\n" + b"n" * 140_000 + b",1,x,0,2\nb,1,x,5,4\n",  # a long name, a bad row
]


#: files with a header that each found a fault of an importer (or of the schedule's reader)
FOUND_WITH_HEADER = [
    # a quote between the bytes of one character: the field's bytes are UTF-8 once unquoted
    ("import_events", b'item,"x y",duration,user, start \r"a","b",0,"\xf4\x8d\xbc"\xa8,",1699920000\r'),
    # Arrow's error for a row of 5 fields, or a byte not UTF-8, raised as it opens the file
    ("import_events", b"user,item,start,duration\na,x,0,5\nb,x,0,5,7\n"),
    ("import_events", b"user,item,start,duration,z\na,\xffx,0,5,1\n"),
    # a header alone without a line end, which Arrow cannot skip
    ("import_events", b"user,item,start,duration"),
    # lone CRs: the header was read to the first LF, so it held every line
    ("import_events", b"user,item,start,duration\ra,x,0,5\r"),
    # start + duration wrapped past int64: a row of one step, not an error
    ("import_events", b"user,item,start,duration\na,x,4611686018427387904,"
                      b"4611686018427387904\n"),
    # -2^63 called too large, and a too large value's line end in the error
    ("import_events", b"user,item,start,duration\na,x,-9223372036854775808,1\n"
                      b"b,x,9223372036854775808,1\n"),
    ("import_events", b'user,item,start,duration\na,x,0,"99999999999999999999\n"\n'),
    # a line separator (U+2028, NEL) of a header name in the error
    ("import_events", b"d\xe2\x80\xa8uration,user\n"),
    ("read_csv with a schedule beside", b"streamer,sta\xc2\x85rt\n"),
    # a first id that begins with U+FEFF, written first: read back as the file's BOM
    ("import_events", b"user,item,start,duration\n\xef\xbb\xbfa,x,0,5\n"),
]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.name)
@pytest.mark.parametrize("data", FOUND, ids=range(len(FOUND)))
def test_files_that_found_faults(tmp_path, loader, data):
    assert check(loader, data, tmp_path)[1] is None


@pytest.mark.parametrize("name,data", FOUND_WITH_HEADER, ids=range(len(FOUND_WITH_HEADER)))
def test_files_with_a_header_that_found_faults(tmp_path, name, data):
    loader = next(loader for loader in LOADERS if loader.name == name)
    assert check(loader, data, tmp_path)[1] is None


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.name)
@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_files_load_as_the_reference_reads_them_or_stop_in_one_line(
        tmp_path, loader, data):
    _, problem = check(loader, data.draw(loader.files, label="file"), tmp_path)
    assert problem is None, f"{loader.name}: {problem}"


@pytest.mark.parametrize("text,line,reason", [
    ("a,1,x,0,0x10\n", 1, "non-integer time: stop '0x10'"),
    ("a,1,x,0,2\nb,1,x,0,5_0\n", 2, "non-integer time: stop '5_0'"),
    ('a,1,x,0,2\n"b\nc",1,x,4,3\n', 2, "stop <= start: 3 <= 4"),
    ("  \nuser,stream,streamer,start,stop\n", 1, "wrong number of fields: 1, expected 5"),
])
def test_bad_rows_the_fuzzing_found_are_named(tmp_path, text, line, reason):
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode())
    with pytest.raises(LogFormatError) as error:
        read_csv(path)
    assert str(error.value) == f"{path}: line {line}: {reason}"


def test_a_byte_order_mark_is_not_part_of_the_header_or_the_first_name(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(b"\xef\xbb\xbfuser,stream,streamer,start,stop\nana,1,x,0,2\nben,1,y,0,1\n"
                     b"cleo,1,x,2,1\n")
    log = read_csv(path, skip_bad_rows=True)  # the bad row sends it to the careful reader
    assert log.user_names.to_pylist() == ["ana", "ben"]
    assert log.report.skipped == {"stop <= start": 1}


def test_the_reference_reads_quotes_line_ends_and_headers():
    expected = reference_csv(b'\xef\xbb\xbfUSER,stream,streamer,start,stop\r\n'
                             b'"a""b",1,"x\ny",0,2\r"a""b",1,"x\ny",0,2\n\nc,2,z, 3 ,04')
    assert expected.rows == [('a"b', "1", "x\ny", 0, 2), ("c", "2", "z", 3, 4)]
    assert expected.duplicates == 1
    assert reference_csv(b"a,1,x,0,2\n\nb,1,x,3,x\n").line == 3


def test_a_schedule_running_far_past_the_log_is_clipped_to_its_steps(tmp_path):
    (tmp_path / "log.csv").write_text("ana,1,x,0,2\n")
    (tmp_path / "log.schedule.csv").write_text("streamer,stream,start,stop\nx,1,0,2147483647\n"
                                               "y,2,5,9\n")
    schedule = read_csv(tmp_path / "log.csv").schedule
    assert (schedule.start.tolist(), schedule.stop.tolist(), schedule.n_steps) == ([0], [2], 2)
