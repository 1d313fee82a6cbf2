"""Fault injection: run a real CLI command, SIGKILL it at seeded random points, check what is left after each
kill, and let the caller compare the final state (after a resume) with an uninterrupted run's.

Each test of the suite is marked `faults` (`make faults` runs them alone); the counts of every chain are
printed at the end of the pytest run (tests/conftest.py) and, with SLEUTH_FAULT_REPORT=FILE, appended there
as JSON lines. SLEUTH_FAULT_KILLS overrides the number of kills per command.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

RESULTS: list["FaultChain"] = []


def kills(default: int = 5) -> int:
    """Kills per command: 5 in `make test`, 20 in `make faults` (SLEUTH_FAULT_KILLS)."""
    return int(os.environ.get("SLEUTH_FAULT_KILLS") or default)


@dataclass
class FaultChain:
    command: str
    tried: int = 0  # kills that landed while the command was running
    survived: int = 0  # ... after which the state on disk was whole (the check found nothing wrong)
    completed: int = 0  # runs that finished before their kill point
    problems: list[str] = field(default_factory=list)
    final: str = "not compared"
    landed: list[str] = field(default_factory=list)  # per kill, where the work was: before, inside or at the end
    progress: list[str] = field(default_factory=list)  # per kill, "done/total" units of work on disk

    def where(self) -> str:
        if not self.landed:
            return "where the kills landed was not recorded"
        counts = {place: self.landed.count(place) for place in ("before", "inside", "end")}
        return ("landed " + ", ".join(f"{n} {place}" for place, n in counts.items()) +
                f" of the work (done/total at each kill: {' '.join(self.progress)})")

    def line(self) -> str:
        return (f"{self.command}: {self.survived}/{self.tried} kills survived, {self.completed} run(s) finished "
                f"before the kill, {self.where()}, final state {self.final}"
                + (f"; problems: {self.problems[:3]}" if self.problems else ""))


def kill_chain(name: str, command: Callable[[], list[str]], env: dict, n_kills: int, seed: int,
               delay: tuple[float, float], check: Callable[[], str | None] = lambda: None,
               started: Callable[[], bool] | None = None, on_complete: Callable[[], bool] = lambda: False,
               done: Callable[[], bool] = lambda: False, ok_exit: tuple[int, ...] = (0,),
               limit_s: float = 600, progress: Callable[[], tuple[int, int]] | None = None) -> FaultChain:
    """Kill `command()` n_kills times, each after `started()` (if given) plus a seeded random delay.
    `delay` is the window for a chain of 10 kills; a longer chain scales it down (10 / n_kills) so that its
    kills still land inside the work. After each kill `check()` names what is broken (None: nothing). The
    chain ends when `done()` (a kill landed after the work was finished) or when a run completes before its
    kill and `on_complete()` is False (True starts the work again, for idempotent commands). `progress()` reads
    (units done, units in all) off the disk after each kill: where in the work it landed."""
    rng = random.Random(seed)
    scale = min(1.0, 10 / n_kills)
    chain = FaultChain(name)
    RESULTS.append(chain)
    began = time.monotonic()
    while chain.tried < n_kills and time.monotonic() - began < limit_s and not done():
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(command(), env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
            while started is not None and not started() and proc.poll() is None:
                time.sleep(0.02)
            try:
                proc.wait(timeout=rng.uniform(delay[0] * scale, delay[1] * scale))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                chain.tried += 1
                if progress is not None:
                    done_units, total = progress()
                    chain.progress.append(f"{done_units}/{total}")
                    chain.landed.append("before" if done_units == 0 else "end" if done_units >= total else "inside")
                problem = check()
                if problem:
                    chain.problems.append(f"kill {chain.tried}: {problem}")
                else:
                    chain.survived += 1
                continue
            chain.completed += 1
            if proc.returncode not in ok_exit:
                err.seek(0)
                chain.problems.append(f"a run exited {proc.returncode}: {err.read()[-300:]}")
                break
            if not on_complete():
                break
    return chain


def finish(chain: FaultChain, same: bool) -> None:
    chain.final = "equal to the uninterrupted run's" if same else "DIFFERENT from the uninterrupted run's"
    report = os.environ.get("SLEUTH_FAULT_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(json.dumps(asdict(chain)) + "\n")
