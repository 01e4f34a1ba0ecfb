"""Configs for PEMS-BAY. Prepare the data first: stlora data prepare metr path/to/pems-bay.h5"""
