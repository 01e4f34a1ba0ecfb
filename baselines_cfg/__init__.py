"""BasicTS config files: baselines_cfg/<DATASET>/<Model>.py and <Model>_STLoRA.py (see README)."""
