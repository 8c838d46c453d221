"""Environment ids of specs and ``--env``: built-in, or registered by the user's own module.

``recsim_envs/TwoStageSynthetic-v0`` names a built-in environment. ``mypkg.envs:MyEnv-v0``
names one that the module ``mypkg.envs`` registers with Gymnasium when imported (the
``module:id`` form Gymnasium's own ``make`` accepts): :func:`resolve_env_id` imports the
module and returns the id ``MyEnv-v0``. The family that runs it is the spec's ``family``;
the environment must implement that family's interface (``log_rounds`` and the family's
attributes), which subclassing a built-in environment of the family gives. See
``recsim_envs/examples/my_env.py``.
"""

from __future__ import annotations

import difflib
import importlib

import gymnasium as gym


class EnvIdError(ValueError):
    """An environment id that cannot be resolved; the message names the problem."""


def split_env_id(text: str) -> tuple[str | None, str]:
    """``"mypkg.envs:MyEnv-v0"`` -> ``("mypkg.envs", "MyEnv-v0")``; ``(None, text)`` for a
    plain id."""
    module, sep, env_id = text.partition(":")
    if not sep:
        return None, text
    if not module or not env_id or ":" in env_id:
        raise EnvIdError(f"environment id {text!r}: expected ID or module.path:ID "
                         "(e.g. mypkg.envs:MyEnv-v0)")
    return module, env_id


def resolve_env_id(text: str) -> str:
    """The Gymnasium id named by ``text``, importing its module first when given.

    Args:
        text: ``ID`` (e.g. ``recsim_envs/TwoStageSynthetic-v0``) or ``module.path:ID``.

    Returns:
        The registered id (``ID``).

    Raises:
        EnvIdError: the module does not import (the message names it and the error), or
            the id is not registered after importing it (the message lists close ids).
    """
    import recsim_envs  # noqa: F401  (registers the built-in ids)

    module, env_id = split_env_id(text.strip())
    if module is not None:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EnvIdError(
                f"environment {text!r}: could not import module {module!r} ({exc}); it must "
                "be importable from the working directory or the installed packages"
            ) from exc
        except Exception as exc:  # the user's module raised while importing
            raise EnvIdError(
                f"environment {text!r}: importing module {module!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=5, cutoff=0.5)
        where = f"module {module!r} did not register it" if module else (
            "it is not registered; a custom environment is named as module.path:ID so that "
            "its module is imported first")
        hint = f"; close registered ids: {close}" if close else ""
        raise EnvIdError(f"unknown environment {env_id!r}: {where}{hint}")
    return env_id


def env_label(text: str) -> str:
    """A short label for an id: ``mypkg.envs:MyEnv-v0`` and ``ns/MyEnv-v0`` -> ``MyEnv-v0``."""
    return text.split(":")[-1].split("/")[-1]
