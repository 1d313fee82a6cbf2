"""Structured output: how each server takes a JSON schema, detected once per endpoint.

- "json_schema": OpenAI and vLLM: response_format={"type": "json_schema", ...}
- "json_object": llama-cpp-python's server: {"type": "json_object", "schema": ...} (grammar-enforced)
- "prompt": the schema is only described in the prompt; output is parsed and validated.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError

from sleuth.prompts import render

MODES = ("json_schema", "json_object", "prompt")


def schema_title(response_format: dict | None) -> str | None:
    """The title of the schema a request's response_format carries (either mode), if any."""
    fmt = response_format or {}
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema") or {}
    return schema.get("title")


def response_format(mode: str, model: type[BaseModel]) -> dict | None:
    schema = model.model_json_schema()
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema, "strict": False}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def schema_instruction(model: type[BaseModel]) -> str:
    return render("llm_schema_instruction", schema=json.dumps(model.model_json_schema()))


def extract_json(text: str) -> str:
    """The JSON object in a reply (tolerates ```json fences and surrounding prose)."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[4:] if text.startswith("json") else text
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def validate(model: type[BaseModel], text: str) -> tuple[BaseModel | None, str | None]:
    """(parsed, None) or (None, a short error the model can act on)."""
    try:
        return model.model_validate_json(extract_json(text)), None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()[:4])
        return None, f"the JSON did not match the schema: {problems}"
    except ValueError as exc:
        return None, f"the reply was not valid JSON: {str(exc)[:200]}"
