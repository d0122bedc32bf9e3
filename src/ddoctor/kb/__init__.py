"""The knowledge base: one TOML file per failure signature, and the matcher that applies them."""
