"""The reference for bench/quant.sh: the same z-score mean-reversion backtest in vectorbt, the
fastest vectorised Python backtester we know, on the same bars (a CSV the Swift bench wrote).

Signals on bar t's close fill at bar t+1's open (entries and exits shifted one bar, priced at the
open), all cash, no fees: the conventions of the Swift engine. Timed after one warm-up run (numba
compiles on first use), median of ROUNDS runs; each run computes the z-score, the portfolio and
its metrics (Sharpe, Sortino, max drawdown, VaR-style quantile), as the Swift run does.
Run in a throw-away environment: python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install vectorbt
"""
import statistics
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
import pandas as pd
import vectorbt as vbt

frame = pd.read_csv(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
index = pd.to_datetime(frame["time"], unit="s")
close = pd.Series(frame["close"].to_numpy(), index=index)
open_ = pd.Series(frame["open"].to_numpy(), index=index)


def run():
    # Each window's mean and deviation computed afresh (numpy): pandas' rolling std drifts over a
    # million bars whose price falls from hundreds to 1e-5 (its z-scores there are off by whole
    # units), which would make the two runs trade differently.
    values = close.to_numpy()
    windows = sliding_window_view(values, 20)
    z_values = np.full(len(values), np.nan)
    z_values[19:] = (values[19:] - windows.mean(axis=1)) / windows.std(axis=1, ddof=1)
    z = pd.Series(z_values, index=close.index)
    entries = (z < -2).shift(1, fill_value=False)
    exits = (z > 0).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, init_cash=1_000_000, size=np.inf, fees=0.0, freq="1h")
    returns = portfolio.returns()
    metrics = (
        portfolio.sharpe_ratio(), portfolio.sortino_ratio(), portfolio.max_drawdown(),
        returns.quantile(0.05), portfolio.trades.count(),
    )
    return portfolio, metrics


run()
times = []
for _ in range(rounds):
    start = time.perf_counter()
    portfolio, metrics = run()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"| vectorbt {vbt.__version__} (Python {sys.version.split()[0]}, numba) | {len(close)} | {times[0]:.1f} | "
      f"{statistics.median(times):.1f} | {metrics[4]} trades, final equity {portfolio.final_value():.2f} |")
