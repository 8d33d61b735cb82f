"""bench_report - results, gates, and their Markdown / JSON / PNG forms.

Results holds raw samples per (metric, system); every figure shown is the
median of its samples, with min and max. Python 3 standard library only
(the chart shells out to gnuplot when it is installed).
"""

import json
import os
import shutil
import statistics
import subprocess

LS_RTT_MS = 20  # 6e: every listing page this late (a WAN round trip)

# key: (title, unit, higher is better, reference system for the ratio)
METRICS = {
    "cold_mbps": ("1. cold sequential read", "MB/s", True, "curl"),
    "hot_mbps": ("2. hot re-read", "MB/s", True, "local cat"),
    "hot_folio_pct": ("2b. hot re-read: file in large page-cache folios",
                      "%", True, None),
    "remount_mbps": ("3. re-read after remount (disk cache)", "MB/s", True,
                     "local cat (cold)"),
    "remount_req": ("3b. re-read after remount: requests", "req", False,
                    None),
    "ttfb_ms": ("4. time to first byte, cold file", "ms", False, "curl"),
    "small1_s": ("5a. cp small files, cold, 1 reader", "s", False,
                 "rclone off"),
    "small8_s": ("5b. cp small files, cold, 8 readers", "s", False,
                 "rclone off"),
    "ls_cold_s": ("6a. ls -l userrecordings/, cold", "s", False,
                  "curl pages"),
    "ls_cold_req": ("6b. ls -l userrecordings/, cold: requests", "req",
                    False, "curl pages"),
    "ls_warm_s": ("6c. ls -l userrecordings/, warm", "s", False, None),
    "ls_warm_req": ("6d. ls -l userrecordings/, warm: requests", "req",
                    False, None),
    "ls_rtt_s": (f"6e. ls -l userrecordings/, cold, each page {LS_RTT_MS}"
                 " ms late",
                 "s", False, "curl pages"),
    "rss_mib": ("7a. recfs peak RSS (VmHWM)", "MiB", False, None),
    "cpu_s_per_gib": ("7b. CPU seconds per GiB read", "s/GiB", False,
                      "curl"),
}

THROUGHPUT = ["cold_mbps", "hot_mbps", "remount_mbps"]


class Results:
    def __init__(self, config):
        self.config = config
        self.samples = {}   # metric -> system -> [float]
        self.notes = []
        self.gates = []     # dicts: name, value, target, passed

    def add(self, metric, system, value):
        assert metric in METRICS, metric
        self.samples.setdefault(metric, {}).setdefault(system, []) \
            .append(float(value))

    def note(self, text):
        print("bench: " + text, flush=True)
        self.notes.append(text)

    def median(self, metric, system):
        s = self.samples.get(metric, {}).get(system)
        return statistics.median(s) if s else None

    def gate(self, name, value, target, passed):
        self.gates.append({"name": name, "value": value, "target": target,
                           "passed": bool(passed)})

    def failed_gates(self):
        return [g for g in self.gates if not g["passed"]]

    def rows(self):
        """(metric, system, median, min, max, n, ratio to reference)."""
        out = []
        for metric, (_, _, _, ref) in METRICS.items():
            systems = self.samples.get(metric, {})
            refmed = self.median(metric, ref) if ref else None
            for system, s in systems.items():
                med = statistics.median(s)
                ratio = med / refmed if refmed else None
                out.append((metric, system, med, min(s), max(s), len(s),
                            ratio))
        return out

    def to_json(self):
        metrics = {}
        for metric, system, med, lo, hi, n, ratio in self.rows():
            title, unit, higher, ref = METRICS[metric]
            m = metrics.setdefault(metric, {
                "title": title, "unit": unit, "higher_is_better": higher,
                "reference": ref, "systems": {}})
            m["systems"][system] = {
                "median": med, "min": lo, "max": hi, "n": n,
                "ratio_to_reference": ratio,
                "samples": self.samples[metric][system]}
        return {"config": self.config, "metrics": metrics,
                "gates": self.gates, "notes": self.notes}


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def markdown(res):
    lines = ["| measurement | system | median | min | max | n | ratio |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for metric, system, med, lo, hi, n, ratio in res.rows():
        title, unit, _, ref = METRICS[metric]
        rtxt = f"{ratio:.2f}x {ref}" if ratio is not None else ""
        lines.append(f"| {title} ({unit}) | {system} | {fmt(med)} | "
                     f"{fmt(lo)} | {fmt(hi)} | {n} | {rtxt} |")
    if res.gates:
        lines += ["", "| target | measured | required | |",
                  "|---|---:|---|---|"]
        for g in res.gates:
            lines.append(f"| {g['name']} | {fmt(g['value'])} | "
                         f"{g['target']} | "
                         f"{'pass' if g['passed'] else '**MISS**'} |")
    if res.notes:
        lines += [""] + [f"- {n}" for n in res.notes]
    return "\n".join(lines) + "\n"


def text_table(res):
    out = []
    for metric, system, med, lo, hi, n, ratio in res.rows():
        title, unit, _, ref = METRICS[metric]
        rtxt = f"{ratio:6.2f}x {ref}" if ratio is not None else ""
        out.append(f"{title + ' (' + unit + ')':52.52} {system:16.16} "
                   f"{fmt(med):>8} [{fmt(lo):>7} .. {fmt(hi):>7}] {rtxt}")
    for g in res.gates:
        out.append(f"{'PASS' if g['passed'] else 'MISS'}  {g['name']}: "
                   f"{fmt(g['value'])} (target {g['target']})")
    return "\n".join(out)


def chart(res, outdir):
    """Clustered bar chart of the throughput medians (PNG), if gnuplot is
    installed. Returns the PNG path or None."""
    if not shutil.which("gnuplot"):
        return None
    systems = []
    for m in THROUGHPUT:
        for s in res.samples.get(m, {}):
            if s not in systems:
                systems.append(s)
    if not systems:
        return None
    dat = os.path.join(outdir, "throughput.dat")
    with open(dat, "w") as f:
        f.write("system cold hot remount\n")
        for s in systems:
            vals = [res.median(m, s) for m in THROUGHPUT]
            f.write('"%s" %s\n' % (s, " ".join(
                "-" if v is None else f"{v:.1f}" for v in vals)))
    png = os.path.join(outdir, "throughput.png")
    script = f"""
set terminal png size 1000,520
set output '{png}'
set title 'recfs benchmark: sequential read, median MB/s (log scale)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '-'
set key autotitle columnhead top right
set ylabel 'MB/s'
set logscale y
set yrange [1:*]
set grid ytics
set xtics rotate by -20
plot '{dat}' using 2:xtic(1) title 'cold', '' using 3 title 'hot', \\
     '' using 4 title 'after remount'
"""
    r = subprocess.run(["gnuplot"], input=script.encode(), timeout=60,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        res.note("gnuplot failed: " + r.stderr.decode(errors="replace")[-200:])
        return None
    return png


def write_all(res, outdir):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(res.to_json(), f, indent=2)
        f.write("\n")
    png = chart(res, outdir)
    with open(os.path.join(outdir, "bench.md"), "w") as f:
        f.write("# recfs benchmark\n\n")
        f.write("Configuration: `" + json.dumps(res.config) + "`\n\n")
        f.write(markdown(res))
        if png:
            f.write(f"\n![throughput]({os.path.basename(png)})\n")
    return outdir
