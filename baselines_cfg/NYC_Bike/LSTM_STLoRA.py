"""LSTM + ST-LoRA on NYC-Bike-inflow under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Bike/LSTM_STLoRA.py   (or python -m baselines_cfg.NYC_Bike.LSTM_STLoRA)
"""
from stlora_plugin.zoo import LSTMSTLoRA, experiment

CFG = experiment(LSTMSTLoRA, "NYC-Bike-inflow", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
