#!/usr/bin/env python3
"""Issue 6 figures: for each bug scenario and strategy, the median number of runs and wall seconds
to the first failure over CAMPAIGNS campaigns (default 5) with different base seeds
(smpsim fuzz --stop-on-first), and the median runs per second of a campaign (whole process, so
short campaigns are dominated by start-up and the pilot run). A campaign that finds nothing in MAX_RUNS counts as MAX_RUNS runs,
and a median that lands on such a campaign prints as ">MAX_RUNS" (not found within the budget).
Usage: bench/zoo_figures.py [SMPSIM] [MAX_RUNS] [CAMPAIGNS] [SCENARIO...]   prints a Markdown table."""
import re, statistics, subprocess, sys, tempfile, time, pathlib

smpsim = sys.argv[1] if len(sys.argv) > 1 else "build/release/app/smpsim"
max_runs = int(sys.argv[2]) if len(sys.argv) > 2 else 500
campaigns = int(sys.argv[3]) if len(sys.argv) > 3 else 5
root = pathlib.Path(__file__).resolve().parent.parent
strategies = ["portfolio", "random", "pct", "swarm", "monkey"]


def order(p):  # b9 before b9_large before b11
    m = re.match(r"b(\d+)(.*)", p.stem)
    return (int(m.group(1)), m.group(2)) if m else (1 << 30, p.stem)


scens = [pathlib.Path(s) for s in sys.argv[4:]] or sorted((root / "scenarios" / "bugs").glob("*.toml"), key=order)
print("| knob | strategy | median runs to first failure | median wall s | runs/s | found in |")
print("|------|----------|------------------------------|---------------|--------|----------|")
for scen in scens:
    for strat in strategies:
        runs, walls, rates, found = [], [], [], 0
        for base in range(campaigns):
            first = base * 100000 + 1
            with tempfile.TemporaryDirectory() as out:
                t0 = time.monotonic()
                r = subprocess.run([smpsim, "fuzz", str(scen), "--seeds", f"{first}..{first + max_runs - 1}",
                                    "--strategy", strat, "--stop-on-first", "--out", out],
                                   capture_output=True, text=True)
                wall = time.monotonic() - t0
            m = re.search(r"fuzz: (\d+) runs?(?: \([^)]*\))?, (\d+) failing", r.stdout)
            hit = bool(m and int(m.group(2)) > 0)
            found += hit
            runs.append(int(m.group(1)) if hit else max_runs + 1)
            walls.append(wall)
            rates.append((int(m.group(1)) if m else 0) / wall if wall > 0 else 0.0)
        med = statistics.median(runs)
        med_runs = f">{max_runs}" if med > max_runs else f"{med:g}"
        print(f"| {scen.stem.upper()} | {strat} | {med_runs} | {statistics.median(walls):.2f} | "
              f"{statistics.median(rates):.0f} | {found}/{campaigns} |",
              flush=True)
