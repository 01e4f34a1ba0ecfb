"""Configs for PEMS03. Prepare the data first: stlora data prepare pems path/to/PEMS03"""
