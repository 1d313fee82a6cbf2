"""`sleuth eval find|heads` as a user runs them, with the scripted LLM behind a real HTTP endpoint."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleuth.llm.fake_server import FakeLLM, Step

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import evaluator  # noqa: E402

SLEUTH = str(Path(sys.executable).parent / "sleuth")

SUITE = """category: mini
components:
  - name: the_word
    description: Fires on the word 'the'.
    fn: {token_in: [the]}
  - name: evens
    description: Fires on even numbers.
    fn: {numeric: even}
"""


@pytest.fixture(scope="module")
def fake():
    with FakeLLM(responder=evaluator) as server:
        yield server


@pytest.fixture
def home(make_agent_home, monkeypatch):
    path = make_agent_home()
    monkeypatch.setenv("SLEUTH_HOME", str(path))
    return path


def test_eval_find_runs_both_modes_and_keeps_a_scoreboard(cli, fake, home, tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "mini.yaml").write_text(SUITE)
    out = cli("eval", "find", "--suite", str(tmp_path / "suite"), "--llm", fake.base_url, "--texts", "6",
              "--out", str(tmp_path / "run"), "--json")
    report = json.loads(out.stdout)
    assert [m["mode"] for m in report["modes"]] == ["reference", "oneshot", "agent"]  # the true words beside both
    by = {(c["name"], c["mode"]): c for c in report["components"]}
    the = by[("the_word", "oneshot")]
    assert the["description"] == "Fires on the token 'the'." and the["f1"] == 1.0
    assert the["rule"] == {"token_in": ["the"]} and the["rule_f1"] == 1.0  # one-shot words come with a rule, scored by code
    assert by[("evens", "oneshot")]["rule_f1"] < 0.5
    # read-back: the reader restates the words as a rule, and code marks the tokens that rule fires on
    assert the["read_back_rule"] == {"token_in": ["the"]} and the["read_back_f1"] == 1.0
    assert by[("evens", "oneshot")]["read_back_f1"] < 0.5
    agent = report["modes"][2]["overall"]
    assert report["modes"][2]["read_back_vs_reference"] is not None  # each mode's read-back against the true words'
    assert by[("the_word", "reference")]["written_by"] == "human" and by[("the_word", "oneshot")]["written_by"] == "llm"
    assert by[("the_word", "agent")]["written_by"] in ("llm", "code") and agent["by_author"]
    assert report["manifest"]["suite_checksum"] == report["suite_checksum"] and report["manifest"]["commit"]
    validated = [c for c in report["components"] if c["mode"] == "agent" and c["status"] == "validated"]
    assert agent["validated"] == len(validated) and (agent["validated_read_back_f1"] is None) == (not validated)
    assert by[("the_word", "agent")]["status"] in ("validated", "rejected") and by[("the_word", "agent")]["f1"] == 1.0
    assert by[("evens", "oneshot")]["f1"] < 0.5  # a wrong description scores low
    assert all(c["site"].startswith("synthetic.eval.u") for c in report["components"])  # opaque names
    assert json.loads((tmp_path / "run" / "report.json").read_text())["suite_checksum"] == report["suite_checksum"]
    board = (home / "evals" / "scoreboard.md").read_text()
    assert "read-back F1" in board and "| find:suite | all | agent | 2 |" in board and "| find:suite | all | oneshot | 2 |" in board
    rows = [json.loads(line) for line in (home / "evals" / "history.jsonl").read_text().splitlines()]
    assert [r["mode"] for r in rows] == ["reference", "oneshot", "agent"]
    assert all(r["manifest"]["settings"]["texts"] == 6 and r["manifest"]["model"] for r in rows)  # written by this run


def test_eval_find_resumes_a_killed_run_and_scores_only_what_is_missing(cli, fake, home, tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "mini.yaml").write_text(SUITE)
    run = tmp_path / "run"
    args = ["eval", "find", "--suite", str(tmp_path / "suite"), "--mode", "oneshot", "--llm", fake.base_url,
            "--texts", "6", "--out", str(run), "--json"]
    asked = len(fake.requests)
    whole = json.loads(cli(*args).stdout)
    per_run = len(fake.requests) - asked
    kept = sorted(p.name for p in (run / "results").glob("*.json"))
    assert kept == ["oneshot--evens.json", "oneshot--the_word.json", "reference--evens.json",
                    "reference--the_word.json"] and whole["complete"]
    (run / "results" / "oneshot--evens.json").unlink()  # as if killed while scoring it
    (run / "report.json").unlink()
    proc = cli(*args[:-1], ok=False)  # the same folder again, without --resume: refused, nothing touched
    assert proc.returncode == 2 and "pass --resume" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    asked = len(fake.requests)
    resumed = json.loads(cli(*args, "--resume").stdout)
    assert 0 < len(fake.requests) - asked < per_run  # only the missing component was described and scored
    strip = lambda r: [{k: v for k, v in c.items() if k != "seconds"} for c in r["components"]]  # noqa: E731
    assert strip(resumed) == strip(whole) and resumed["modes"][0]["overall"]["f1"] == whole["modes"][0]["overall"]["f1"]
    changed = cli(*[a if a != "6" else "8" for a in args], "--resume", ok=False)
    assert changed.returncode == 2 and "changed: texts" in changed.stderr
    fresh = cli("eval", "find", "--suite", str(tmp_path / "suite"), "--resume", ok=False)
    assert fresh.returncode == 2 and "--resume needs --out" in fresh.stderr
    both = json.loads(cli(*[a if a != "oneshot" else "both" for a in args], "--resume").stdout)  # results add up per mode
    assert [m["mode"] for m in both["modes"]] == ["reference", "oneshot", "agent"]
    assert strip(both)[:4] == strip(whole)  # the reference and one-shot results were kept, not scored again
    assert sorted(p.name for p in (run / "results").glob("agent--*.json")) == ["agent--evens.json", "agent--the_word.json"]
    # the reference row scores the true words themselves: the predictor's and judge's ceiling, no describer tokens
    reference = json.loads(cli(*[a if a != "oneshot" else "reference" for a in args], "--resume").stdout)
    truth = {c["name"]: c for c in reference["components"]}["the_word"]
    assert [m["mode"] for m in reference["modes"]] == ["reference"] and truth["status"] == "reference"
    assert truth["description"] == "Fires on the word 'the'." and truth["f1"] == 1.0 and truth["judge_choice"] == 1.0
    assert truth["llm_tokens"] == 0 and reference["modes"][0]["overall"]["rule_f1"] is None  # the truth has no rule to score


def _title(request: dict) -> str | None:
    return ((request.get("response_format") or {}).get("schema") or {}).get("title")


def test_a_failing_scorer_spares_the_others_and_rescore_scores_stored_words_again(cli, home, tmp_path):
    """The listing predictor answers garbage: read-back and the judge still score, the item counts as failed
    with the listing's reason. --rescore then scores the stored words again without describing anything."""
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "mini.yaml").write_text(SUITE)
    run, again = tmp_path / "run", tmp_path / "again"
    args = ["eval", "find", "--suite", str(tmp_path / "suite"), "--mode", "oneshot", "--texts", "6", "--json"]
    garbage = lambda request: "no json here" if _title(request) == "TokenGuesses" else evaluator(request)  # noqa: E731
    with FakeLLM(responder=garbage) as broken:
        first = json.loads(cli(*args, "--llm", broken.base_url, "--out", str(run)).stdout)
    the = {c["name"]: c for c in first["components"]}["the_word"]
    assert the["f1"] is None and the["scoring_failures"][0].startswith("listing: ")
    assert the["read_back_f1"] == 1.0 and the["judge_choice"] is not None and the["rule_f1"] == 1.0
    assert first["modes"][0]["overall"]["failed"] == 2
    before = {p.name: p.read_bytes() for p in (run / "results").glob("*.json")}
    with FakeLLM(responder=evaluator) as good:
        second = json.loads(cli(*args, "--llm", good.base_url, "--out", str(again), "--rescore", str(run),
                                "--scorers", "read_back").stdout)
        titles = {_title(r) for r in good.requests}
    assert "OneShotDescription" not in titles and "TokenGuesses" in titles  # nothing described; the failed listing rerun
    the = {c["name"]: c for c in second["components"]}["the_word"]
    assert the["description"] == "Fires on the token 'the'." and the["f1"] == 1.0 and the["scoring_failures"] == []
    assert the["rescored"] == ["listing", "read_back"] and the["rescored_from"] == str(run.resolve())
    assert second["modes"][0]["overall"]["failed"] == 0 and second["llm"] == first["llm"]
    assert {p.name: p.read_bytes() for p in (run / "results").glob("*.json")} == before  # the source is only read
    assert sorted(p.name for p in (again / "results").glob("*.json")) == sorted(before)  # kept for --resume
    proc = cli(*args, "--rescore", str(run), ok=False)
    assert proc.returncode == 2 and "--rescore needs --out" in proc.stderr
    proc = cli(*args, "--scorers", "read_back", ok=False)
    assert proc.returncode == 2 and "--scorers applies only with --rescore" in proc.stderr
    proc = cli(*args, "--rescore", str(run), "--out", str(tmp_path / "x"), "--scorers", "readback", ok=False)
    assert proc.returncode == 2 and "unknown --scorers 'readback'" in proc.stderr and not (tmp_path / "x").exists()


