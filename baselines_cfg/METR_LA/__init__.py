"""Configs for METR-LA. Prepare the data first: stlora data prepare metr path/to/metr-la.h5"""
