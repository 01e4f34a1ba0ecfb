"""Configs for PEMS07. Prepare the data first: stlora data prepare pems path/to/PEMS07"""
