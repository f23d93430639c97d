"""StopSignal: a signal handler sets it without a lock, and a wait in progress wakes at once."""

from __future__ import annotations

import os
import signal
import threading
import time

from nba_tui.stopsignal import StopSignal


def test_a_signal_during_wait_sets_it_and_wakes_the_wait() -> None:
    stop = StopSignal()
    stop.install(signal.SIGALRM)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert stop.wait(60) is True  # woken by the handler, not by the 60 s
        assert stop.is_set()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        stop.uninstall()


def test_unset_it_waits_out_its_timeout_and_set_twice_is_harmless() -> None:
    stop = StopSignal()
    assert stop.wait(0.01) is False and not stop.is_set()
    stop.set()
    stop.set()
    assert stop.wait(0) is True


def test_a_signal_taken_by_another_thread_still_wakes_the_main_threads_wait() -> None:
    """The kernel may hand a process signal to any thread (here the main thread blocks it, so
    only the sender's thread can take it); the main thread's wait must wake, not sleep on."""
    stop = StopSignal()
    stop.install(signal.SIGUSR1)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # new threads inherit the mask

    main = threading.get_native_id()

    def in_select() -> bool:  # the main thread sleeps in the kernel's select/poll
        with open(f"/proc/self/task/{main}/wchan") as f:
            where = f.read()
        return "poll" in where or "select" in where

    def sender() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        deadline = time.monotonic() + 10
        while not in_select() and time.monotonic() < deadline:
            time.sleep(0.01)  # bounded polling of the main thread's kernel state
        os.kill(os.getpid(), signal.SIGUSR1)

    t = threading.Thread(target=sender)
    began = time.monotonic()
    t.start()
    try:
        assert stop.wait(120) is True
        assert time.monotonic() - began < 60  # woken by the signal, not by the 120 s timeout
    finally:
        t.join()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        stop.uninstall()
