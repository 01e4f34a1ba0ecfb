"""Configs for NYC-Taxi-inflow. Prepare the data first: stlora data prepare nyc ../shared/datasets/NYC-Taxi/201901-202012-NYCtaxi-inoutflow-60min.npz --channel 0"""
