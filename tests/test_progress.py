"""translate.progress: in a log (not a terminal) a bar is a few plain lines, never carriage-return redraws."""
import io

from translate.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    log = io.StringIO()
    with progress_bar(2000, desc="detect", unit="file", stream=log) as bar:
        for _ in range(2000):
            bar.update(1)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) < 100 for line in lines), lines  # (maybe one), end
    assert lines[-1].startswith("detect: 2000/2000")


def test_a_bar_that_never_moved_prints_nothing_so_an_error_stands_alone():
    log = io.StringIO()
    try:
        with progress_bar(desc="faces", unit="frame", stream=log):
            raise ValueError("the input does not exist")
    except ValueError:
        pass
    assert log.getvalue() == ""
    with progress_bar(desc="faces", iterable=range(3), stream=log) as bar:
        list(bar)
    assert log.getvalue().startswith("faces: 3/3")  # an iterable's length is its total


def test_terminal_redraws_and_quiet_is_silent():
    tty, quiet = Terminal(), io.StringIO()
    with progress_bar(50, desc="apply", stream=tty) as bar:
        for _ in range(50):
            bar.update(1)
    assert "\r" in tty.getvalue() and "50/50" in tty.getvalue()
    with progress_bar(50, desc="apply", quiet=True, stream=quiet) as bar:
        bar.update(50)
        bar.set_postfix({"loss": 1.0})
    assert quiet.getvalue() == ""
    assert list(progress_bar(3, quiet=True, iterable=iter("abc"))) == ["a", "b", "c"]  # wraps an iterable too
