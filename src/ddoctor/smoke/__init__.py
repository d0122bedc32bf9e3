"""The smoke test: a tiny LLaMA in Meta's format, sharded, loaded and generated end to end.

`model`, `generate`, `checkpoint`, `hf_check`, `rank` and `preflight` import torch, and only inside
child processes (`rank` and `preflight` are their entry points); `launch`, `judge`, `result` and
`ckpt_check` (what the CLI uses) never do. An import-linter contract in pyproject.toml holds this.
"""
