"""Configs for PEMS04. Prepare the data first: stlora data prepare pems path/to/PEMS04"""
