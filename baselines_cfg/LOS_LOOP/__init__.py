"""Configs for LOS-LOOP. Prepare the data first: stlora data prepare los-loop ../shared/datasets/LOS-LOOP"""
