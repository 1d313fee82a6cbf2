"""Synthetic components on real SmolLM2: the same tools, the agent, and the find scorers (which can fail)."""

import json
import random
import re
import sys
from pathlib import Path

import pytest

from sleuth.agent import build
from sleuth.config import AgentSettings
from sleuth.evals.heldout import heldout_pool, texts_for
from sleuth.evals.metrics import predictive_agreement
from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.fake_server import FakeLLM
from sleuth.memory import open_store
from sleuth.predicates import SyntheticComponent
from sleuth.predicates.suite import SuiteComponent
from sleuth.predicates.words import in_words
from sleuth.tools import ToolContext, ToolError, load_all, run_tool

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator as policy  # noqa: E402
from test_tools_smollm2 import EXAMPLE_ARGS  # noqa: E402

THE = SuiteComponent(name="the", description="Fires on the word 'the'.", category="lexical", source="test",
                     unit=SyntheticComponent(fn={"token_in": ["the"]}))
EVEN = SuiteComponent(name="even", description="Fires on even numbers.", category="numeric", source="test",
                      unit=SyntheticComponent(fn={"numeric": "even"}))
# a planted unit on three words: the scripted LLM first proposes only the commonest one (a slightly wrong rule)
WORDS = SuiteComponent(name="words", description="Fires on 'the', 'of' and 'and'.", category="lexical", source="test",
                       unit=SyntheticComponent(fn={"token_in": ["the", "of", "and"]}))
# an open class: its unseen half never fires in a window the agent reads; only the class step can reach it
TIME = SuiteComponent(name="time", description="Fires on units of time.", category="open_class", source="test",
                      unit=SyntheticComponent(fn={"token_in": ["second", "seconds", "minute", "minutes", "hour", "hours",
                                                               "day", "days", "week", "weeks", "month", "months",
                                                               "year", "years"]},
                                              unseen=["minute", "minutes", "day", "days", "month", "months"]))
SITE_FIELDS = ("site", "sites", "components")


@pytest.fixture(scope="module")
def ctx(smollm, sleuth_home):
    smollm.attach_synthetic("test.the", THE)
    smollm.attach_synthetic("test.even", EVEN)
    smollm.attach_synthetic("test.words", WORDS)
    smollm.attach_synthetic("test.time", TIME)
    return ToolContext(target=smollm, home=sleuth_home)


def test_a_synthetic_unit_reads_like_a_neuron(ctx):
    out = run_tool("activations", {"site": "synthetic.test.the", "texts": ["The cat and the dog."]}, ctx).data
    row = out["per_text"][0]
    assert row["values"] == THE.activations(row["tokens"]) and sum(row["values"]) == 2.0
    scan = run_tool("top_activations", {"sites": ["synthetic.test.even"], "n_windows": 64, "k": 3}, ctx).data
    report = scan["components"][0]
    assert report["component"] == "synthetic.test.even" and report["max"] == 1.0 and 0 < report["frequency"] < 0.2
    for example in report["examples"]:
        assert example["values"] == EVEN.activations(example["tokens"])  # the corpus window, evaluated exactly
    ranked = run_tool("contrast_units", {"site": "synthetic.test.even", "positive": ["I have 4 cats"],
                                         "negative": ["I have cats"]}, ctx).data
    assert ranked["labels"] == ["synthetic.test.even"] and ranked["scores"] == [1.0]


SITE_TOOLS = [n for n in sorted(load_all()) if any(f in EXAMPLE_ARGS[n] for f in SITE_FIELDS)]


@pytest.mark.parametrize("name", SITE_TOOLS)
def test_every_tool_either_reads_a_synthetic_unit_or_refuses_it_clearly(ctx, name):
    args = dict(EXAMPLE_ARGS[name])
    fields = [f for f in SITE_FIELDS if f in args]
    for f in fields:
        args[f] = ["synthetic.test.the"] if isinstance(args[f], list) else "synthetic.test.the"
    if name == "patch":
        args["sweep"] = "sites"
    try:
        result = run_tool(name, args, ctx)
    except ToolError as exc:
        assert "synthetic.test.the" in str(exc) and "\n" not in str(exc)
        return
    assert name in ("activations", "top_activations", "contrast_units"), f"{name} should refuse a synthetic unit"
    assert result.summary


