"""The smoke test: a tiny LLaMA in Meta's format, sharded, loaded and generated end to end.

Only `model`, `checkpoint`, `generate` and `rank` import torch, and only inside rank processes;
`launch` (the orchestrator the CLI uses) never does.
"""
