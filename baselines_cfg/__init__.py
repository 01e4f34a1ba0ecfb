"""BasicTS config files: baselines_cfg/<DATASET>/backbone.py and backbone_stlora.py (MODEL names the zoo backbone),
ST-SepNet's STSepNet_*.py, and decorator_example.py, the decorator line on a model of your own (see README)."""
