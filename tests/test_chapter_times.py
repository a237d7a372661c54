"""The closing note of each chapter page: its notebook's recorded running time."""

from dolly_helpers.book.chapter_times import CSS_CLASS, chapter_time_html

TIMES = {"04_running-dolly.ipynb": 8.6, "10_make-your-own-tiny-dolly.ipynb": 100.5}


def test_a_chapter_gets_its_own_time():
    note = chapter_time_html("notebooks/04_running-dolly", TIMES)
    assert CSS_CLASS in note and "Time to run this chapter: 9 s with the tiny models" in note
    assert "href='../book/status.html'" in note


def test_long_times_read_in_minutes():
    assert "1.7 minutes" in chapter_time_html("notebooks/10_make-your-own-tiny-dolly", TIMES)


def test_other_pages_and_unrecorded_chapters_get_nothing():
    assert chapter_time_html("book/status", {"status.ipynb": 3.1}) == ""
    assert chapter_time_html("intro", TIMES) == ""
    assert chapter_time_html("notebooks/05_comparing-sizes", TIMES) == ""
