"""Small reference models in plain PyTorch, run end to end with and without triforge."""
from .llama import Llama, LlamaConfig, make_batch

__all__ = ["Llama", "LlamaConfig", "make_batch"]
