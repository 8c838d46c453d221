"""What every environment family shares, and nothing else.

- :mod:`recsim_envs.core.policies` - behaviour policies that report the exact probability of
  what they draw (uniform, softmax, epsilon-greedy) and the categorical samplers.
- :mod:`recsim_envs.core.stats` - intervals over seeds, paired differences, multiple-
  comparison corrections.
- :mod:`recsim_envs.core.threads` - a fixed number of torch / BLAS threads for a block of work.
"""
