"""What a user gets: the shipped commands' speed beside the authors' loops, each in its own process.

* **DC iteration**: ``dcbench condense --method dc --preset paper`` with its default options
  (only ``--set dc.iterations=K``; and once more with ``--set dc.precision=bf16``, the opt-in
  precision, whose first-iteration loss is compared with fp32's), seconds per iteration read
  from the set it writes (``meta.iteration_s``; the first iteration, which compiles, is left
  out), against a loop written as the authors' ``main.py`` reads: a new network per iteration,
  per class a forward and backward on 256 real images and one with ``create_graph`` on the
  synthetic ones, one SGD step on the images per outer step, inner training through a
  DataLoader. At ipc 10 the
  authors' iteration is timed as one outer step (matching + inner epochs) times 10 (their
  iteration is 10 of them; the last without inner training, which this slightly overcounts).
* **Evaluation training**: ``dcbench evaluate SET --num-models 1`` (the set is the condensed
  ipc-10 one; the protocol's 300 epochs = 301 passes; seconds read from ``metrics.json``
  ``train_s``), against the authors' ``evaluate_synset`` written plainly: TensorDataset +
  DataLoader(batch 256, shuffle), SGD(momentum 0.9, weight decay 5e-4), the optimiser rebuilt
  at the lr drop after pass Epoch//2 + 1.

Beside them: FLOPs of each (``FlopCounterMode``), the measured fp32 and bf16 GEMM rates of this
machine. The loss check of the DC engine against a per-class reference on the same inputs is
``benchmarks/dc_speed.py``'s. Run on an idle machine:

    python benchmarks/cli_speed.py --out benchmarks/results/cli_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from dc_speed import reference_distance  # the paper's distance written plainly, one copy
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from dcbench.condense.config import make_config
from dcbench.condense.dc import paper_loops
from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import load_dataset
from dcbench.models import model_from_spec
from dcbench.results.manifest import environment_info

DATASET = "fashion-mnist"


def cli(args: list[str], results: Path, threads: int) -> None:
    cmd = [sys.executable, "-m", "dcbench", *args, "--threads", str(threads), "--quiet"]
    subprocess.run(cmd, check=True, env={**os.environ, "DCBENCH_RESULTS": str(results)})


def cli_dc(ipc: int, iterations: int, threads: int, work: Path, method: str = "dc",
           extra: tuple[str, ...] = (), preset: str = "paper") -> dict:
    """``dcbench condense`` of ``iterations`` iterations with ``preset``'s other settings."""
    out = work / f"{method}-ipc{ipc}-{preset}{'-' + '-'.join(extra) if extra else ''}"
    t0 = time.perf_counter()
    sets = [a for kv in extra for a in ("--set", f"{method}.{kv}")]
    cli(["condense", "--method", method, "--ipc", str(ipc), "--preset", preset,
         "--set", f"{method}.iterations={iterations}", *sets, "--out", str(out)],
        work / "results", threads)
    wall = time.perf_counter() - t0
    meta = SyntheticSet.load(out / "set.pt").meta
    steady = meta["iteration_s"][1:]
    return {"command": f"dcbench condense --method {method} --ipc {ipc} --preset {preset} "
                       f"--set {method}.iterations={iterations}"
                       + "".join(f" --set {method}.{kv}" for kv in extra),
            "loss_history": meta["loss_history"],
            "iteration_s": meta["iteration_s"], "seconds_per_iteration": statistics.median(steady),
            "first_iteration_s": meta["iteration_s"][0], "process_wall_s": wall,
            "settings": meta["hparams"], "set": str(out / "set.pt")}


