"""``omd.stop.StopRequest``: signals become a flag, a second Ctrl-C stops at once, handlers come back."""

import os
import signal
import threading
import time

import pytest

from omd.stop import StopRequest


def _signal_self(sig):
    os.kill(os.getpid(), sig)
    time.sleep(0.01)  # Python runs the handler between bytecodes, at the latest during this


def test_the_first_signal_is_recorded_and_a_later_second_ctrl_c_stops_at_once():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
    with StopRequest(repeat_after=0.2) as stop:
        assert stop.signum is None and stop.name is None
        _signal_self(signal.SIGINT)
        assert stop.name == "SIGINT"
        _signal_self(signal.SIGINT)  # the same key press forwarded by a wrapper: still stopping cleanly
        _signal_self(signal.SIGUSR1)  # a later signal keeps the first one's name
        assert stop.name == "SIGINT"
        time.sleep(0.2)
        with pytest.raises(KeyboardInterrupt):
            _signal_self(signal.SIGINT)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_repeated_sigterms_only_ask_to_stop():
    with StopRequest(repeat_after=0.0) as stop:
        for _ in range(3):
            _signal_self(signal.SIGTERM)
    assert stop.name == "SIGTERM"


def test_outside_the_main_thread_it_leaves_the_handlers_alone():
    before, seen = signal.getsignal(signal.SIGTERM), []

    def work():
        with StopRequest() as stop:
            seen.append((signal.getsignal(signal.SIGTERM), stop.signum))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [(before, None)]
