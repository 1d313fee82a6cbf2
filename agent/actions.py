"""Free experiment choice: an action schema built from the tool registry and the loaded target.

Each tool becomes one variant {"tool": <name>, "args": <its input model>, "reason": ...}; the JSON
schema sent to the LLM has the target's bounds and site patterns (tools.schema.specialise), and the
arguments are validated again by the registry, so a wrong call comes back as a message.
Used after a protocol's floor when `free_steps` > 0 (strong endpoints).
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from sleuth.tools import get_tool
from sleuth.tools.schema import specialise

FREE_TOOLS = {
    "neuron": ("activations", "ablate", "steer", "logit_lens"),
    "head": ("attention_pattern", "ablate", "head_scan", "direct_logit_attribution"),
}


def action_model(target, tool_names: tuple[str, ...]) -> type[BaseModel]:
    def bounded(schema: dict, cls=None) -> None:
        schema.update(specialise(schema, target))

    variants = []
    for name in tool_names:
        spec = get_tool(name)
        args = type(f"{name}_args", (spec.input_model,), {"model_config": ConfigDict(json_schema_extra=bounded)})
        variants.append(create_model(f"call_{name}", tool=(Literal[name], ...), args=(args, ...),
                                     reason=(str, Field("", max_length=300))))
    union = Union[tuple(variants)] if len(variants) > 1 else variants[0]  # noqa: UP007
    return create_model("Action", call=(union, Field(discriminator="tool")))


def plan_free(task: dict, state: dict, deps) -> dict:
    """One LLM-chosen experiment; its arguments are checked again by the registry when it runs."""
    from sleuth.agent.head import scan_summary

    names = FREE_TOOLS["head" if task["kind"] == "head" else "neuron"]
    reply = deps.ask("free_action", action_model(deps.target, names), max_tokens=400, component=task["component"],
                     model=deps.target.name, hypotheses=task.get("hypotheses", []),
                     notes=[n["summary"] for n in task.get("notes", [])] + scan_summary(task),
                     tools=[(n, get_tool(n).description) for n in names], feedback=task.get("feedback"))
    call = reply.call
    return {"pending": [{"tool": call.tool, "args": call.args.model_dump(mode="json"), "purpose": "free",
                         "reason": call.reason}]}
