"""Backends that turn a prompt into text: the protocol, a local transformers model, HTTP.

The stub (:class:`recsim_envs.sequential.llm.stub.LLMUserStub`) is the default backend and needs
nothing downloaded. The two real backends import their dependencies only when built and
never download: :class:`TransformersBackend` loads a model directory already on disk
(``local_files_only=True``) and :class:`HTTPBackend` posts to an endpoint you run.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Protocol, runtime_checkable


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that answers a prompt: ``generate(prompt, seed) -> text``.

    The same (prompt, seed) should give the same text;
    :class:`~recsim_envs.sequential.llm.stub.LLMUser`
    caches answers by (prompt, seed) in any case.
    """

    def generate(self, prompt: str, seed: int) -> str: ...


class TransformersBackend:
    """A local Hugging Face causal language model (e.g. a Mistral 7B directory on disk).

    Args:
        model_path: a local directory with the model and tokenizer; nothing is downloaded.
        max_new_tokens: answer length limit.
        temperature: sampling temperature (0 = greedy decoding).
    """

    def __init__(self, model_path: str, max_new_tokens: int = 96, temperature: float = 0.0):
        try:
            import torch
            import transformers
        except ImportError as exc:  # optional dependency
            raise ImportError(
                "TransformersBackend needs the 'transformers' package (pip install "
                "transformers); the default stub backend needs nothing"
            ) from exc
        self._torch = torch
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model_path,
                                                                    local_files_only=True)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            model_path, local_files_only=True)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature

    def generate(self, prompt: str, seed: int) -> str:
        generator = self._torch.Generator().manual_seed(int(seed))  # seeded, not global
        ids = self.tokenizer(prompt, return_tensors="pt")
        kwargs = {"max_new_tokens": self.max_new_tokens, "do_sample": self.temperature > 0}
        if self.temperature > 0:
            kwargs["temperature"] = self.temperature
            kwargs["generator"] = generator
        out = self.model.generate(**ids, **kwargs)
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


class HTTPBackend:
    """POST ``{"prompt": ..., "seed": ...}`` as JSON to ``url``; expects ``{"text": ...}``."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        self.url = url
        self.timeout = timeout

    def generate(self, prompt: str, seed: int) -> str:
        body = json.dumps({"prompt": prompt, "seed": int(seed)}).encode()
        req = urllib.request.Request(self.url, data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                payload = json.loads(resp.read().decode())
        except OSError as exc:  # URLError, timeouts, refused connections (e.g. offline)
            raise RuntimeError(
                f"the language-model endpoint {self.url} did not answer ({exc}); start the "
                "server or use the default stub backend, which needs no network") from exc
        if "text" not in payload:
            raise ValueError(f"the endpoint {self.url} answered without a 'text' field: "
                             f"{sorted(payload)}")
        return str(payload["text"])
