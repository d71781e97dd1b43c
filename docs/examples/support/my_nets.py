"""A PyTorch module the docs examples import (a class must be importable to be saved)."""

import torch


class Net(torch.nn.Module):
    def __init__(self, n_in: int, hidden: int = 16) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2)
        )

    def forward(self, x):
        return self.layers(x)
