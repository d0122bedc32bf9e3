"""Judgement: turn host facts into findings. No rich, typer or torch imports here."""
