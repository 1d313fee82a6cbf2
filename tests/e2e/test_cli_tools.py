import json


def test_tools_list_and_schema(cli):
    names = {t["name"] for t in json.loads(cli("tools", "list", "--json").stdout)}
    assert {"ablate", "patch", "probe", "top_activations"} <= names
    schema = json.loads(cli("tools", "schema", "attention_pattern", "--model", "smollm2-135m").stdout)
    assert schema["properties"]["head"]["maximum"] == 8


def test_tools_run_json(cli):
    args = json.dumps({"components": ["L4H5"], "texts": ["When Mary and John went out, John gave it to"],
                       "answers": [" Mary"], "foils": [" John"]})
    result = json.loads(cli("tools", "run", "ablate", "--model", "smollm2-135m", "--args", args, "--json").stdout)
    assert result["tool"] == "ablate" and result["provenance"]["model"] == "smollm2-135m"
    assert result["data"]["per_example"][0]["logit_diff_clean"] > 0


def test_tools_run_bad_input(cli):
    proc = cli("tools", "run", "activations", "--args", '{"site": "blocks.99.mlp.hook_post[1]", "texts": ["x"]}', ok=False)
    assert proc.returncode != 0 and "layers 0..29" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("tools", "run", "activations", "--args", "{not json", ok=False)
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr
    proc = cli("tools", "run", "frobnicate", ok=False)
    assert proc.returncode != 0 and "unknown tool 'frobnicate'" in proc.stderr
