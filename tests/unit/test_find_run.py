"""The folder of an `eval find` run as `--rescore` reads it: only a run with the same held-out texts."""

import hashlib
import json
import re

import pytest

from pydantic import BaseModel

from sleuth.errors import ConfigError
from sleuth.evals import find_run


class Result(BaseModel):
    name: str
    mode: str


def _spec(**changes) -> find_run.FindRunSpec:
    base = dict(suite_checksum="abc", components=["a", "b"], model="m", llm="describer", judge_llm="j", seed=0, texts=12)
    return find_run.FindRunSpec(**{**base, **changes})


@pytest.fixture
def run(tmp_path):
    find_run.start(tmp_path, _spec())
    (tmp_path / "results").mkdir()
    for name in ("a", "b"):
        (tmp_path / "results" / f"oneshot--{name}.json").write_text(json.dumps({"name": name, "mode": "oneshot"}))
    return tmp_path


def test_the_same_run_settings_give_every_stored_result(run):
    saved, found = find_run.descriptions_to_rescore(run, _spec(judge_llm="another judge"), ["oneshot"], Result)
    assert sorted(found) == [("oneshot", "a"), ("oneshot", "b")] and saved.llm == "describer"


@pytest.mark.parametrize("changes, says", [
    ({"texts": 8}, "another texts (12 vs 8)"), ({"seed": 1}, "another seed"), ({"model": "x"}, "another model"),
    ({"suite_checksum": "zzz"}, "another suite checksum"), ({"components": ["a", "c"]}, "no component 'c'"),
    ({"components": ["a"]}, "ran 2 components, this run 1"),
])
def test_other_settings_are_one_line_errors(run, changes, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        find_run.descriptions_to_rescore(run, _spec(**changes), ["oneshot"], Result)


def test_a_missing_mode_or_a_folder_that_is_no_run_is_refused(run, tmp_path_factory):
    with pytest.raises(ConfigError, match="has no agent result for 'a'"):
        find_run.descriptions_to_rescore(run, _spec(), ["agent"], Result)
    with pytest.raises(ConfigError, match="is not an eval find run"):
        find_run.descriptions_to_rescore(tmp_path_factory.mktemp("empty"), _spec(), ["oneshot"], Result)


def test_an_old_runs_fingerprint_is_unchanged_by_the_rescore_fields():
    """Runs started before --rescore existed still resume: their fingerprint hashed the older fields only."""
    spec = _spec()
    older = spec.model_dump_json(exclude={"rescored_from", "rescored"})
    assert spec.fingerprint() == hashlib.sha256(older.encode()).hexdigest()[:16]
    assert _spec(rescored_from="/r", rescored=["read_back"]).fingerprint() != spec.fingerprint()
