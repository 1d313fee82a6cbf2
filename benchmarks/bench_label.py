"""Label benchmark: the same latents of the default SAE, the same embedded LLM, one run each of
sleuth without refinement, sleuth with refinement, and the Delphi-default preset (40 explain
examples of 32 tokens, 50 activating test examples from 10 quantiles, 50 random non-activating,
detection + fuzzing, 5 examples per prompt) as a configuration of the same pipeline.

Figures: labels/hour, LLM tokens per validated label, mean detection balanced accuracy, share
validated; ratios against the Delphi preset measured in the same run. Each run's labels are then scored on
the eval split (`sleuth label eval`): their rules and read-back rules on documents the run never read, and
how many validated labels still pass there.
SLEUTH_BENCH_LABEL_LATENTS sets the latents (default 0:50); SLEUTH_BENCH_LABEL_CONFIGS a comma list of
configs (default all). `sleuth_intervention` adds the intervention scorer (steering judged against the
label) and reports its mean and how often it passed. `sleuth_exact_first` skips the judges of a label
whose rule failed; its LLM tokens are compared with `sleuth_no_refine` (its mean detection covers only
the items a judge read). `sleuth_no_induce` is `sleuth_no_refine` without code's rule search (the LLM's
labels alone), so the pair shows what the search adds. The `sleuth` configs check the words with
`read_back` (the preset's default; the LLM restates the label as a rule, scored on
the test windows); `sleuth_detection` checks them with the detection judge and `words_match_rule` instead.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = {"sleuth_no_refine": ["--preset", "sleuth", "--no-refine"],
           "sleuth_refine": ["--preset", "sleuth", "--refine"],
           "sleuth_exact_first": ["--preset", "sleuth", "--no-refine", "--exact-first"],
           "sleuth_no_induce": ["--preset", "sleuth", "--no-refine", "--no-induce"],
           "delphi_default": ["--preset", "delphi", "--no-refine"],
           "sleuth_intervention": ["--preset", "sleuth", "--no-refine", "--scorers", "rule,read_back,intervention"],
           "sleuth_detection": ["--preset", "sleuth", "--no-refine", "--scorers", "rule,detection,words_match_rule"]}
SLEUTH = os.environ.get("SLEUTH_BENCH_CLI", str(Path(sys.executable).parent / "sleuth"))  # another build to compare


def _label(latents: str, extra: list[str], out: Path) -> dict:
    proc = subprocess.run([SLEUTH, "label", "--sae", "smollm2-res-6", "--latents", latents, "--out", str(out),
                           "--concurrency", "1", "--json", *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    totals = json.loads(proc.stdout)
    out_totals = {k: totals[k] for k in ("items", "validated", "rejected", "failed", "llm_tokens", "tokens_per_validated",
                                         "labels_per_hour", "mean_detection", "validated_share", "wall_s")}
    lines = [json.loads(line) for line in (out / "labels.jsonl").open()]
    rules = [line["scores"]["rule"] for line in lines if line["scores"].get("rule") is not None]
    if rules:  # the exact held-out F1 of each label's rule: what code's rule search changes
        out_totals.update(mean_rule=round(sum(rules) / len(rules), 4), rule_passed=sum(v >= 0.5 for v in rules))
    out_totals["by_rule_search"] = sum(line.get("explainer") == "sleuth-rule-search" for line in lines)
    read = [line["scores"]["read_back"] for line in lines if line["scores"].get("read_back") is not None]
    if read:
        out_totals.update(mean_read_back=totals["mean_read_back"], read_back_passed=sum(v >= 0.5 for v in read))
    scored = subprocess.run([SLEUTH, "label", "eval", str(out), "--json"], capture_output=True, text=True)
    if scored.returncode == 0:  # the same labels on the eval split: documents the run's own checks never read
        on_eval = json.loads(scored.stdout)
        out_totals["eval_split"] = {k: v for k, v in on_eval.items() if k != "items"}
    else:
        out_totals["eval_split"] = {"error": scored.stderr.strip().splitlines()[-1] if scored.stderr.strip() else "failed"}
    steering = [line["scores"].get("intervention") for line in lines]
    steering = [v for v in steering if v is not None]
    if steering:
        out_totals.update(mean_intervention=round(sum(steering) / len(steering), 4), intervention_scored=len(steering),
                          intervention_passed=sum(v >= 0.7 for v in steering))
    return out_totals


def run() -> dict:
    latents = os.environ.get("SLEUTH_BENCH_LABEL_LATENTS", "0:50")
    results = {"latents": latents, "llm": os.environ.get("SLEUTH_LLM_LOCAL_MODEL", "embedded default")}
    with tempfile.TemporaryDirectory() as tmp:
        chosen = os.environ.get("SLEUTH_BENCH_LABEL_CONFIGS", ",".join(CONFIGS)).split(",")
        for name, extra in ((n, CONFIGS[n]) for n in chosen):
            results[name] = _label(latents, extra, Path(tmp) / name)
            print(name, json.dumps(results[name]), flush=True)
    base = results.get("delphi_default", {})
    for name in ("sleuth_no_refine", "sleuth_refine", "sleuth_intervention", "sleuth_exact_first", "sleuth_no_induce",
                 "sleuth_read_back"):
        mine = results.get(name, {})
        if mine.get("tokens_per_validated") and base.get("tokens_per_validated"):
            mine["tokens_per_validated_vs_delphi"] = round(mine["tokens_per_validated"] / base["tokens_per_validated"], 3)
        if mine.get("mean_detection") is not None and base.get("mean_detection") is not None:
            mine["detection_minus_delphi"] = round(mine["mean_detection"] - base["mean_detection"], 4)
    plain, gated = results.get("sleuth_no_refine", {}), results.get("sleuth_exact_first", {})
    if plain.get("llm_tokens") and gated.get("llm_tokens"):
        gated["llm_tokens_vs_no_refine"] = round(gated["llm_tokens"] / plain["llm_tokens"], 3)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