def authors_dc(ipc: int, threads: int, iterations: int) -> dict:
    """DC iterations written as the authors' main.py reads (eager, per class, DataLoader)."""
    torch.set_num_threads(threads)
    ds = load_dataset(DATASET)
    outer, inner = paper_loops(ipc)
    k = ds.num_classes
    idx = [ds.class_indices(c) for c in range(k)]
    syn = torch.randn(k * ipc, ds.channels, *ds.image_size, requires_grad=True)
    labels = torch.arange(k).repeat_interleave(ipc)
    opt_img = torch.optim.SGD([syn], lr=0.1, momentum=0.5)
    timed_outer = 1 if ipc > 1 else outer  # ipc 10: one outer step, then x outer

    def iteration() -> None:
        net = model_from_spec("convnet", ds.channels, k, ds.image_size)
        params = list(net.parameters())
        opt_net = torch.optim.SGD(params, lr=0.01)
        for _ in range(timed_outer):
            loss = torch.tensor(0.0)
            for c in range(k):
                x = ds.x_train[idx[c][torch.randperm(len(idx[c]))[:256]]]
                gr = torch.autograd.grad(F.cross_entropy(net(x), torch.full((len(x),), c)),
                                         params)
                gr = [g.detach().clone() for g in gr]
                out = net(syn[c * ipc:(c + 1) * ipc])
                gs = torch.autograd.grad(F.cross_entropy(out, labels[c * ipc:(c + 1) * ipc]),
                                         params, create_graph=True)
                loss = loss + reference_distance(gs, gr)
            opt_img.zero_grad()
            loss.backward()
            opt_img.step()
            if outer == 1:
                break
            loader = DataLoader(TensorDataset(syn.detach().clone(), labels.clone()),
                                batch_size=256, shuffle=True)
            for _ in range(inner):
                for x, y in loader:
                    opt_net.zero_grad()
                    F.cross_entropy(net(x), y).backward()
                    opt_net.step()

    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        iteration()
        times.append((time.perf_counter() - t0) * (outer / timed_outer))
    return {"seconds_per_iteration": statistics.median(times), "iteration_s": times,
            "timed_outer_steps": timed_outer, "outer_loop": outer, "inner_loop": inner}


def authors_evaluate(set_path: Path, threads: int, epochs: int = 300) -> dict:
    """The authors' evaluate_synset, written plainly; returns training seconds and accuracy."""
    torch.set_num_threads(threads)
    ds = load_dataset(DATASET)
    sset = SyntheticSet.load(set_path)
    torch.manual_seed(0)
    net = model_from_spec("convnet", ds.channels, ds.num_classes, ds.image_size)
    lr = 0.01
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=0.0005)
    loader = DataLoader(TensorDataset(sset.images, sset.labels), batch_size=256, shuffle=True)
    t0 = time.perf_counter()
    net.train()
    for ep in range(epochs + 1):
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if ep == epochs // 2 + 1:
            lr *= 0.1
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=0.0005)
    train_s = time.perf_counter() - t0
    net.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(TensorDataset(ds.x_test, ds.y_test), batch_size=256):
            correct += int((net(x).argmax(1) == y).sum())
    return {"train_s": train_s, "accuracy": 100 * correct / len(ds.y_test), "passes": epochs + 1}


def cli_evaluate(set_path: Path, threads: int, work: Path) -> dict:
    results = work / "results"
    cli(["evaluate", str(set_path), "--num-models", "1", "--models", "convnet"], results,
        threads)
    (metrics,) = sorted((results / "evaluate").glob("*/metrics.json"))[-1:]
    m = json.loads(metrics.read_text())["models"]["convnet"]
    return {"command": "dcbench evaluate SET --num-models 1", "train_s": m["train_s"][0],
            "accuracy": m["accuracies"][0], "passes": m["protocol"]["epochs"] + 1}


def flops_per_pass(images: int, ds) -> int:
    net = model_from_spec("convnet", ds.channels, ds.num_classes, ds.image_size)
    x, y = torch.randn(images, ds.channels, *ds.image_size), torch.zeros(images, dtype=torch.long)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(x), y).backward()
    return counter.get_total_flops()


