"""Comparison runs: backbone vs backbone + ST-LoRA, result tables, plots, and the demo."""
__all__ = []
