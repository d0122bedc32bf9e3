"""Presentation: model values in, text out. Never probes, parses or imports host code."""
