"""scikit-learn on the dataset scryptex-bench wrote (features, target, split): the reference
for bench/ml.sh. A benchmark tool run in a throw-away environment, never a project dependency.

    python bench/ml_sklearn.py DATASET.csv NAME [rf,svm] [SEEDS]
"""
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

path, name = sys.argv[1], sys.argv[2]
models = (sys.argv[3] if len(sys.argv) > 3 else "rf,svm").split(",")
seeds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
frame = pd.read_csv(path)
features = [c for c in frame.columns if c not in ("target", "split")]
train = frame[frame["split"] == "train"]
test = frame[frame["split"] == "test"]
x_train, y_train = train[features].to_numpy(), train["target"].to_numpy()
x_test, y_test = test[features].to_numpy(), test["target"].to_numpy()
rows = f"{len(train)} / {len(test)}"

for model in models:
    if model == "rf":
        for jobs, label in ((None, "1 thread (default)"), (-1, "all cores")):
            accuracies, times = [], []
            for seed in range(seeds):
                start = time.perf_counter()
                forest = RandomForestClassifier(n_estimators=200, random_state=42 + seed, n_jobs=jobs).fit(x_train, y_train)
                times.append(time.perf_counter() - start)
                accuracies.append((forest.predict(x_test) == y_test).mean())
            spread = f" (mean of {seeds} seeds, {100 * min(accuracies):.2f}–{100 * max(accuracies):.2f})" if seeds > 1 else ""
            print(f"| scikit-learn | {name} | RandomForestClassifier(200), {label} | {rows} | {100 * np.mean(accuracies):.2f} %{spread} | {np.mean(times):.2f} s |")
    elif model == "svm":
        start = time.perf_counter()
        scaler = StandardScaler().fit(x_train)
        svc = SVC(kernel="rbf", C=1, gamma="scale").fit(scaler.transform(x_train), y_train)
        seconds = time.perf_counter() - start
        accuracy = (svc.predict(scaler.transform(x_test)) == y_test).mean()
        print(f"| scikit-learn | {name} | SVC(rbf, C=1, gamma=scale), StandardScaler ({len(svc.support_)} support vectors) | {rows} | {100 * accuracy:.2f} % | {seconds:.2f} s |")
