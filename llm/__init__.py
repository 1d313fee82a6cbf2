"""The LLM layer: one OpenAI-compatible client, the embedded llama.cpp server, a scripted fake.

Imports none of sleuth's interpretability code.
"""

from sleuth.llm.client import LLMClient
from sleuth.llm.errors import InvalidOutput, LLMError, LLMRefused, LLMTimedOut, LLMUnreachable
from sleuth.llm.settings import LLMConfig, llm_config
from sleuth.llm.usage import CallUsage, UsageLedger

__all__ = ["CallUsage", "InvalidOutput", "LLMClient", "LLMConfig", "LLMError", "LLMRefused", "LLMTimedOut", "LLMUnreachable",
           "UsageLedger",
           "llm_config"]
