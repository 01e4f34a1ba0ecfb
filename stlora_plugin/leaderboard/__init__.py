"""Comparison runs: backbone vs backbone + ST-LoRA, ablations, the adaptation study, tables, plots, the demo."""
__all__ = []
