"""The investigation agent: a langgraph StateGraph from question to validated, evidence-citing descriptions."""

from sleuth.agent.components import QuestionShape, find_components, parse_question
from sleuth.agent.deps import AgentDeps
from sleuth.agent.session import Investigator, UnknownThread

__all__ = ["AgentDeps", "Investigator", "QuestionShape", "UnknownThread", "find_components", "parse_question"]
