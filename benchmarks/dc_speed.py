"""Seconds per DC outer step: the dcbench engine vs a plain per-class reference loop.

The reference is written the way the paper's pseudo-code reads: for every class, a forward and
backward pass on 256 real images, then one on the class's synthetic images with
``create_graph=True``; sum the distances; one SGD step on the images; then the network trains
``inner_loop`` epochs on the synthetic set through a DataLoader. Both use the same ConvNet
class, the same weights and the same real batches, so their matching losses must agree.

An *outer step* is one matching step plus the inner training that follows it; one paper
iteration at ipc 10 is 10 outer steps (9 followed by inner training). The JSON also gives the
FLOP rate of each (counted with ``torch.utils.flop_counter.FlopCounterMode``) beside the
machine's measured GEMM rate and its nominal fp32 peak.

    python benchmarks/dc_speed.py --out benchmarks/results/dc_speed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from dcbench.condense.base import CondenseRequest, make_config
from dcbench.condense.dc import GradientMatcher
from dcbench.data import load_dataset
from dcbench.results.manifest import environment_info
from dcbench.seeding import generator


def reference_distance(gw_syn, gw_real):
    """The paper's layer-wise distance, written plainly per tensor."""
    dis = torch.tensor(0.0)
    for gs, gr in zip(gw_syn, gw_real, strict=True):
        if gs.dim() == 1:
            continue
        gs2, gr2 = gs.reshape(gs.shape[0], -1), gr.reshape(gr.shape[0], -1)
        cos = torch.sum(gr2 * gs2, dim=-1) / (
            torch.norm(gr2, dim=-1) * torch.norm(gs2, dim=-1) + 1e-6
        )
        dis = dis + torch.sum(1 - cos)
    return dis


class ReferenceLoop:
    """A per-class DC outer step as in the paper's Algorithm 1, sharing the engine's state."""

    def __init__(self, matcher: GradientMatcher) -> None:
        self.m = matcher
        self.net = copy.deepcopy(matcher.net)  # same weights, its own eager module
        self.images = matcher.images.detach().clone().requires_grad_(True)
        self.opt = torch.optim.SGD([self.images], lr=0.1, momentum=0.5)

    def matching_loss(self, g: torch.Generator) -> torch.Tensor:
        params = list(self.net.parameters())
        loss = torch.tensor(0.0)
        ipc = self.m.ipc
        for i, c in enumerate(self.m.classes):
            x_real = self.m._sample_real(c, self.m.config.batch_real, g)
            y_real = torch.full((len(x_real),), c, dtype=torch.long)
            gw_real = torch.autograd.grad(F.cross_entropy(self.net(x_real), y_real), params)
            gw_real = [t.detach().clone() for t in gw_real]
            x_syn = self.images[i * ipc:(i + 1) * ipc]
            y_syn = torch.full((ipc,), c, dtype=torch.long)
            gw_syn = torch.autograd.grad(
                F.cross_entropy(self.net(x_syn), y_syn), params, create_graph=True
            )
            loss = loss + reference_distance(gw_syn, gw_real)
        return loss

    def outer_step(self, g: torch.Generator, inner: int) -> float:
        loss = self.matching_loss(g)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        data = TensorDataset(self.images.detach().clone(), self.m.labels.clone())
        loader = DataLoader(data, batch_size=256, shuffle=True)
        net_opt = torch.optim.SGD(self.net.parameters(), lr=0.01)
        for _ in range(inner):
            for x, y in loader:
                out = F.cross_entropy(self.net(x), y)
                net_opt.zero_grad()
                out.backward()
                net_opt.step()
        return float(loss)


