"""Media I/O: mp4 + audio read/write (imageio-ffmpeg) and audio features."""

from worldsim.media.contact_sheet import make_contact_sheet  # noqa: F401, E402
from worldsim.media.onsets import detect_onsets, match_onsets  # noqa: F401, E402
from worldsim.media.video_io import (  # noqa: F401
    MediaError,
    probe,
    read_audio,
    read_video,
    write_mp4,
    write_png,
)
