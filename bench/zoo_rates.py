#!/usr/bin/env python3
"""Issue 6: how often one run finds each bug knob, by strategy, and so how many fewer runs than
`random` any strategy could need. For each scenario under scenarios/bugs/ whose knob has depth
>= 2 under any reading of docs/bugs.md, runs one campaign of RUNS seeds (1..RUNS, no --stop-on-first) per strategy
and counts the failing runs. Runs of a campaign are independent draws, so the runs to the first
failure are geometric with mean 1/p; no strategy needs fewer than 1, so against random the most
any strategy can gain is 1/p(random): where random fails more often than one run in ten, "10x
fewer runs than random" cannot be met by any strategy. A strategy's gain is p(it) / p(random).
Usage: bench/zoo_rates.py [SMPSIM] [RUNS] [STRATEGY...]   prints a Markdown table."""
import json, pathlib, re, subprocess, sys, tempfile

smpsim = sys.argv[1] if len(sys.argv) > 1 else "build/release/app/smpsim"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
strategies = sys.argv[3:] or ["random", "pct"]
root = pathlib.Path(__file__).resolve().parent.parent

depth = {}
for line in (root / "docs" / "bugs.md").read_text().splitlines():
    m = re.match(r"\| (B\d+) \|.*\| ([^|]+) \|\s*$", line)
    if m:
        depth[m.group(1)] = m.group(2).strip()  # "2", or "1 (2)": 1, or 2 as docs/bugs.md says


def order(p):  # b8 before b8_large before b15
    m = re.match(r"b(\d+)(.*)", p.stem)
    return (int(m.group(1)), m.group(2))


scens = [p for p in sorted((root / "scenarios" / "bugs").glob("b*.toml"), key=order)
         if max(map(int, re.findall(r"\d+", depth.get(p.stem.split("_")[0].upper(), "0")))) >= 2]
head = "| knob | depth |" + "".join(f" {s}: failing runs | {s}: mean runs to first |" for s in strategies)
others = [s for s in strategies if s != "random"]
head += "".join(f" {s}'s gain on random |" for s in others)
print(head + " most any strategy can gain on random |")
print("|" + "---|" * (head.count("|") - 1 + 1))
for scen in scens:
    knob = scen.stem.upper()
    cells, p = [], {}
    for strat in strategies:
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([smpsim, "fuzz", str(scen), "--seeds", f"1..{runs}", "--strategy", strat,
                            "--jobs", "1", "--out", out], capture_output=True, text=True, check=False)
            lines = (pathlib.Path(out) / "results.jsonl").read_text().splitlines()
        fails = sum(1 for line in lines if json.loads(line)["failed"])
        p[strat] = fails / len(lines)
        mean = f"{1 / p[strat]:.1f}" if fails else f">{len(lines)}"
        cells.append(f" {fails}/{len(lines)} | {mean} |")
    # p(s) / p(random): how many times fewer runs s needs, on the mean. When random never failed,
    # its p is below 3/RUNS with 95 % confidence (the rule of three), which bounds the gain below.
    p_random = p.get("random", 0) or 3 / runs
    bound = "" if p.get("random") else ">= "
    for s in others:
        cells.append(f" {bound}{p[s] / p_random:.2f}x |")
    gain = f"{1 / p['random']:.1f}x" if p.get("random") else "unbounded"
    print(f"| {knob} | {depth[knob.split('_')[0]]} |" + "".join(cells) + f" {gain} |", flush=True)