def test_a_running_eval_keeps_report_json_current(fake, home, tmp_path):
    """report.json holds the figures of the components scored so far, while the run goes on (killed here)."""
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "mini.yaml").write_text(SUITE)
    run = tmp_path / "run"
    with FakeLLM(responder=lambda request: Step(content=evaluator(request), delay_s=0.3)) as slow:
        proc = subprocess.Popen([SLEUTH, "eval", "find", "--suite", str(tmp_path / "suite"), "--mode", "oneshot",
                                 "--llm", slow.base_url, "--texts", "6", "--out", str(run)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = run / "report.json"
        while not report.is_file() and proc.poll() is None:
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    so_far = json.loads(report.read_text())
    assert not so_far["complete"] and [c["name"] for c in so_far["components"]] == ["the_word", "the_word"]
    assert [m["mode"] for m in so_far["modes"]] == ["reference", "oneshot"]
    assert so_far["modes"][1]["overall"]["f1"] is not None


@pytest.mark.parametrize("suite_text, says", [
    ("components:\n  - {name: bad, description: d, fn: {tokn_in: [x]}}\n", "component 'bad': unknown predicate key"),
    ("components: [\n", "not valid YAML"),
])
def test_eval_find_bad_suites_are_one_line_errors(cli, home, tmp_path, suite_text, says):
    (tmp_path / "s.yaml").write_text(suite_text)
    proc = cli("eval", "find", "--suite", str(tmp_path / "s.yaml"), ok=False)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr
    assert not (home / "evals" / "scoreboard.json").exists()


def test_eval_find_bad_mode_and_unreachable_llm(cli, home, tmp_path):
    proc = cli("eval", "find", "--mode", "nope", ok=False)
    assert proc.returncode == 2 and "unknown --mode 'nope'" in proc.stderr
    (tmp_path / "s.yaml").write_text(SUITE)
    proc = cli("eval", "find", "--suite", str(tmp_path / "s.yaml"), "--llm", "http://127.0.0.1:9/v1", ok=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_eval_heads_finds_the_trained_heads(cli, fake, home):
    out = cli("eval", "heads", "--heads", "L0H3,L1H0", "--llm", fake.base_url, "--json")
    report = json.loads(out.stdout)
    truth = report["truth"]["heads"]
    assert report["truth"]["source"] == "construction"  # the truth is the roles the heads were trained to
    assert truth == {"induction": ["L1H0", "L1H1"], "previous_token": ["L0H2", "L0H3"]}, truth
    check = report["construction_check"]  # and the construction took: the scans agree with it
    assert check["precision"] >= 0.95 and check["recall"] >= 0.95, check
    oneshot, agent = report["summary"]["oneshot"], report["summary"]["agent"]
    assert report["summary"]["scan"]["head_precision"] == 1.0  # the baseline: every head whose scan is >= 0.4
    assert oneshot["head_precision"] == 1.0 and oneshot["head_recall"] > 0.5  # read off one scan
    assert agent["failed"] == 0 and agent["head_precision"] == 1.0 and agent["head_recall"] > 0
    per_head = [r for r in report["results"] if r["head"] and r["mode"] == "agent"]
    assert {r["head"] for r in per_head} == {"L0H3", "L1H0"} and all(r["verdict"] for r in per_head)
    assert not any("measured on fresh prompts" in (r["description"] or "") for r in per_head)  # words judged alone
    # the decoy control: the same judge against a behaviour the head does not have scores lower
    previous = next(r for r in report["results"] if r["head"] == "L0H3" and r["mode"] == "oneshot")
    assert previous["right"] == 1.0 and previous["decoy_right"] < previous["right"]
    assert oneshot["head_text_decoy"] < oneshot["head_text_right"] or oneshot["head_text_right"] < 1.0
    proc = cli("eval", "heads", "--heads", "L7H0", ok=False)
    assert proc.returncode == 2 and "head 'L7H0' is not on heads-attn-only-2l" in proc.stderr


def test_ask_and_tools_run_on_a_synthetic_unit(cli, fake, home, tmp_path, monkeypatch):
    (tmp_path / "mini.yaml").write_text(SUITE)
    config = tmp_path / "sleuth.toml"
    config.write_text("[agent]\nexplain_windows = 64\nheldout_windows = 64\nmax_attempts = 1\n")
    monkeypatch.setenv("SLEUTH_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("SLEUTH_CONFIG", str(config))
    out = cli("tools", "run", "activations", "--synthetic", str(tmp_path / "mini.yaml"), "--json",
              "--args", '{"site": "synthetic.mini.evens", "texts": ["Take 4 of 7"]}')
    row = json.loads(out.stdout)["data"]["per_text"][0]
    assert [t for t, v in zip(row["tokens"], row["values"]) if v] == ["4"]
    out = cli("ask", "--synthetic", str(tmp_path / "mini.yaml"), "what does synthetic.mini.the_word do?", "--json")
    finding = json.loads(out.stdout)["findings"][0]
    assert finding["component"] == "synthetic.mini.the_word" and "'the'" in finding["text"].lower()
    assert finding["status"] in ("validated", "rejected") and finding["scores"]
    proc = cli("tools", "run", "ablate", "--synthetic", str(tmp_path / "mini.yaml"),
               "--args", '{"components": ["synthetic.mini.evens"], "texts": ["a b"]}', ok=False)
    assert proc.returncode == 2 and "no causal path" in proc.stderr and "Traceback" not in proc.stderr


def test_every_mode_beside_the_true_words_the_search_alone_and_one_shot_shown_its_candidates(cli, fake, home, tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "mini.yaml").write_text(SUITE)
    asked = len(fake.requests)
    report = json.loads(cli("eval", "find", "--suite", str(tmp_path / "suite"), "--mode", "all", "--only", "the_word",
                            "--llm", fake.base_url, "--texts", "6", "--json").stdout)
    assert [m["mode"] for m in report["modes"]] == ["reference", "search", "oneshot", "oneshot_search", "agent"]
    by = {c["mode"]: c for c in report["components"]}
    assert by["search"]["written_by"] == "code" and by["search"]["rule"] == {"token_in": ["the"]}
    assert by["search"]["llm_tokens"] == 0 and by["search"]["rule_f1"] == 1.0  # no LLM described it
    prompts = [json.dumps(r.get("messages", "")) for r in fake.requests[asked:]]
    assert sum("Rules a search found" in p for p in prompts) == 1  # only oneshot_search is shown the candidates


OPEN_CLASS = """category: open_class
components:
  - name: time_units
    description: Fires on units of time, such as 'second', 'minute' or 'day'.
    fn: {token_in: [second, seconds, minute, minutes, hour, hours, day, days, week, weeks, month, months, year, years]}
    unseen: [minute, minutes, day, days, month, months]
  - name: the_word
    description: Fires on the word 'the'.
    fn: {token_in: [the]}
"""


def test_a_unit_with_unseen_members_is_scored_on_them_apart(cli, fake, home, tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "open.yaml").write_text(OPEN_CLASS)
    report = json.loads(cli("eval", "find", "--suite", str(tmp_path / "suite"), "--mode", "search", "--llm",
                            fake.base_url, "--texts", "12", "--json").stdout)
    by = {(c["name"], c["mode"]): c for c in report["components"]}
    search, truth = by[("time_units", "search")], by[("time_units", "reference")]
    # code's search saw only the seen half fire: its word list fires on no member never shown
    assert search["rule"] and search["unseen_rule_f1"] == 0.0
    assert not {"minute", "minutes", "day", "days", "month", "months"} & set(search["rule"].get("token_in", []))
    # the true words name two unseen members: the reader's rule earns credit on them, and only there
    assert 0 < truth["unseen_read_back_f1"] <= 1 and truth["unseen_rule_f1"] == 0.0
    assert by[("the_word", "search")]["unseen_rule_f1"] is None  # no split, no unseen score
    overall = {m["mode"]: m["overall"] for m in report["modes"]}
    assert overall["search"]["unseen_units"] == 1 and overall["search"]["unseen_rule_f1"] == 0.0
    assert overall["reference"]["unseen_read_back_f1"] == truth["unseen_read_back_f1"]
    board = (home / "evals" / "scoreboard.md").read_text()
    assert "| find:suite | unseen | search | 1 |" in board and "| find:suite | unseen | reference | 1 |" in board
