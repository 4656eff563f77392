"""sleepcore: a hybrid attention / fast-weight language model that sleeps.

Implements "Do Language Models Need Sleep? Offline Recurrence for Improved Online Inference"
(Lee, McLeish, Goldstein, Fanti; arXiv 2605.26099): at every window boundary the model runs N
passes of its block stack over the window, refining its fast weights S, then evicts its KV cache.
This package never imports streamlit.
"""

from .config import ConfigError, ModelConfig, SleepConfig
from .model import IGNORE, ForwardOutput, SleepingHybrid
from .state import FastWeights, KVCache, Memory
from .trace import Frame, Trace

__all__ = ["ConfigError", "ModelConfig", "SleepConfig", "SleepingHybrid", "ForwardOutput", "IGNORE",
           "FastWeights", "KVCache", "Memory", "Trace", "Frame"]
__version__ = "0.1.0"
