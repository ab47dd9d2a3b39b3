"""`physics_clips`: clips simulated by the physics world, as a TFDS dataset (array_record).

Splits: train / validation / test hold clips with in-range scene parameters (80/10/10 of
`num_clips`, each at least 1); test_ood holds out-of-range parameters (10% more, at least 1),
for judging whether the model learnt physics or memorised the training range.

Every clip's seed is a pure function of (config seed, split, index), and families go
round-robin, so the same config gives the same records byte for byte, whatever the order
in which TFDS writes them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from data_pipelines import catalog
from data_pipelines.features import clip_features, clip_to_example
from worldsim.console import progress
from worldsim.physics.types import RenderConfig

# Fixed codes (not hash()) so seeds never depend on the Python process.
SPLIT_CODES = {"train": 0, "validation": 1, "test": 2, "test_ood": 3}
_DEFAULT_RENDER = RenderConfig()
_NAMED_RENDER_FIELDS = ("width", "height", "fps", "seconds", "sample_rate")


def make_clip(family: str, seed: int, out_of_range: bool, config: RenderConfig):
    """The simulator's clip factory, imported late (a seam tests can replace)."""
    from worldsim.physics.clip import make_clip as simulate_clip

    return simulate_clip(family, seed, out_of_range=out_of_range, config=config)


def all_families() -> tuple[str, ...]:
    from worldsim.physics.families import FAMILIES

    return tuple(FAMILIES)


@dataclasses.dataclass(eq=False)
class PhysicsClipsConfig(tfds.core.BuilderConfig):
    """What to simulate; the name encodes every field that changes the bytes."""

    num_clips: int = 100
    seed: int = 0
    families: tuple[str, ...] | None = None  # None: all of worldsim.physics.families.FAMILIES
    width: int = _DEFAULT_RENDER.width
    height: int = _DEFAULT_RENDER.height
    fps: int = _DEFAULT_RENDER.fps
    seconds: float = _DEFAULT_RENDER.seconds
    sample_rate: int = _DEFAULT_RENDER.sample_rate
    # Any other RenderConfig field (view_width_m, ambient_noise, ...) that is not its default.
    render_extras: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        num_clips: int,
        seed: int,
        families: Sequence[str] | None = None,
        render: RenderConfig = _DEFAULT_RENDER,
    ) -> PhysicsClipsConfig:
        """A config named after its parameters, e.g. `n200_seed0_64x64_16fps_2s_16000hz`.

        Rarely changed knobs (other RenderConfig fields, a family subset) add a short hash.
        """
        if num_clips < 1:
            raise ValueError(f"num_clips must be >= 1, got {num_clips}")
        fams = tuple(families) if families else None
        named = {k: getattr(render, k) for k in _NAMED_RENDER_FIELDS}
        extras = {
            f.name: getattr(render, f.name)
            for f in dataclasses.fields(RenderConfig)
            if f.name not in named and getattr(render, f.name) != getattr(_DEFAULT_RENDER, f.name)
        }
        name = (
            f"n{num_clips}_seed{seed}_{render.width}x{render.height}_{render.fps}fps_"
            f"{render.seconds:g}s_{render.sample_rate}hz".replace(".", "p")
        )
        hashed = dict(extras, families=fams) if fams not in (None, all_families()) else extras
        if hashed:
            name += "_" + hashlib.sha1(repr(sorted(hashed.items())).encode()).hexdigest()[:8]
        return cls(
            name=name, num_clips=num_clips, seed=seed, families=fams, render_extras=extras, **named
        )

    def render_config(self) -> RenderConfig:
        named = {k: getattr(self, k) for k in _NAMED_RENDER_FIELDS}
        return RenderConfig(**named, **self.render_extras)

    def family_names(self) -> tuple[str, ...]:
        return self.families or all_families()

    def split_sizes(self) -> dict[str, int]:
        """train/validation/test = 80/10/10 of num_clips (each >= 1); test_ood = 10% more."""
        tenth = max(1, round(0.1 * self.num_clips))
        return {
            "train": max(1, self.num_clips - 2 * tenth),
            "validation": tenth,
            "test": tenth,
            "test_ood": tenth,
        }