def engine_outer_step(m: GradientMatcher, g: torch.Generator, inner: int) -> float:
    loss = m.matching_loss(g)
    m.opt.zero_grad(set_to_none=True)
    loss.backward()
    m.opt.step()
    m.train_network(inner, g)
    return float(loss)


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def gemm_rate(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(timed(lambda: a @ b, repeats)[1])
    return 2 * n**3 / best


def nominal_peak() -> dict:
    """Cores × clock × fp32 FLOP per cycle (2 FMA units × 8 lanes × 2 with AVX2/AVX-512
    double-pumped: 32); a ceiling, not a target."""
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    except OSError:
        pass
    cores = torch.get_num_threads()
    return {"cores": cores, "mhz": mhz,
            "fp32_flops_per_cycle": 32,
            "peak_flops": cores * mhz * 1e6 * 32 if mhz else None}


def bench_ipc(ds, ipc: int, steps: int, compile_engine: bool) -> dict:
    paper = make_config("dc", "paper", ipc)
    outer, inner = paper.outer_loop, paper.inner_loop
    cfg = make_config("dc", "paper", ipc, {"init": "real", "compile": compile_engine})
    req = CondenseRequest(ds, ipc=ipc, seed=0, progress=False)
    matcher = GradientMatcher(req, cfg)
    ref = ReferenceLoop(matcher)

    # 1. Same inputs, same loss: the eager engine (no compile) vs the reference.
    eager = GradientMatcher(req, make_config("dc", "paper", ipc, {"init": "real"}))
    eager.net.load_state_dict(ref.net.state_dict())
    loss_ref = float(ref.matching_loss(generator(5, ipc)))
    loss_eager = float(eager.matching_loss(generator(5, ipc)))
    loss_engine = float(matcher.matching_loss(generator(5, ipc)))  # compiled if asked

    # 2. Warm-up (compilation happens here) then timing.
    inner_steps = inner if outer > 1 else 0
    t0 = time.perf_counter()
    engine_outer_step(matcher, generator(6), inner_steps)
    warmup = time.perf_counter() - t0
    ref.outer_step(generator(6), inner_steps)
    t_engine, all_engine = timed(
        lambda: engine_outer_step(matcher, generator(7), inner_steps), steps
    )
    t_ref, all_ref = timed(lambda: ref.outer_step(generator(7), inner_steps), steps)

    flops_engine = count_flops(lambda: engine_outer_step(eager, generator(8), inner_steps))
    flops_ref = count_flops(lambda: ref.outer_step(generator(8), inner_steps))
    return {
        "ipc": ipc, "outer_loop": outer, "inner_loop": inner,
        "outer_step_includes_inner_epochs": inner_steps,
        "loss_reference": loss_ref, "loss_engine_eager": loss_eager,
        "loss_engine": loss_engine,
        "loss_rel_diff_eager": abs(loss_eager - loss_ref) / abs(loss_ref),
        "loss_rel_diff_engine": abs(loss_engine - loss_ref) / abs(loss_ref),
        "losses_match": abs(loss_eager - loss_ref) / abs(loss_ref) < 1e-4,
        "engine_compiled": compile_engine, "engine_warmup_s": warmup,
        "seconds_per_outer_step": {"engine": t_engine, "reference": t_ref,
                                   "engine_all": all_engine, "reference_all": all_ref},
        "speedup": t_ref / t_engine,
        "seconds_per_iteration_estimate": {
            "engine": t_engine * outer, "reference": t_ref * outer},
        "hours_per_1000_iterations_estimate": {
            "engine": t_engine * outer * 1000 / 3600, "reference": t_ref * outer * 1000 / 3600},
        "flops_per_outer_step": {"engine": flops_engine, "reference": flops_ref},
        "gflops_per_s": {"engine": flops_engine / t_engine / 1e9,
                         "reference": flops_ref / t_ref / 1e9},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ipc", default="1,10", help="comma-separated ipc values")
    ap.add_argument("--steps", type=int, default=2, help="timed outer steps (best is kept)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-compile", action="store_true", help="time the eager engine")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/dc_speed.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    t0 = time.perf_counter()
    rows = [bench_ipc(ds, int(i), args.steps, not args.no_compile) for i in args.ipc.split(",")]
    gemm = gemm_rate()
    result = {
        "benchmark": "dc_speed", "dataset": args.dataset, "threads": args.threads,
        "target": "engine >= 2x faster than the reference at ipc 1 and ipc 10",
        "meets_target": all(r["speedup"] >= 2 for r in rows),
        "results": rows,
        "machine": {"gemm_gflops_per_s": gemm / 1e9, "nominal_peak": nominal_peak(),
                    "platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "load_average_at_end": os.getloadavg()},
        "environment": environment_info(),
        "wall_time_s": time.perf_counter() - t0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for r in rows:
        print(f"ipc {r['ipc']:>2}: engine {r['seconds_per_outer_step']['engine']:.2f} s, "
              f"reference {r['seconds_per_outer_step']['reference']:.2f} s per outer step, "
              f"speed-up {r['speedup']:.2f}x, loss match {r['losses_match']} "
              f"(rel. diff {r['loss_rel_diff_eager']:.1e}; "
              f"compiled {r['loss_rel_diff_engine']:.1e})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
