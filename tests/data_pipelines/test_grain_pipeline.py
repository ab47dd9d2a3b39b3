"""grain pipeline: mixture share, disjoint host shards, exact resume, batch shapes, flips."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipelines import build_physics_clips, catalog
from data_pipelines.grain_pipeline import host_indices, make_train_iterator
from tests.data_pipelines.conftest import TINY

B = 8


@pytest.fixture(scope="module")
def data(tmp_path_factory, synthetic_physics):
    return build_physics_clips(tmp_path_factory.mktemp("d"), num_clips=40, seed=0, config=TINY)


def _take(it, n: int) -> list[dict]:
    return [next(it) for _ in range(n)]


def test_batch_shapes_and_dtypes(data):
    batch = next(make_train_iterator(data, "train", batch_size=B, seed=0))
    t, s = TINY.num_frames, TINY.num_samples
    assert batch["video"].shape == (B, t, TINY.height, TINY.width, 3)
    assert batch["video"].dtype == np.uint8
    assert batch["audio"].shape == (B, s) and batch["audio"].dtype == np.float32
    assert batch["is_failure"].dtype == bool and batch["caption"].shape == (B,)
    assert set(batch) == {"clip_id", "video", "audio", "caption", "family", "is_failure", "flipped"}


@pytest.mark.parametrize("weights", [(0.7, 0.3), (0.5, 0.5), (1.0, 0.0)])
def test_failure_share_follows_weights(data, weights):
    mask = catalog.failure_mask(data, "train")
    assert 0 < mask.sum() < len(mask)  # both pools exist; their natural share is irrelevant
    it = make_train_iterator(
        data, "train", batch_size=B, success_weight=weights[0], failure_weight=weights[1], seed=1
    )
    share = np.concatenate([b["is_failure"] for b in _take(it, 125)]).mean()  # 1000 examples
    assert share == pytest.approx(weights[1] / sum(weights), abs=0.03)


def test_empty_pool_with_weight_is_a_clear_error(data, monkeypatch):
    monkeypatch.setattr(catalog, "failure_mask", lambda d, s: np.zeros(32, bool))
    with pytest.raises(ValueError, match="no failure clips"):
        make_train_iterator(data, "train", batch_size=B, failure_weight=0.3)
    make_train_iterator(data, "train", batch_size=B, failure_weight=0.0)  # weight 0: fine


def test_host_shards_are_disjoint_and_cover_the_split(data):
    ids = catalog.read_index(data)["splits"]["train"]["clip_id"]
    assert sorted(np.concatenate([host_indices(len(ids), i, 3) for i in range(3)])) == list(
        range(len(ids))
    )
    seen = []
    for host in range(3):
        it = make_train_iterator(
            data, "train", batch_size=B, seed=5, shard_index=host, shard_count=3, augment=False
        )
        seen.append({c.decode() for b in _take(it, 20) for c in b["clip_id"]})
        assert seen[-1] == {ids[i] for i in host_indices(len(ids), host, 3)}
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_state_restore_replays_the_same_batches(data):
    it = make_train_iterator(data, "train", batch_size=B, seed=2)
    _take(it, 3)
    state = it.get_state()
    expected = _take(it, 3)
    resumed = make_train_iterator(data, "train", batch_size=B, seed=2)
    resumed.set_state(state)
    for a, b in zip(expected, _take(resumed, 3), strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_grain_checkpoint_handler_round_trip(data, tmp_path):
    import grain
    import orbax.checkpoint as ocp

    it = make_train_iterator(data, "train", batch_size=B, seed=3)
    _take(it, 2)
    with ocp.CheckpointManager(tmp_path / "ckpt") as mngr:
        mngr.save(2, args=ocp.args.Composite(loader=grain.checkpoint.CheckpointSave(it)))
        mngr.wait_until_finished()
        expected = next(it)
        resumed = make_train_iterator(data, "train", batch_size=B, seed=3)
        mngr.restore(2, args=ocp.args.Composite(loader=grain.checkpoint.CheckpointRestore(resumed)))
    np.testing.assert_array_equal(next(resumed)["video"], expected["video"])


def test_augment_only_mirrors_and_keeps_captions_true(data):
    kw = dict(batch_size=B, seed=4, failure_weight=0.0)
    plain = _take(make_train_iterator(data, "train", augment=False, **kw), 4)
    aug = _take(make_train_iterator(data, "train", augment=True, **kw), 4)
    flips = 0
    for p, a in zip(plain, aug, strict=True):
        np.testing.assert_array_equal(p["clip_id"], a["clip_id"])
        assert not p["flipped"].any()
        for i in range(B):
            if np.array_equal(a["video"][i], p["video"][i]):
                assert a["caption"][i] == p["caption"][i] and not a["flipped"][i]
            else:
                assert a["flipped"][i]  # (clip id, flipped) names the pixels: the cache key
                np.testing.assert_array_equal(a["video"][i], p["video"][i][:, :, ::-1])
                assert a["caption"][i] == p["caption"][i].replace(b"left", b"right")
                flips += 1
    assert 0 < flips < 4 * B
