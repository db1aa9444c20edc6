"""A training-lab run keeps its weights at a few epochs, so one unit can be seen as the run learned it."""

from __future__ import annotations

import torch

from cvviz.training.config import TrainingConfig
from cvviz.training.data import Dataset, DatasetInfo, Split
from cvviz.training.loop import EPOCH_SNAPSHOTS, build_network, network_from_result, snapshot_epochs, train


def _tiny_digits() -> Dataset:
    generator = torch.Generator().manual_seed(0)

    def split(count: int) -> Split:
        return Split(torch.randn(count, 1, 32, 32, generator=generator), torch.arange(count) % 10)

    info = DatasetInfo("digits", "random digits", tuple("0123456789"), 32, 10, 10, "", "")
    return Dataset(info, split(32), split(10), split(10))


def test_snapshot_epochs_are_spread_over_the_run_and_end_at_its_last_epoch():
    assert snapshot_epochs(5) == frozenset(range(1, 6))
    for epochs in (13, 40, 500):
        kept = snapshot_epochs(epochs)
        assert len(kept) == EPOCH_SNAPSHOTS and max(kept) == epochs and min(kept) >= 1
        gaps = torch.diff(torch.tensor(sorted(kept)))
        assert int(gaps.max()) - int(gaps.min()) <= 1  # evenly spread, to within rounding


def test_a_run_keeps_its_initial_weights_and_spread_epochs_and_rebuilds_each():
    config = TrainingConfig(epochs=14, batch_size=16, train_images=32)
    result = train(config, dataset=_tiny_digits())
    assert result.snapshot_epochs == (0, *sorted(snapshot_epochs(14)))
    torch.manual_seed(config.seed)  # what the run did before building its network
    initial = build_network(config, 10).state_dict()
    first, last, final = (network_from_result(result, e) for e in (0, 14, None))
    assert all(torch.equal(initial[k], v) for k, v in first.state_dict().items())
    assert all(torch.equal(final.state_dict()[k], v) for k, v in last.state_dict().items())
    assert any(not torch.equal(initial[k], v) for k, v in final.state_dict().items())
    assert not first.training and not last.training
    try:
        network_from_result(result, 3)  # not one of the kept epochs (1, 2, 4, …)
    except ValueError as exc:
        assert "epoch 3" in str(exc)
    else:
        raise AssertionError("an epoch the run did not keep must be refused")
