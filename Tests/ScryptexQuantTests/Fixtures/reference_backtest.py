"""Reference figures for the quant tests, from the open-source libraries the issue names.

Run in a throw-away environment (never a dependency of the project):
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install backtesting==0.6.6 empyrical==0.5.5 six "pandas<2.3" "numpy<2"
    /tmp/ref/bin/python reference_backtest.py ../../../../shared/data/market/eth-usd-daily.csv
It prints the figures QuantReferenceTests.swift pins: the seed's z-score mean-reversion strategy
(lookback 20, threshold 2, exit 0) backtested by backtesting.py with its defaults (fills at the
next open, no commission, all cash in whole units: size 0.9999 is the largest fraction it takes),
and empyrical's metrics of the resulting daily equity returns (N = 365).
"""
import json
import sys

import empyrical
import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy


def zscore(close, n):
    close = pd.Series(close)
    mean = close.rolling(n).mean()
    std = close.rolling(n).std(ddof=1)
    return ((close - mean) / std).to_numpy()


class MeanReversion(Strategy):
    n = 20
    threshold = 2.0
    exit = 0.0

    def init(self):
        self.z = self.I(zscore, self.data.Close, self.n)

    def next(self):
        z = self.z[-1]
        if np.isnan(z):
            return
        if not self.position and z < -self.threshold:
            self.buy(size=0.9999)
        elif self.position.is_long and z > self.exit:
            self.position.close()


frame = pd.read_csv(sys.argv[1], parse_dates=["Date"], index_col="Date")
frame = frame[["Open", "High", "Low", "Close", "Volume"]]
run = Backtest(frame, MeanReversion, cash=1_000_000, commission=0.0, trade_on_close=False, exclusive_orders=False)
stats = run.run()
equity = stats["_equity_curve"]["Equity"]
returns = equity.pct_change()
returns.iloc[0] = equity.iloc[0] / 1_000_000 - 1
trades = stats["_trades"]
print(json.dumps({
    "finalEquity": float(equity.iloc[-1]),
    "closedTrades": int(len(trades)),
    "firstTrade": {
        "entryTime": str(trades["EntryTime"].iloc[0].date()), "entryPrice": float(trades["EntryPrice"].iloc[0]),
        "exitTime": str(trades["ExitTime"].iloc[0].date()), "exitPrice": float(trades["ExitPrice"].iloc[0]),
        "size": int(trades["Size"].iloc[0]), "pnl": float(trades["PnL"].iloc[0]),
    },
    "winRate": float((trades["PnL"] > 0).mean()),
    "sharpe": float(empyrical.sharpe_ratio(returns, period=empyrical.DAILY, annualization=365)),
    "sortino": float(empyrical.sortino_ratio(returns, annualization=365)),
    "annualReturn": float(empyrical.annual_return(returns, annualization=365)),
    "annualVolatility": float(empyrical.annual_volatility(returns, annualization=365)),
    "maxDrawdown": float(empyrical.max_drawdown(returns)),
    "calmar": float(empyrical.calmar_ratio(returns, annualization=365)),
    "valueAtRisk": float(empyrical.value_at_risk(returns, cutoff=0.05)),
    "expectedShortfall": float(empyrical.conditional_value_at_risk(returns, cutoff=0.05)),
}, indent=2))
