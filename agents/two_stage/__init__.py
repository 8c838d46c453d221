"""Two-stage agents (Ma et al., WWW 2020): candidate generators learned from logged clicks."""