def test_unknown_synthetic_site_is_a_one_line_error(ctx):
    with pytest.raises(ToolError, match="no synthetic component 'synthetic.test.nope'"):
        run_tool("activations", {"site": "synthetic.test.nope", "texts": ["x"]}, ctx)


def _investigate(ctx, tmp_path, site, responder=policy, attempts=1, induced_rules=2):
    with FakeLLM(responder=responder) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=10.0))
        settings = AgentSettings(explain_windows=128, heldout_windows=128, max_attempts=attempts,
                                 induced_rules=induced_rules)
        store = open_store(tmp_path, path=tmp_path / "memory")
        state = build(ctx.target, client, store, settings, home=tmp_path, ctx=ctx).ask(f"what does {site} do?")
        first = fake.requests[0]["messages"][-1]["content"]
    return state, store, first


def test_the_agent_investigates_a_synthetic_unit_as_a_neuron(ctx, tmp_path):
    state, store, first = _investigate(ctx, tmp_path, "synthetic.test.the")
    finding = state["findings"][0]
    assert finding["component"] == "synthetic.test.the"
    assert "'the'" in finding["text"].lower() and finding["status"] == "validated", finding["reason"]
    assert finding["rule"] == {"token_in": ["the"]}
    assert "Fires on the word 'the'" not in first and '["the"]' not in first  # no hint of the truth
    stored = store.get(finding["description_id"])
    assert stored.rule == finding["rule"] and {s["scorer"] for s in stored.score_states} == {"rule", "read_back"}
    read = next(s for s in stored.score_states if s["scorer"] == "read_back")
    assert read["passed"] and read["details"]["read_rule"] == {"token_in": ["the"]}  # the words, read back, are the rule


def test_a_slightly_wrong_rule_is_refined_from_its_misses(ctx, tmp_path):
    state, _, _ = _investigate(ctx, tmp_path, "synthetic.test.words", induced_rules=0)  # the LLM's refinement alone
    task = state["tasks"][0]
    assert {h["source"] for h in task["hypotheses"]} == {"llm"}
    first = task["hypotheses"][0]
    assert len(first["rule"]["token_in"]) == 1 and first["fit"]["f1"] < 0.9, "the first rule should be incomplete"
    assert task["rounds"] and task["rounds"][0]["after"]["f1"] > task["rounds"][0]["before"]["f1"]
    finding = state["findings"][0]
    assert {"the", "of"} <= set(finding["rule"]["token_in"]) <= {"the", "of", "and"}, finding["rule"]
    rule_score = next(s for s in finding["scores"] if s["scorer"] == "rule")
    assert rule_score["value"] >= 0.8 and finding["status"] == "validated", (rule_score, finding["reason"])  # held-out F1 of the final rule


def test_code_finds_the_rule_the_llm_missed_and_it_holds_on_held_out_text(ctx, tmp_path):
    state, store, _ = _investigate(ctx, tmp_path, "synthetic.test.words")
    task = state["tasks"][0]
    llm_rules = [h for h in task["hypotheses"] if h["source"] == "llm"]
    assert llm_rules and max(h["fit"]["f1"] for h in llm_rules) < 0.9, "the scripted LLM's first rule is incomplete"
    induced = [h for h in task["hypotheses"] if h["source"] == "induced"]
    assert induced and induced[0]["statement"] == in_words(induced[0]["rule"])  # stated by code, scored like the rest
    finding = state["findings"][0]
    assert {"the", "of"} <= set(finding["rule"]["token_in"]) <= {"the", "of", "and"}, finding["rule"]
    rule_score = next(s for s in finding["scores"] if s["scorer"] == "rule")
    assert rule_score["value"] >= 0.9 and finding["status"] == "validated", (rule_score, finding["reason"])
    assert {h.source for h in store.all("hypothesis")} == {"llm", "induced"}  # memory says who proposed each


def _names_time(request: dict):
    title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
    if title == "ClassGuess":  # two members the unit never showed, one it does not fire on, one not a word
        return {"class_name": "units of time", "members": ["Minute", "days", "kettles", "time zone", "fortnight"]}
    return policy(request)


