"""Median (min-max) over both side-by-side runs of 2026-11-26: python3 combine.py > combined.md"""
import json, statistics as st
from pathlib import Path
here = Path(__file__).parent
rows = [json.loads(l) for d in ("2026-11-26-sbs", "2026-11-26-sbs2")
        for l in open(here / d / "results.jsonl")]
rows = [r for r in rows if not r["errors"] and not r["wrong"]]
def cell(vals, fmt):
    m = st.median(vals)
    return f"{m:{fmt}} ({min(vals):{fmt}}–{max(vals):{fmt}})" if len(vals) > 1 else f"{m:{fmt}}"
print("| workload | impl | runs | worker CPU-ms/wf median (min–max) | worker peak RSS MiB | WFT/wf | events/wf | server CPU-ms/wf | wf/s | p50@c=1 ms | other tenants' cores |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for w in ("seq3", "fanout50", "timer_signal", "noop"):
    for i in ("rust-sdk", "stave", "python"):
        rs = [r for r in rows if r["workload"] == w and r["impl"] == i]
        if not rs: continue
        g = lambda k: [r[k] for r in rs]
        print(f"| {w} | {i} | {len(rs)} | {cell(g('worker_cpu_ms_per_wf'), '.2f')} | {cell(g('worker_peak_rss_mb'), '.1f')} "
              f"| {st.median(g('wf_tasks')):.1f} | {st.median(g('hist_events')):.1f} | {st.median(g('server_cpu_ms_per_wf')):.1f} "
              f"| {st.median(g('wf_per_s')):.1f} | {st.median(g('lat1_p50_ms')):.0f} | {st.median(g('other_cores')):.2f} |")
