"""TFDS builder `video_folder`: a user's folder of videos + captions as clip records."""

from data_pipelines.video_folder.video_folder_dataset_builder import (  # noqa: F401
    Builder,
    VideoFolderConfig,
    build_video_folder,
)
