"""Nightly retraining: a versioned data set from the docs and feedback, a LoRA trained on
it, gated by `engine.evaluation`, shipped as a GGUF LoRA (llama.cpp) and an Ollama
Modelfile, and put in service by moving the adapter pointer (`engine.adapters`).

Depends on `engine` and `knowledge`; nothing there imports this package.
"""
