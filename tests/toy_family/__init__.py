"""A fourth family, registered from this test folder: a K-armed logistic contextual bandit.

It shows that a new family needs no shared code edited: a description
(:mod:`tests.toy_family.family`), environments with a world built once
(:mod:`tests.toy_family.env`), a harness (:mod:`tests.toy_family.harness`), off-policy
inputs (:mod:`tests.toy_family.ope`) and agents given as ``module:Class``
(:mod:`tests.toy_family.agents`). ``register()`` adds it to the suite.
"""

from __future__ import annotations


def register():
    from recsim_envs.families import register_family
    from tests.toy_family.family import FAMILY

    return register_family(FAMILY)
