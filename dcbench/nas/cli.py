"""``dcbench run nas``: rank a search space's candidates on cheap proxies against whole data."""

from __future__ import annotations

import click

from dcbench.cli_common import (
    data_options,
    parse_seeds,
    runtime_options,
    split_list,
    user_errors,
)


@click.command("nas", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--space", default="convnet-grid-small", show_default=True,
              help="Search space: convnet-grid (the paper's 720 ConvNets), convnet-grid-small "
                   "(15 ConvNets spanning every axis value, CPU-sized); custom grids via a task "
                   "file (tasks/nas-*.yaml).")
@click.option("--proxy", "proxies", default="condensed,random,herding,early-stopping",
              show_default=True,
              help="Comma-separated proxies: condensed, random, herding, kcenter, forgetting, "
                   "early-stopping. The ground truth 'whole' is always run.")
@click.option("--dataset", default="fashion-mnist", show_default=True,
              help="Dataset name (see `dcbench data list`), e.g. fashion-mnist, cifar10, toy.")
@click.option("--ipc", type=int, default=10, show_default=True,
              help="Images per class of the condensed and coreset proxies.")
@click.option("--condensed-set", type=click.Path(dir_okay=False), default=None,
              help="A saved synthetic set (set.pt) for the condensed proxy. Default: the "
                   "engine's set results/condense/<dataset>-dc-ipc<ipc>-<preset>-seed<seed>/"
                   "set.pt, condensed now if missing.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any setting of the run (the keys of a nas task file), e.g. "
                   "--set dc.iterations=50 for the on-the-fly condensation.")
@click.option("--condense-set", "condense_settings", multiple=True, metavar="KEY=VALUE",
              help="Deprecated: --set <method>.KEY=VALUE.")
@click.option("--epochs", type=int, default=None,
              help="Training epochs on each proxy set [preset: 100, the paper's].")
@click.option("--whole-epochs", type=int, default=None,
              help="Training epochs of the ground truth [quick: 8; paper: 100].")
@click.option("--whole-per-class", type=int, default=None,
              help="Ground-truth training images per class, 0 = all [quick: 500; paper: 0].")
@click.option("--test-per-class", type=int, default=None,
              help="Test images per class every candidate is scored on, 0 = the whole test "
                   "split [quick: 200; paper: 0].")
@click.option("--top-k", type=int, default=10, show_default=True,
              help="k of the top-k metrics (the k best candidates by ground truth; the paper: "
                   "10). Must not exceed the space's size.")
@click.option("--seeds", default="0", show_default=True,
              help="Comma-separated training seeds; accuracies are averaged over them.")
@click.option("--proxy-seed", type=int, default=0, show_default=True,
              help="Seed of the condensed/coreset sets and the early-stopping subset.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="local: this machine (sequential, or a process pool with --workers); "
                   "ray: a Ray cluster (--address) or a local Ray instance.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Parallel workers (processes or Ray tasks).")
@click.option("--address", default=None,
              help="Ray cluster address (e.g. ray://head:10001 or auto); implies --executor ray.")
@click.option("--preset", type=click.Choice(["quick", "paper"]), default="quick",
              show_default=True,
              help="quick: a CPU-sized ground truth (stated in the results); paper: the "
                   "paper's settings.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default results/nas/<timestamp>-<dataset>-<space>).")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Cache of finished units (default results/nas/cache); shared across runs.")
@data_options
@runtime_options
@user_errors
def command(space, proxies, dataset, ipc, condensed_set, assignments, condense_settings, epochs,
            whole_epochs, whole_per_class, test_per_class, top_k, seeds, proxy_seed, executor,
            workers, address, preset, out, cache, data_root, download, device, threads, quiet):
    """Rank a search space on proxy sets against whole-data training.

    Every candidate is trained on each proxy (and on the ground truth, 'whole') with the core
    evaluation protocol and tested on the real test split. Finished units are cached, so a
    re-run resumes and the ground truth is reused. --threads is per worker (default: the
    cores divided by --workers). Writes results/nas/<run>/ (candidates.csv, ranking.md/json,
    scatter.png, config.json, manifest.json).

    \b
      dcbench run nas --space convnet-grid-small --workers 2 --threads 1
      dcbench run nas --space convnet-grid --proxy condensed,random,herding,early-stopping
      dcbench run nas --space convnet-grid --executor ray --address ray://head:10001
    """
    from dcbench import config as cfg
    from dcbench.condense import CONDENSERS
    from dcbench.nas.config import NASConfig
    from dcbench.nas.experiment import run_nas
    from dcbench.report.render import fmt_num as _f

    if address and executor == "local":
        executor = "ray"
    legacy = cfg.parse_assignments(condense_settings)
    if legacy:
        click.echo("deprecated: --condense-set KEY=VALUE; write --set dc.KEY=VALUE (the old "
                   "option goes in the next release)", err=True)
    overrides = cfg.apply_set(cfg.parse_assignments(assignments), cfg.field_names(NASConfig),
                              CONDENSERS.names())
    settings = {
        "space": space, "proxies": split_list(proxies), "dataset": dataset, "ipc": ipc,
        "condensed_set": condensed_set,
        "epochs": epochs, "whole_epochs": whole_epochs, "whole_per_class": whole_per_class,
        "test_per_class": test_per_class, "top_k": top_k, "seeds": parse_seeds(seeds),
        "proxy_seed": proxy_seed, "executor": executor, "workers": workers, "threads": threads,
        "address": address, "preset": preset, "out": out, "cache": cache, "device": device,
        "data_root": data_root, "download": download, "quiet": quiet,
    }
    if not settings["proxies"]:
        raise click.BadParameter("no proxy given", param_hint="--proxy")
    settings = {k: v for k, v in settings.items() if v is not None}
    method = str(overrides.get("condense_method", "dc")).lower()
    config = cfg.load(NASConfig, cfg.merge(
        settings, {"method_settings": {method: legacy}} if legacy else {}, overrides))
    result = run_nas(config)
    k = result.ranking["k"]
    click.echo(f"{'proxy':16s} {'rho top-' + str(k):>11s} {'rho all':>8s} {'P@' + str(k):>6s} "
               f"{'selected acc':>12s} {'regret':>7s} {'search s':>9s} {'speed-up':>8s}")
    for name, p in result.ranking["proxies"].items():
        click.echo(f"{name:16s} {_f(p['spearman_top_k']):>11s} {_f(p['spearman_all']):>8s} "
                   f"{_f(p['precision_at_k']):>6s} {_f(p['selected_accuracy']):>12s} "
                   f"{_f(p['regret']):>7s} {_f(p['search_s'], 1):>9s} "
                   f"{_f(p['speedup_vs_whole'], 1):>7s}x")
    click.echo(f"units: {result.jobs_run} run, {result.jobs_cached} from the cache")
    click.echo(f"results: {result.run_dir}")
