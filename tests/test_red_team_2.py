"""Second red team: attacks on the re-check's pipe that the grader defends.

The student's process in the re-check is the student's: its code can find the reply channel
(``channel_out`` in ``function_server.main``'s frame) and write any bytes there. Each test below
forges one reply and checks that the grader neither hangs, nor unpickles, nor lets the forgery
escape as a signal that keeps nbgrader's score (a ``BaseException`` such as ``NotReplayable``):
the call fails with an ordinary exception, so the test cell loses its points.
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from autograder import cells
from autograder.grade.sandbox import sandbox
from autograder.grade.verify import verify

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap is not installed (CI installs it; see .ci/run)")

# Finds the server's reply channel on the stack and writes a forged reply, then waits (as a
# student's function that answers for itself would).
FORGER = '''
import base64, io, json, struct, sys, time
import numpy as np

def _channel():
    frame = sys._getframe()
    while "channel_out" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["channel_out"]

def _forge(body):
    out = _channel()
    out.write(struct.pack(">I", len(body)) + body)
    out.flush()
    time.sleep(30)

def _header(descr, shape):
    text = ("{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, shape)).encode()
    text += b" " * (118 - len(text)) + b"\\n"
    return b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(text)) + text

def _npy(raw):
    return {"npy": base64.b64encode(raw).decode()}

def endless_length(*args):
    out = _channel()
    out.write(struct.pack(">I", 0xFFFFFFF0) + b"[" * 1000)
    out.flush()
    time.sleep(30)

def deep_json(*args):
    _forge(b"[" * 200000 + b"]" * 200000)

def huge_integer(*args):
    _forge(b'{"result": {"value": ' + b"9" * 100000 + b'}, "args": []}')

def object_array(*args):
    _forge(json.dumps({"result": _npy(_header("|O", (3,)) + b"\\x00" * 24), "args": []}).encode())

def terabyte_array(*args):
    _forge(json.dumps({"result": _npy(_header("<f8", (10**12,))), "args": []}).encode())

def exit_error(*args):
    _forge(json.dumps({"error": "SystemExit", "message": "pass"}).encode())

def forged_callback(*args):
    _forge(json.dumps({"callback": "bound-99", "args": {"seq": [], "tuple": True},
                       "kwargs": {}}).encode())

def no_result(*args):
    _forge(json.dumps({"args": []}).encode())

def empty_giant(*args):  # 10**18 elements of a zero-byte dtype: free to send, endless to copy
    _forge(json.dumps({"result": _npy(_header([], (10**18,))), "args": []}).encode())
'''
TIMEOUT = 3.0


@pytest.fixture
def student():
    process = verify.StudentProcess([cells.Step(0, "student", FORGER)], True, sandbox.Limits(),
                                    TIMEOUT, sealed=True)
    yield process
    process.stop()


@pytest.mark.parametrize("attack", ["deep_json", "huge_integer", "object_array", "terabyte_array",
                                    "exit_error", "forged_callback", "no_result"])
def test_a_forged_reply_fails_the_call_with_an_ordinary_exception(student, attack):
    start = time.monotonic()
    with pytest.raises(Exception) as raised:  # noqa: PT011 (any ordinary exception: a failure)
        student.call(attack, (np.ones(3),), {})
    assert not isinstance(raised.value, verify.NotReplayable)
    assert time.monotonic() - start < TIMEOUT  # answered at once, not by waiting for a timeout


def test_a_reply_that_never_ends_times_out_and_the_process_is_stopped(student):
    start = time.monotonic()
    with pytest.raises(verify.StudentError):
        student.call("endless_length", (), {})
    assert time.monotonic() - start < TIMEOUT + 2
    assert student.process is None  # killed, not left writing


@pytest.mark.parametrize("attack", ["object_array", "empty_giant"])
def test_an_array_that_is_not_of_numbers_is_refused_at_once(student, attack):
    """An object array is never unpickled; a zero-byte dtype with 10**18 elements (which
    ``np.array`` would copy for ever, deaf to signals) is refused before anyone copies it."""
    with pytest.raises(verify.StudentError, match="unreadable reply"):
        student.call(attack, (), {})
    assert student.process is None  # out of step: stopped, restarted by the next call
