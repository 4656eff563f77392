"""The math of the model: fast-weight rules (reference loop + chunked twin)."""

from .fast_weights import RULES, fast_weight_rule, fast_weight_trajectory, gated_delta_rule, gated_hebbian_rule

__all__ = ["RULES", "fast_weight_rule", "fast_weight_trajectory", "gated_delta_rule", "gated_hebbian_rule"]
