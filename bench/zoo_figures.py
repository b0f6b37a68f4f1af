#!/usr/bin/env python3
"""Issue 6 figures: for each bug scenario and strategy, the median number of runs and wall seconds
to the first failure over 5 campaigns with different base seeds (smpsim fuzz --stop-on-first).
Usage: bench/zoo_figures.py [SMPSIM] [MAX_RUNS]   prints a Markdown table."""
import re, statistics, subprocess, sys, tempfile, time, pathlib

smpsim = sys.argv[1] if len(sys.argv) > 1 else "build/release/app/smpsim"
max_runs = int(sys.argv[2]) if len(sys.argv) > 2 else 500
root = pathlib.Path(__file__).resolve().parent.parent
strategies = ["portfolio", "random", "pct"]
print("| knob | strategy | median runs to first failure | median wall s | found in |")
print("|------|----------|------------------------------|---------------|----------|")
for scen in sorted((root / "scenarios" / "bugs").glob("*.toml"), key=lambda p: int(p.stem[1:])):
    for strat in strategies:
        runs, walls, found = [], [], 0
        for base in range(5):
            first = base * 100000 + 1
            with tempfile.TemporaryDirectory() as out:
                t0 = time.monotonic()
                r = subprocess.run([smpsim, "fuzz", str(scen), "--seeds", f"{first}..{first + max_runs - 1}",
                                    "--strategy", strat, "--stop-on-first", "--out", out],
                                   capture_output=True, text=True)
                wall = time.monotonic() - t0
            m = re.search(r"fuzz: (\d+) runs, (\d+) failing", r.stdout)
            if m and int(m.group(2)) > 0:
                found += 1
                runs.append(int(m.group(1)))
                walls.append(wall)
        med_runs = statistics.median(runs) if runs else float("nan")
        med_wall = statistics.median(walls) if walls else float("nan")
        print(f"| {scen.stem.upper()} | {strat} | {med_runs:g} | {med_wall:.2f} | {found}/5 |", flush=True)
