"""The langgraph StateGraph: retrieve -> plan -> (act -> record -> update | describe | validate)* -> answer."""

from __future__ import annotations

import functools

from langgraph.graph import END, START, StateGraph

from sleuth.agent import answer, conclude, nodes
from sleuth.agent.state import AgentState

NODES = {"retrieve": nodes.retrieve, "plan": nodes.plan, "act": nodes.act, "record": nodes.record,
         "update": nodes.update, "describe": conclude.describe, "validate": conclude.validate, "answer": answer.answer}
ROUTES = ("plan", "act", "describe", "validate", "answer")


def route(state: dict) -> str:
    return state.get("route") if state.get("route") in ROUTES else "answer"


def build_graph(deps) -> StateGraph:
    graph = StateGraph(AgentState)
    for name, fn in NODES.items():
        graph.add_node(name, functools.partial(fn, deps=deps))
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "plan")
    graph.add_conditional_edges("plan", route, {r: r for r in ROUTES})
    graph.add_edge("act", "record")
    graph.add_edge("record", "update")
    graph.add_edge("update", "plan")
    graph.add_edge("describe", "plan")
    graph.add_edge("validate", "plan")
    graph.add_edge("answer", END)
    return graph