def test_a_listing_rule_grows_into_its_class_by_members_measured_in_the_unit_s_own_windows(ctx, tmp_path):
    state, store, _ = _investigate(ctx, tmp_path, "synthetic.test.time", responder=_names_time)
    task = state["tasks"][0]
    assert not any(TIME.unit.withheld(w["tokens"]) for w in task["windows"])  # no unseen member was ever shown
    grown = next(h for h in task["hypotheses"] if h["source"] == "class")
    assert grown["class_name"] == "units of time"
    assert grown["members"]["confirmed"] == ["minute", "days"] and grown["members"]["refused"] == ["kettles", "fortnight"]
    assert {"minute", "days"} <= set(grown["rule"]["token_in"]) and "kettles" not in grown["rule"]["token_in"]
    texts = task["class_texts"]
    assert {t["member"] for t in texts} == {"minute", "days", "kettles", "fortnight", "kettle", "meadow"}
    finding = state["findings"][0]
    # code says the class the LLM named, with members measured as examples; the reader can list the rest
    assert finding["words"].startswith("Fires on units of time, such as 'seconds'") and "'minute'" in finding["words"]
    assert finding["written_by"] == "code" and finding["status"] == "validated", finding["reason"]
    assert any("it fired on minute, days; not on kettles, fortnight" in c["text"] for c in finding["claims"])
    logged = [e for e in state["experiments"] if e["hypothesis"] == "a member of units of time"]
    assert len(logged) == len(texts) and sum(e["outcome"] for e in logged) == 2 * len({t["context"] for t in texts})


def test_without_a_member_that_fires_the_listing_rule_stands(ctx, tmp_path):
    state, _, _ = _investigate(ctx, tmp_path, "synthetic.test.time")  # proposes zebra, quokka, narwhal
    task = state["tasks"][0]
    assert task["generalized"] and task["class_texts"] and not any(h["source"] == "class" for h in task["hypotheses"])
    assert not {"minute", "day", "month"} & set(state["findings"][0]["rule"]["token_in"])


def test_a_right_rule_in_wrong_words_gets_its_rule_stated_by_code(ctx, tmp_path):
    def wrong_words(request):  # the scripted LLM finds the rule but describes it as something else
        if ((request.get("response_format") or {}).get("schema") or {}).get("title") == "DescriptionDraft":
            return {"description": "Fires on the word 'cat'.", "claims": [{"text": "seen in the scan", "basis": "top_examples"}]}
        return policy(request)

    state, store, _ = _investigate(ctx, tmp_path, "synthetic.test.the", responder=wrong_words, attempts=2)
    finding = state["findings"][0]
    assert finding["rule"] == {"token_in": ["the"]} and finding["attempts"] == 2
    assert finding["text"] == "Fires on the word 'the' (any case)." and finding["written_by"] == "code"
    assert finding["status"] == "validated", finding["reason"]  # the judges read code's words and agree with the rule
    first = store.all("description")
    assert any("'cat'" in d.text and d.status == "rejected" for d in first), "the first words were rejected and kept"


# ---- the find scorers on real held-out texts ---------------------------------------------------
QUOTED = re.compile(r"'([^']+)'")


def _predictor(request):
    """Marks the tokens the description quotes: follows the words it reads."""
    prompt = request["messages"][-1]["content"]
    description = re.search(r"<<<DATA description\n(.*?)\nDATA>>>", prompt, re.S).group(1)
    keys = {k.strip().lower() for k in QUOTED.findall(description)}
    lists = [json.loads(t) for t in re.findall(r"^<<<DATA\n(.*?)\nDATA>>>", prompt, re.S | re.M)]
    if "even numbers" in description:
        return {"tokens": [[t for t in toks if t.strip().isdigit() and int(t) % 2 == 0] for toks in lists]}
    return {"tokens": [[t for t in toks if t.strip().lower() in keys] for toks in lists]}


