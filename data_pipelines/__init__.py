"""Data pipelines: TFDS builders (physics_clips, video_folder) and the grain training pipeline.

Knows no model. Everything reads one record schema (`features.clip_features`).
"""

from data_pipelines.catalog import dataset_stats, find_dataset_dir, open_split  # noqa: F401
from data_pipelines.physics_clips import build_physics_clips  # noqa: F401
from data_pipelines.video_folder import build_video_folder  # noqa: F401
