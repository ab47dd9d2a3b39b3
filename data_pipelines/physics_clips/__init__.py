"""TFDS builder `physics_clips`: simulated clips with success and failure outcomes."""

from data_pipelines.physics_clips.physics_clips_dataset_builder import (  # noqa: F401
    Builder,
    PhysicsClipsConfig,
    build_physics_clips,
    example_seed,
)
