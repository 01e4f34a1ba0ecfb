"""Configs for PEMS08. Prepare the data first: stlora data prepare pems path/to/PEMS08"""
