"""Sequential agents (Wang et al., 2025): the iALP family, behaviour cloning, online RL and
reference policies for sessions."""
