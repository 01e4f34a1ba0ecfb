"""Configs for NYC-Bike-inflow. Prepare the data first: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0"""
