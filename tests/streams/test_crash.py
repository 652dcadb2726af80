"""A crashed worker's last log line names the exception and where it was raised."""

from __future__ import annotations

import logging
from pathlib import Path

from services.up.exceptions import PartExitedError, last_words_in
from streams.crash import LAST_WORDS_PREFIX, CrashRecorder, last_words


def _write_table_from_a_timer() -> None:
    raise TypeError("Cannot modify table key from outside of stream iteration")


def _crash_record(message: str) -> logging.LogRecord:
    try:
        _write_table_from_a_timer()
    except TypeError as error:
        return logging.LogRecord(
            "mode", logging.ERROR, __file__, 1, message, (error,), (TypeError, error, None)
        )


def test_recorder_when_several_crashes_then_keeps_the_first() -> None:
    recorder = CrashRecorder()
    first, second = _crash_record("[^-App]: Crashed reason=%r"), _crash_record("Crashed reason=%r")
    for record in (logging.LogRecord("x", logging.ERROR, "f", 1, "other", (), None), first, second):
        recorder.emit(record)
    assert recorder.first is first


def test_last_words_when_crash_raised_here_then_names_exception_and_place() -> None:
    record = _crash_record("Crashed reason=%r")
    error = record.exc_info[1] if record.exc_info else None
    assert error is not None
    record.exc_info = (TypeError, error, error.__traceback__)
    words = last_words(record)
    assert words.startswith(f"{LAST_WORDS_PREFIX} TypeError: Cannot modify table key")
    assert "test_crash.py" in words
    assert "_write_table_from_a_timer" in words


def test_part_exited_when_log_ends_with_last_words_then_message_carries_the_cause() -> None:
    tail = "RuntimeError: Event loop is closed\nhfos worker: stopped by a crash: TypeError: boom"
    error = PartExitedError("worker", 42, 1, Path("w.log"), tail)
    assert last_words_in(tail) == "stopped by a crash: TypeError: boom"
    assert "(stopped by a crash: TypeError: boom)" in str(error)
