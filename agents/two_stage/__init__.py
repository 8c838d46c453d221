"""Two-stage agents (Ma et al., WWW 2020): the candidate-generator base
(:mod:`~agents.two_stage.base`, data checks in :mod:`~agents.two_stage.data`), one leaf per
method (:mod:`~agents.two_stage.ce`, :mod:`~agents.two_stage.ips`,
:mod:`~agents.two_stage.topk_correction`, :mod:`~agents.two_stage.two_ips`) and the
reference policies (:mod:`~agents.two_stage.reference`)."""