def _blind(kind: str):
    rng = random.Random(0)

    def respond(request):
        prompt = request["messages"][-1]["content"]
        lists = [json.loads(t) for t in re.findall(r"^<<<DATA\n(.*?)\nDATA>>>", prompt, re.S | re.M)]
        pick = {"all": lambda toks: toks, "none": lambda toks: [],
                "alternate": lambda toks: toks[::2], "random": lambda toks: [t for t in toks if rng.random() < 0.3]}[kind]
        return {"tokens": [pick(toks) for toks in lists]}

    return respond


@pytest.fixture(scope="module")
def held(ctx):
    pool = heldout_pool(ctx, seed=0, n_windows=120)
    return texts_for(THE, pool, 12, seed=1)


def test_predictive_agreement_follows_the_words(held):
    with FakeLLM(responder=_predictor) as fake:
        llm = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=10.0))
        right = predictive_agreement(llm, "Fires on the word 'the'.", held)
        wrong = predictive_agreement(llm, "Fires on the word 'of'.", held)
    assert right.f1 == 1.0 and right.balanced_accuracy == 1.0
    assert wrong.f1 < 0.3 and wrong.balanced_accuracy < 0.6


@pytest.mark.parametrize("kind", ["all", "none", "alternate", "random"])
def test_a_predictor_that_ignores_the_description_scores_at_chance(held, kind):
    with FakeLLM(responder=_blind(kind)) as fake:
        llm = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=10.0))
        result = predictive_agreement(llm, "Fires on the word 'the'.", held)
    assert result.balanced_accuracy <= 0.6


def test_scoring_texts_share_no_window_or_document_with_what_describers_and_checks_read(ctx, held):
    """explain (describers, the rule search), validation (the agent's and label's checks: scans of the
    `heldout` split) and eval (what `sleuth eval find` scores on) are three disjoint sets of documents."""
    from sleuth.evals.heldout import eval_window_ids
    from sleuth.tools.scan import scan_windows

    windows = ctx.windows
    scored = set(eval_window_ids(ctx, seed=0, n_windows=len(windows)).tolist())
    explain = set(scan_windows(ctx, "explain", len(windows))[0].tolist())
    validation = set(scan_windows(ctx, "heldout", len(windows))[0].tolist())
    assert scored and explain and validation
    assert not scored & explain and not scored & validation and not explain & validation
    assert len(scored | explain | validation) == len(windows)
    docs = [{int(windows.doc_index[i]) for i in part} for part in (scored, explain, validation)]
    assert not docs[0] & docs[1] and not docs[0] & docs[2] and not docs[1] & docs[2]
    read = {"".join(ctx.target.str_tokens(row[:32])) for row in windows.tokens[sorted(explain | validation)]}
    assert not read & {v.text for v in held.views}
    assert sum(any(t) for t in held.truth) == 6  # half of the texts contain a firing token


def test_the_rule_search_alone_describes_a_unit_in_code_s_plain_words(ctx):
    """`eval find --mode search`: code's rule search on the agent's first scan, no LLM; the words are code's."""
    from sleuth.evals.describers import DescribeEnv, search
    from sleuth.predicates.regex_words import has_rule_syntax

    env = DescribeEnv(ctx=ctx, llm=None, agent_settings=AgentSettings(explain_windows=128), work_dir=Path("."))
    described = search("synthetic.test.the", env)
    assert described.rule == {"token_in": ["the"]} and described.written_by == "code"
    assert described.text == in_words({"token_in": ["the"]}) and not has_rule_syntax(described.text)


def test_words_in_rule_syntax_are_replaced_by_the_rule_in_plain_words(ctx, tmp_path):
    """The LLM restates its rule as a regex: a person cannot read that, so code's plain words stand in."""
    from sleuth.predicates.regex_words import has_rule_syntax

    def regex_words(request):
        if ((request.get("response_format") or {}).get("schema") or {}).get("title") == "DescriptionDraft":
            return {"description": "Fires on tokens matching /(?i)^the$/.", "claims": [{"text": "scan", "basis": "top_examples"}]}
        return policy(request)

    state, _, _ = _investigate(ctx, tmp_path, "synthetic.test.the", responder=regex_words)
    finding = state["findings"][0]
    assert finding["rule"] == {"token_in": ["the"]} and finding["words"] == in_words(finding["rule"])
    assert finding["written_by"] == "code" and not has_rule_syntax(finding["text"])
