"""Prompt agents (Kiyohara et al., 2025), policies over prompts, each a leaf on
:mod:`agents.prompt.base`: :mod:`~agents.prompt.dso` (DSO), :mod:`~agents.prompt.gradients`
(regression, IS, DR, POTEC), :mod:`~agents.prompt.online` (the online skyline) and
:mod:`~agents.prompt.reference` (uniform and logging policies)."""
