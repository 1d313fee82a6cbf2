"""`make bench`: run every benchmark; each reports ratios against a baseline measured in the same run."""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from benchmarks import (bench_agent, bench_audit, bench_head_judge, bench_induce, bench_label, bench_llm,  # noqa: E402
                        bench_memory, bench_sae, bench_target, bench_tools)

SUITES = {"target": bench_target.run, "tools": bench_tools.run, "memory": bench_memory.run, "llm": bench_llm.run,
          "sae": bench_sae.run, "agent": bench_agent.run, "label": bench_label.run, "audit": bench_audit.run,
          "head_judge": bench_head_judge.run, "induce": bench_induce.run,
          "transformerlens": lambda: __import__("benchmarks.bench_transformerlens", fromlist=["run"]).run()}


def main(names: list[str]) -> None:
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    latest = out_dir / "latest.json"
    results = json.loads(latest.read_text()) if latest.is_file() else {}  # keep other suites' last figures
    for name, fn in SUITES.items():
        if names and name not in names:
            continue
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        results[name] = fn()
        results[name]["wall_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(results[name], indent=2), flush=True)
    latest.write_text(json.dumps(results, indent=2))
    print(f"wrote {latest}")


if __name__ == "__main__":
    main(sys.argv[1:])
