"""Configs for SYNTH-ROAD. Prepare the data first: stlora data prepare synthetic"""
