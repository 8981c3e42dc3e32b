"""Coreset selection rules on hand-made points, and the coreset condensers built on them."""

from __future__ import annotations

import pytest
import torch

from dcbench.condense import CondenseRequest, condense
from dcbench.condense.selection import (
    ForgettingTracker,
    coverage_radius,
    herding,
    kcenter,
    most_forgotten,
)

SMALL_NET = {"model": "convnet:width=8:depth=1", "epochs": 1}


def blob(n: int = 40, dim: int = 5, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen) * torch.linspace(0.5, 3.0, dim)


# -- herding ------------------------------------------------------------------------------------
def test_herding_first_pick_is_nearest_to_the_mean() -> None:
    pts = torch.tensor([[0.0, 0.0], [10.0, 0.0], [4.0, 1.0], [0.0, 10.0], [7.0, 7.0]])
    # mean (4.2, 3.6): nearest is (4, 1)
    assert herding(pts, 1) == [2]
    f = blob()
    first = herding(f, 1)[0]
    assert first == int((f - f.mean(0)).norm(dim=1).argmin())


def test_herding_matches_the_mean_greedily_without_duplicates() -> None:
    f = blob(30)
    picks = herding(f, 30)
    assert sorted(picks) == list(range(30))  # every point once: no duplicates
    mu = f.double().mean(0)
    # each step is the best available choice for the running mean
    for t in range(1, 6):
        chosen = picks[:t - 1]
        rest = [i for i in range(30) if i not in chosen]
        base = f.double()[chosen].sum(0)
        dists = {i: float(((base + f.double()[i]) / t - mu).norm()) for i in rest}
        assert picks[t - 1] == min(dists, key=dists.get)
    # the running mean of the first k picks approaches the mean far faster than random order
    err = float((f.double()[picks[:10]].mean(0) - mu).norm())
    rand = float((f.double()[:10].mean(0) - mu).norm())
    assert err < rand
    with pytest.raises(ValueError):
        herding(f, 31)


def test_herding_never_repeats_a_duplicated_point() -> None:
    # A point sitting exactly on the mean would be the best pick every time; it is taken once.
    pts = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [2.0, 0.0]])
    picks = herding(pts, 4)
    assert len(set(picks)) == 4


# -- k-center -----------------------------------------------------------------------------------
def test_kcenter_farthest_first_by_hand() -> None:
    pts = torch.tensor([[0.0], [1.0], [2.0], [10.0], [4.0]])
    # mean 3.4 -> nearest is 4.0 (index 4); farthest from it is 10 (3); then 0 (0); then
    # 2.0 (2 away from both 0 and 4), after which 1.0 is the worst-covered point, 1 away.
    picks = kcenter(pts, 4)
    assert picks == [4, 3, 0, 2]
    assert coverage_radius(pts, picks[:3]) == pytest.approx(2.0)
    assert coverage_radius(pts, picks) == pytest.approx(1.0)
    assert kcenter(pts, 2, first=0) == [0, 3]


def test_kcenter_radius_never_grows_with_k() -> None:
    f = blob(60, 4, seed=3)
    radii = [coverage_radius(f, kcenter(f, k)) for k in range(1, 61)]
    for smaller, larger in zip(radii, radii[1:], strict=False):
        assert larger <= smaller + 1e-12
    assert radii[0] > radii[9] > radii[29]  # and it does shrink
    assert radii[-1] == pytest.approx(0.0)  # every point picked covers everything
    assert len(set(kcenter(f, 60))) == 60


def test_kcenter_never_repeats_a_point_when_features_coincide() -> None:
    # Identical features (duplicate images, dead units) must not make k-center pick twice.
    pts = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    assert sorted(kcenter(pts, 4)) == [0, 1, 2, 3]
    assert len(set(kcenter(torch.zeros(5, 3), 5))) == 5


