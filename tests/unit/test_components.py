"""Deterministic parsing of components and question shapes (no model)."""

import pytest

from sleuth.agent.components import find_components, parse_question
from sleuth.target import Site


@pytest.mark.parametrize("question,expected", [
    ("what does L3N100 do?", ["blocks.3.mlp.hook_post[100]"]),
    ("what does l4h5 do?", ["blocks.4.attn.hook_z[5]"]),
    ("What does layer 4 head 5 do?", ["blocks.4.attn.hook_z[5]"]),
    ("what does head 5 in layer 4 attend to?", ["blocks.4.attn.hook_z[5]"]),
    ("what does MLP neuron 3.1021 do?", ["blocks.3.mlp.hook_post[1021]"]),
    ("explain neuron 7 of layer 2", ["blocks.2.mlp.hook_post[7]"]),
    ("what does neuron blocks.3.mlp.hook_post[17] do?", ["blocks.3.mlp.hook_post[17]"]),
    ("compare L1H2 and blocks.2.attn.hook_z[3], then L1H2 again.", ["blocks.1.attn.hook_z[2]", "blocks.2.attn.hook_z[3]"]),
    ("is blocks.6.hook_resid_post~my-probe linear?", ["blocks.6.hook_resid_post~my-probe"]),
])
def test_components_are_read_exactly(question, expected):
    assert [str(s) for s in find_components(question)] == expected


def test_question_shapes():
    assert parse_question("which heads do induction?").model_dump(exclude_defaults=True) == {
        "kind": "search", "unit": "head", "head_kind": "induction"}
    dates = parse_question("what in layer 5 responds to dates?")
    assert (dates.kind, dates.unit, dates.layer, dates.concept) == ("search", "neuron", 5, "dates")
    ioi = parse_question("which components make the model answer 'Mary' in \"When Mary and John went out, John gave it to\"?")
    assert (ioi.kind, ioi.answer, ioi.prompt) == ("behaviour", "Mary", "When Mary and John went out, John gave it to")
    assert parse_question("what does L0H1 do?").kind == "component"


def test_short_notation():
    assert Site.parse("blocks.4.attn.hook_z[5]").short == "L4H5"
    assert Site.parse("blocks.3.mlp.hook_post[100]").short == "L3N100"
    assert Site.parse("blocks.3.hook_resid_post[2]").short == "blocks.3.hook_resid_post[2]"
