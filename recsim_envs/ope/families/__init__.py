"""Each family's off-policy inputs: what turns an agent and a logged dataset of that family
into the arrays the estimators of :mod:`recsim_envs.ope` read (the target's probabilities of
the logged actions, reward models, kernel densities, session logs).

A family names its module in :attr:`recsim_envs.core.family.FamilyDescription.off_policy`;
:func:`recsim_envs.ope.estimate_policy` is the one caller.
"""