def example_seed(config_seed: int, split: str, index: int) -> int:
    """A 63-bit clip seed from (config seed, split, index): independent streams per clip."""
    words = np.random.SeedSequence([config_seed, SPLIT_CODES[split], index]).generate_state(2)
    return (int(words[0]) & 0x7FFFFFFF) << 32 | int(words[1])


def plan(config: PhysicsClipsConfig) -> Iterator[tuple[str, int, str, int, bool]]:
    """(split, index, family, seed, out_of_range) for every clip, in a fixed order.

    Families go round-robin over a running count across splits, so even a 1-clip split
    does not always get the first family.
    """
    families = config.family_names()
    running = 0
    for split, count in config.split_sizes().items():
        for index in range(count):
            family = families[running % len(families)]
            yield split, index, family, example_seed(config.seed, split, index), split == "test_ood"
            running += 1


class Builder(tfds.core.GeneratorBasedBuilder):
    """Simulated physics clips with failure states (DESIGN.md, "Clip record")."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [PhysicsClipsConfig(name="default")]
    DEFAULT_BUILDER_CONFIG_NAME = "default"
    # TFDS 4.9.10 finds this file through `importlib_resources` (a backport that is not
    # installed); naming it directly skips that lookup (see catalog.py, "TFDS pitfalls").
    code_path = epath.Path(__file__)

    # TFDS prints a download-size banner before a build ("Downloading and preparing dataset
    # Unknown size ...") and a "downloaded and prepared" line after it, to stdout; nothing
    # is downloaded here and our own lines say where the data went.
    def _log_download_bytes(self) -> None:
        pass

    def _log_download_done(self) -> None:
        pass

    def _info(self) -> tfds.core.DatasetInfo:
        cfg: PhysicsClipsConfig = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=clip_features(cfg.height, cfg.width),
            metadata=tfds.core.MetadataDict(
                num_clips=cfg.num_clips,
                seed=cfg.seed,
                families=list(cfg.family_names()),
                render=dataclasses.asdict(cfg.render_config()),
            ),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict:
        del dl_manager  # nothing to download: everything is simulated
        cfg: PhysicsClipsConfig = self.builder_config
        jobs: dict[str, list] = {split: [] for split in cfg.split_sizes()}
        for job in plan(cfg):
            jobs[job[0]].append(job)
        return {split: self._generate_examples(split_jobs) for split, split_jobs in jobs.items()}

    def _generate_examples(self, jobs: list) -> Iterator[tuple[str, dict]]:
        cfg: PhysicsClipsConfig = self.builder_config
        render = cfg.render_config()
        shape = (render.num_frames, render.height, render.width, 3)
        desc = f"physics_clips {jobs[0][0] if jobs else ''}"
        for split, index, family, seed, ood in progress(jobs, desc=desc, unit="clips"):
            clip = make_clip(family, seed, out_of_range=ood, config=render)
            if clip.video.shape != shape:
                raise ValueError(
                    f"make_clip({family!r}) gave video {clip.video.shape}, want {shape}"
                )
            clip_id = f"{split}/{index:06d}"
            yield clip_id, clip_to_example(clip, clip_id)


def build_physics_clips(
    out_dir: str | os.PathLike,
    *,
    num_clips: int,
    seed: int = 0,
    families: Sequence[str] | None = None,
    config: RenderConfig = _DEFAULT_RENDER,
) -> Path:
    """Simulate and write the dataset under `out_dir`; returns the built dataset directory.

    A finished build with the same parameters is reused, not rebuilt.
    """
    builder_config = PhysicsClipsConfig.create(
        num_clips=num_clips, seed=seed, families=families, render=config
    )
    unknown = set(builder_config.family_names()) - set(all_families())
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {all_families()}")
    with catalog.quiet_tfds():  # also while constructing: TFDS warns about custom configs
        builder = Builder(config=builder_config, data_dir=os.fspath(out_dir))
        return catalog.prepare(builder)