def gemm_rate(dtype: torch.dtype, n: int = 2048) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def in_process(name: str, args: argparse.Namespace) -> dict:
    """Run one measurement in a fresh interpreter (no allocator or thread state shared)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([sys.executable, __file__, "--side", name, "--threads", str(args.threads),
                        "--ipc", args.ipc, "--work", str(args.work), "--out", f.name],
                       check=True)
        return json.loads(Path(f.name).read_text())


def side(name: str, args: argparse.Namespace) -> dict:
    kind, _, ipc = name.partition(":")
    if kind == "authors-dc":
        return authors_dc(int(ipc), args.threads, 3 if int(ipc) == 1 else 1)
    if kind == "authors-evaluate":
        return authors_evaluate(Path(ipc), args.threads)
    raise SystemExit(f"unknown side {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ipc", default="1,10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, help="scratch directory (default: a fresh temporary "
                    "one, so no earlier set is ever reused as a measurement)")
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/cli_speed.json"))
    args = ap.parse_args()
    if args.side:
        args.out.write_text(json.dumps(side(args.side, args)))
        return
    if args.work is None:
        args.work = Path(tempfile.mkdtemp(prefix="dcbench-speed-"))
    elif args.work.exists() and any(args.work.iterdir()):
        raise SystemExit(f"{args.work} is not empty: its sets would be reused, not timed")
    torch.set_num_threads(args.threads)
    ds = load_dataset(DATASET)
    report: dict = {"dataset": DATASET, "threads": args.threads, "environment": environment_info(),
                    "gemm_gflops": {"fp32": gemm_rate(torch.float32) / 1e9,
                                    "bf16": gemm_rate(torch.bfloat16) / 1e9}, "dc": {}}
    ipcs = [int(i) for i in args.ipc.split(",")]
    for ipc in ipcs:
        ours = cli_dc(ipc, 4 if ipc == 1 else 2, args.threads, args.work)
        theirs = in_process(f"authors-dc:{ipc}", args)
        bf16 = cli_dc(ipc, 4 if ipc == 1 else 2, args.threads, args.work,
                      extra=("precision=bf16",))
        first = ours["loss_history"][0], bf16["loss_history"][0]  # same seed, same network
        report["dc"][str(ipc)] = {"cli": ours, "authors": theirs,
                                  "speedup": theirs["seconds_per_iteration"]
                                  / ours["seconds_per_iteration"],
                                  "cli_bf16": bf16,
                                  "speedup_bf16": theirs["seconds_per_iteration"]
                                  / bf16["seconds_per_iteration"],
                                  "bf16_first_loss_rel_diff": abs(first[1] - first[0])
                                  / abs(first[0])}
        print(f"dc ipc {ipc}: cli {ours['seconds_per_iteration']:.2f} s/it "
              f"(bf16 {bf16['seconds_per_iteration']:.2f}), authors "
              f"{theirs['seconds_per_iteration']:.2f} s/it", flush=True)
    # the paper presets of the follow-ups, for "how long would the paper preset take here"
    report["paper_preset_seconds_per_iteration"] = {}
    for method, ipc, iterations in (("dsa", 1, 4), ("dm", 10, 6)):
        run = cli_dc(ipc, iterations, args.threads, args.work, method)
        report["paper_preset_seconds_per_iteration"][f"{method} ipc {ipc}"] = {
            "seconds_per_iteration": run["seconds_per_iteration"],
            "command": run["command"],
            "paper_iterations": make_config(method, "paper", ipc).iterations}
        print(f"{method} ipc {ipc} paper preset: {run['seconds_per_iteration']:.2f} s/it",
              flush=True)
    set_path = Path(report["dc"][str(max(ipcs))]["cli"]["set"])
    ours = cli_evaluate(set_path, args.threads, args.work)
    theirs = in_process(f"authors-evaluate:{set_path}", args)
    flops = flops_per_pass(len(SyntheticSet.load(set_path).labels), ds) * ours["passes"]
    report["evaluate"] = {
        "set": str(set_path), "cli": ours, "authors": theirs,
        "speedup": theirs["train_s"] / ours["train_s"],
        "gflops_per_s": {"cli": flops / ours["train_s"] / 1e9,
                         "authors": flops / theirs["train_s"] / 1e9}}
    print(f"evaluate: cli {ours['train_s']:.1f} s, authors {theirs['train_s']:.1f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