# -- forgetting ---------------------------------------------------------------------------------
def test_forgetting_tracker_counts_events_on_a_hand_made_sequence() -> None:
    tr = ForgettingTracker(4)
    # presentations of examples 0..3 (correct?), in three batches per "epoch"
    seq = {
        0: [True, False, True, False, False],  # learned, forgotten twice
        1: [False, True, True, True, True],  # learned once, never forgotten
        2: [False, False, False, False, False],  # never learned
        3: [True, False, False, True, False],  # forgotten at 2nd and 5th: 2 events
    }
    for step in range(5):
        # present in two batches in a shuffled order, as training does
        for batch in ([2, 0], [3, 1]):
            idx = torch.tensor(batch)
            tr.update(idx, torch.tensor([seq[i][step] for i in batch]))
    counts = tr.counts(epochs=5)
    assert counts.tolist() == [2, 0, 6, 2]  # never learned: epochs + 1
    assert tr.learned.tolist() == [True, True, False, True]


def test_never_learned_examples_rank_first_and_ties_are_random() -> None:
    tr = ForgettingTracker(6)
    for correct in ([1, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1], [0, 1, 0, 1, 0, 0]):
        tr.update(torch.arange(6), torch.tensor(correct, dtype=torch.bool))
    counts = tr.counts(epochs=4)
    assert counts.tolist() == [2, 1, 5, 0, 5, 2]
    g = torch.Generator().manual_seed(0)
    top2 = most_forgotten(counts, 2, g)
    assert sorted(top2) == [2, 4]  # the never-learned pair first
    top4 = most_forgotten(counts, 4, g)
    assert sorted(top4[:2]) == [2, 4] and sorted(top4[2:]) == [0, 5]
    # ties are broken at random (seeded): both orders of the tied pair occur
    orders = {tuple(most_forgotten(counts, 2, torch.Generator().manual_seed(s))) for s in range(20)}
    assert orders == {(2, 4), (4, 2)}


# -- the condensers -----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["random", "herding", "kcenter", "forgetting"])
def test_coreset_condensers_pick_exactly_ipc_distinct_real_images_per_class(
    method: str, tiny_dataset
) -> None:
    ds = tiny_dataset
    overrides = {} if method == "random" else SMALL_NET
    sset = condense(method, CondenseRequest(ds, ipc=4, seed=1, progress=False),
                    overrides=overrides)
    assert sset.images.shape == (12, ds.channels, *ds.image_size)
    assert sset.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    src = torch.tensor(sset.meta["source_indices"])
    assert len(set(src.tolist())) == 12  # no duplicates
    assert torch.equal(ds.y_train[src], sset.labels)  # each image is of its label's class
    assert torch.equal(ds.x_train[src], sset.images)  # the real images, unchanged
    assert sset.meta["method"] == method and sset.meta["ipc"] == 4


def test_herding_condenser_selects_by_the_features_of_the_reference_net(tiny_dataset) -> None:
    """The herding set is the herding rule applied per class to the trained net's features."""
    from dcbench.condense.config import make_config
    from dcbench.condense.coresets import _embed, _pool, _reference_net

    ds = tiny_dataset
    req = CondenseRequest(ds, ipc=3, seed=2, progress=False)
    sset = condense("herding", req, overrides=SMALL_NET)
    config = make_config("herding", "quick", 3, SMALL_NET)
    pool = _pool(req, config)
    net, all_idx, _ = _reference_net(req, config, pool)
    feats = _embed(net, ds.x_train[all_idx], req.device)
    offset, expected = 0, []
    for c in range(ds.num_classes):
        n = len(pool[c])
        expected += all_idx[offset:offset + n][herding(feats[offset:offset + n], 3)].tolist()
        offset += n
    assert sset.meta["source_indices"] == expected


def test_coreset_condensers_respect_a_class_subset_and_the_seed(tiny_dataset) -> None:
    ds = tiny_dataset
    a = condense("random", CondenseRequest(ds, ipc=2, seed=0, classes=[2, 0], progress=False))
    assert a.labels.tolist() == [2, 2, 0, 0]
    b = condense("random", CondenseRequest(ds, ipc=2, seed=0, classes=[2, 0], progress=False))
    c = condense("random", CondenseRequest(ds, ipc=2, seed=5, classes=[2, 0], progress=False))
    assert a.meta["source_indices"] == b.meta["source_indices"]
    assert a.meta["source_indices"] != c.meta["source_indices"]
