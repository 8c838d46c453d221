"""Simulated users that speak text: a language-model stub, prompts, answer parsing, backends.

    llm = env.unwrapped.make_llm_user(alignment=0.5)    # the stub, nothing downloaded
    prompt = llm.build_prompt(info["state_text"], candidate_ids)
    answer = llm.generate(prompt, seed=0)                # text naming preferred items
    parsed = llm.parse(answer, candidate_ids)            # ids, unknown names, fallback

A real model replaces the stub through :class:`~recsim_envs.sequential.llm.backend.LLMBackend`
(``TransformersBackend`` for a local model directory, ``HTTPBackend`` for an endpoint);
both import lazily and never download anything.
"""

from recsim_envs.sequential.llm.backend import HTTPBackend, LLMBackend, TransformersBackend
from recsim_envs.sequential.llm.parse import ParsedAnswer, parse_answer
from recsim_envs.sequential.llm.prompt import build_prompt
from recsim_envs.sequential.llm.stub import LLMUser, LLMUserStub, StubConfig

__all__ = [
    "HTTPBackend",
    "LLMBackend",
    "LLMUser",
    "LLMUserStub",
    "ParsedAnswer",
    "StubConfig",
    "TransformersBackend",
    "build_prompt",
    "parse_answer",
]
